// The supervisor's dashboard: live tables, alerts and two Chart.js charts.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const data = HallLive.data("dashboard-data");
  const text = data.text;
  const hourLabels = Array.from({ length: 24 }, (_, hour) => `${String(hour).padStart(2, "0")}h`);

  const cell = (text, className) => {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "—" : text;
    if (className) td.className = className;
    return td;
  };
  // A new ticket's estimate: its range ("15 ph – 25 ph") when the hub gives one.
  const wait = (service) => {
    if (service.eta_minutes === 0) return text.now;
    if (service.eta_high_minutes) return `${minutes(service.eta_low_minutes)} – ${minutes(service.eta_high_minutes)}`;
    return minutes(service.eta_minutes);
  };
  // Minutes (floats) as people read them: "4 ph 30 s", "45 s", "1 giờ 5 ph".
  const minutes = (value) => {
    if (value === null || value === undefined) return "—";
    const total = Math.round(value * 60);
    const hours = Math.floor(total / 3600), mins = Math.floor((total % 3600) / 60), secs = total % 60;
    if (hours) return HallLive.fill(mins ? text.duration.hours_minutes : text.duration.hours, { hours, minutes: mins });
    if (mins) return HallLive.fill(secs ? text.duration.minutes_seconds : text.duration.minutes, { minutes: mins, seconds: secs });
    return HallLive.fill(text.duration.seconds, { seconds: secs });
  };
  // "75 % hài lòng, 4 lượt": the share of ratings 4 (very satisfied) and 3 (satisfied).
  const satisfied = (satisfaction) => {
    const scores = satisfaction.by_score || {};
    const percent = Math.round((100 * ((scores["4"] || 0) + (scores["3"] || 0))) / satisfaction.count);
    return HallLive.fill(text.satisfaction, { percent, count: satisfaction.count });
  };

  const hoursChart = new Chart($("hours-chart"), {
    type: "bar",
    data: { labels: hourLabels, datasets: [
      { label: text.chart.issued, data: [], backgroundColor: "#0b5cad" },
      { label: text.chart.served, data: [], backgroundColor: "#1b7f3b" },
    ] },
    options: { animation: false, responsive: true, aspectRatio: 2.6, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  const waitChart = new Chart($("wait-chart"), {
    type: "bar",
    data: { labels: [], datasets: [{ label: text.chart.tickets, data: [], backgroundColor: "#f2b705" }] },
    options: { animation: false, responsive: true, aspectRatio: 2.6, plugins: { legend: { display: false } },
               scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });

  // Vietnamese first, English after it, smaller.
  const twoLanguages = (element, vietnamese, english) => {
    element.textContent = vietnamese;
    if (english && english !== vietnamese) {
      const span = document.createElement("span");
      span.className = "en";
      span.textContent = ` · ${english}`;
      element.append(span);
    }
    return element;
  };
  const pairCell = ([vietnamese, english], className) => twoLanguages(cell("", className), vietnamese, english);
  // Seconds as people read them: "45 s", "3 ph", "2 giờ 5 ph".
  const seconds = (value) => minutes(value / 60);

  function screenRow(screen, received) {
    const words = text.screens;
    const row = document.createElement("tr");
    row.dataset.screen = screen.id;
    row.dataset.state = screen.state;
    row.className = `screen-${screen.state}`;
    const name = cell(screen.label, "screen-name");
    if (screen.name) {
      const id = document.createElement("small");
      id.className = "screen-id";
      id.textContent = screen.id;
      name.append(document.createElement("br"), id);
    }
    const seen = (base) => base + (Date.now() - received) / 1000;
    const connection = screen.connected ? pairCell(words.online, "screen-connection")
      : pairCell([`${words.lost[0]} — ${HallLive.fill(words.seen, { duration: seconds(seen(screen.last_seen_seconds)) })}`,
                  words.lost[1]], "screen-connection");
    const sound = screen.state === "silent" ? words.silent : (words.sound[screen.sound] || [screen.sound]);
    const last = screen.last_announcement;
    let announced;
    if (!last) {
      announced = pairCell(words.none, "last-announcement");
    } else {
      const what = last.number ? HallLive.fill(words.announcement, { number: last.number, counter: last.counter })
        : HallLive.fill(words.unknown_call, { call_id: last.call_id });
      const when = last.seconds_ago === null ? "" : `, ${HallLive.fill(words.ago, { duration: seconds(seen(last.seconds_ago)) })}`;
      announced = cell(what + when, "last-announcement");
    }
    row.append(name, pairCell(words.kind[screen.kind] || [screen.kind], "kind"), connection,
               pairCell(sound, "screen-sound"), announced);
    return row;
  }

  // "How long ago" keeps counting between snapshots.
  let shownScreens = [[], Date.now()];
  function renderScreens(screens, received) {
    shownScreens = [screens, received];
    $("screens").replaceChildren(...screens.map((screen) => screenRow(screen, received)));
    $("no-screens").hidden = screens.length > 0;
  }
  setInterval(() => renderScreens(...shownScreens), 5000);

  // When the figures last came: a lost connection says since when they stand still.
  let updatedAt = new Date();
  function showStale(status) {
    const notice = $("stale");
    if (status === "offline" && notice.hidden) {
      const time = updatedAt.toTimeString().slice(0, 5);
      twoLanguages(notice, HallLive.fill(text.stale[0], { time }), HallLive.fill(text.stale[1], { time }));
    }
    notice.hidden = status !== "offline";
  }

  function render(snapshot) {
    updatedAt = new Date();
    $("alerts").replaceChildren(...snapshot.alerts.map((alert) => {
      const item = twoLanguages(document.createElement("p"), alert.message, alert.message_en);
      item.className = `alert alert-${alert.kind}`;
      item.dataset.key = alert.key;
      return item;
    }));
    renderScreens(snapshot.screens || [], Date.now());
    const totals = snapshot.totals;
    const satisfaction = snapshot.satisfaction;
    const labels = text.totals;
    $("totals").replaceChildren(...[
      [labels.waiting, totals.waiting], [labels.issued, totals.issued], [labels.served, totals.served],
      [labels.no_show, totals.no_show], [labels.wait_mean, minutes(totals.wait_mean_minutes)],
      [labels.wait_p90, minutes(totals.wait_p90_minutes)],
      [labels.satisfaction, satisfaction.count ? satisfied(satisfaction) : text.no_ratings],
    ].map(([label, value]) => {
      const box = document.createElement("div");
      box.className = "total";
      box.innerHTML = "<span></span><strong></strong>";
      box.firstChild.textContent = label;
      box.lastChild.textContent = value;
      return box;
    }));
    $("services").replaceChildren(...snapshot.services.map((service) => {
      const row = document.createElement("tr");
      row.dataset.service = service.code;
      row.classList.toggle("over-target", service.over_target);
      row.append(cell(service.name), cell(service.waiting, "waiting"), cell(minutes(service.longest_wait_minutes)),
                 cell(wait(service)), cell(minutes(service.wait_mean_minutes)),
                 cell(minutes(service.wait_p90_minutes)), cell(service.served, "served"), cell(service.no_show));
      return row;
    }));
    $("counters").replaceChildren(...snapshot.counters.map((counter) => {
      const row = document.createElement("tr");
      row.dataset.counter = counter.number;
      const current = counter.current;
      row.classList.toggle("long-service", Boolean(current && current.long_service));
      row.append(cell(counter.name), cell(text.status[counter.status] || counter.status), cell(counter.staff),
                 cell(current ? current.number : "—", "current"), cell(current ? minutes(current.elapsed_minutes) : "—"),
                 cell(counter.served), cell(minutes(counter.service_mean_minutes)));
      return row;
    }));
    hoursChart.data.datasets[0].data = snapshot.hours.issued;
    hoursChart.data.datasets[1].data = snapshot.hours.served;
    hoursChart.update();
    waitChart.data.labels = snapshot.wait_distribution.labels;
    waitChart.data.datasets[0].data = snapshot.wait_distribution.counts;
    waitChart.update();
    document.body.dataset.seq = snapshot.seq;
  }

  render(data.snapshot);
  HallLive.connect({
    room: "dashboard",
    seq: data.snapshot.seq,
    badge: "connection",
    labels: text.connection,
    on: { dashboard: render },
    onStatus: showStale,
  });
})();
