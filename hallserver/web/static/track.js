// Follow one ticket live: position, estimate, "Sắp đến lượt", "Mời đến quầy số N", and what
// to do after a no-show. Names (service, priority) come in both languages in the page's data
// block; pushes carry codes, and the page shows the name in its own language.
(function () {
  "use strict";
  const data = HallLive.data("track-data");
  const text = data.text;
  const names = data.names || { services: {}, priorities: {} };
  const $ = (id) => document.getElementById(id);
  let ticket = data.ticket;
  let announcedCall = null;
  let lastCounter = ticket.counter || null;   // a no-show is asked back to the counter that called

  const fill = HallLive.fill;
  let plurals = null;
  try { plurals = new Intl.PluralRules(data.lang); } catch (ignored) { plurals = null; }

  /** "1 person ahead" / "3 people ahead": the page's plural forms {one, other} for ``count``. */
  function plural(forms, count) {
    const rule = plurals ? plurals.select(count) : (count === 1 ? "one" : "other");
    return fill(forms[rule] || forms.other, { count });
  }

  /** A service or priority name in the page's language (its code when unknown). */
  function named(table, code) {
    const entry = table && table[code];
    if (!entry) return code || "";
    return data.lang === "en" && entry.name_en ? entry.name_en : entry.name;
  }

  const known = (value) => value !== null && value !== undefined;

  /** The estimate as a range ("khoảng 15–25 phút"), or the time after the lunch break. */
  function waitText(current) {
    if (!known(current.eta_minutes)) return "—";
    if (current.eta_after_closure && current.eta_at) return fill(text.after_closure, { time: current.eta_at });
    if (current.eta_minutes < 1) return text.under_a_minute;
    if (known(current.eta_low_minutes) && current.eta_high_minutes) {
      return fill(text.range, { low: current.eta_low_minutes, high: current.eta_high_minutes });
    }
    return plural(text.minutes, current.eta_minutes);
  }

  /** "Sắp đến lượt": the hub says so by position or estimate (the hall's thresholds). */
  function nearTurn(current) {
    if (current.status !== "waiting") return false;
    if (known(current.near_turn)) return current.near_turn;
    return known(current.ahead) && current.ahead <= data.soon_ahead;
  }

  function render() {
    if (ticket.counter) lastCounter = ticket.counter;
    $("service").textContent = named(names.services, ticket.service);
    $("priority").hidden = !ticket.priority;
    if (ticket.priority) $("priority-name").textContent = named(names.priorities, ticket.priority);
    $("status").textContent = text.status[ticket.status] || ticket.status;
    const waiting = ticket.status === "waiting";
    $("ahead").textContent = !waiting || !known(ticket.ahead) ? "—"
      : ticket.ahead === 0 ? text.none_ahead : plural(text.ahead, ticket.ahead);
    $("eta").textContent = waiting ? waitText(ticket) : "—";
    const headline = $("headline");
    if ((ticket.status === "called" || ticket.status === "serving") && ticket.counter) {
      headline.textContent = fill(text.called, { counter: ticket.counter });
      headline.dataset.kind = "called";
    } else if (nearTurn(ticket)) {
      headline.textContent = text.soon;
      headline.dataset.kind = "soon";
    } else {
      headline.textContent = "";
      headline.dataset.kind = "";
    }
    const absent = ticket.status === "no_show";
    $("no-show").hidden = !absent;
    if (absent) {
      $("no-show-text").textContent = lastCounter ? fill(text.no_show, { counter: lastCounter }) : text.no_show_anywhere;
    }
    // only while waiting: once called, the page already rings and there is nothing to switch on
    $("notify").hidden = ticket.status !== "waiting" || !window.Notification || Notification.permission === "granted";
    $("cancel").hidden = !(ticket.status === "waiting" || ticket.status === "called");
    if ($("rating")) $("rating").hidden = ticket.status !== "done";
  }

  function alertCalled(counter) {
    rang = true;
    const message = fill(text.called, { counter });
    if (window.Notification && Notification.permission === "granted") {
      try { new Notification(text.notify_title, { body: `${ticket.number}: ${message}` }); } catch (ignored) { /* some phones only notify from a service worker */ }
    }
    if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
    const chime = new Audio(data.urls.chime);
    chime.play().catch(() => { /* the browser blocks sound until the page was touched */ });
  }

  // Notify once when the turn comes near (the page may be in a pocket); not for a page opened already near.
  let wasNear = nearTurn(ticket);
  function alertNear() {
    if (window.Notification && Notification.permission === "granted") {
      try { new Notification(text.notify_title, { body: `${ticket.number}: ${text.soon}` }); } catch (ignored) { /* see alertCalled */ }
    }
    if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
    new Audio(data.urls.chime).play().catch(() => {});
  }

  const atCounter = (current) => current.status === "called" || current.status === "serving";
  let rang = atCounter(ticket);   // this call has been rung (a page opened already called is being looked at)

  function accept(next) {
    if (!next || typeof next !== "object") return;
    const before = ticket;
    ticket = next;
    render();
    // called while the page was cut off (its `called` push lost): ring when it catches up
    if (atCounter(ticket) && !atCounter(before) && !rang && ticket.counter) alertCalled(ticket.counter);
    if (!atCounter(ticket)) rang = false;
    const near = nearTurn(ticket);
    if (near && !wasNear) alertNear();
    wasNear = near;
  }

  // -- fresh or not ------------------------------------------------------------------------
  // Offline (the network dropped, the phone slept, the hub restarts) the page says since when
  // its figures are not updated; it catches up as soon as the hub answers.
  let freshAt = Date.now();     // the figures are the hub's as of this moment
  let connection = "connecting";

  function clockTime(moment) {
    const options = { hour: "2-digit", minute: "2-digit" };
    if (document.body.dataset.timezone) options.timeZone = document.body.dataset.timezone;
    return new Date(moment).toLocaleTimeString(data.lang === "en" ? "en-GB" : "vi-VN", options);
  }

  function showFreshness() {
    const stale = connection === "offline" || connection === "refused";
    $("stale").hidden = !stale;
    $("stale").textContent = stale ? fill(text.stale, { time: clockTime(freshAt) }) : "";
  }

  function connectionChanged(status) {
    if (connection === "online" && status !== "online") freshAt = Date.now();   // true until now
    connection = status;
    showFreshness();
  }

  /** Ask the hub for the ticket now (the socket may still be reconnecting, or silently dead). */
  async function refresh() {
    try {
      const response = await fetch(data.urls.ticket, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!response.ok) return;
      accept((await response.json()).ticket);
      freshAt = Date.now();
      showFreshness();
    } catch (ignored) { /* offline: the note says so; the socket or the next try catches up */ }
  }

  // The estimate moves with time alone too: ask the hub again every minute while waiting.
  const REFRESH_MS = 60 * 1000;
  setInterval(() => { if (ticket.status === "waiting") refresh(); }, REFRESH_MS);
  // A phone waking up, or its network coming back: catch up at once, whatever the socket knows.
  window.addEventListener("online", refresh);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") refresh(); });

  $("notify").addEventListener("click", async () => {
    if (window.Notification) await Notification.requestPermission();
    render();
    new Audio(data.urls.chime).play().catch(() => {});
  });
  $("cancel").addEventListener("click", async () => {
    if (!window.confirm(text.confirm_cancel)) return;
    const response = await fetch(data.urls.cancel, { method: "POST" });
    const answer = await response.json();
    if (response.ok) accept(Object.assign({}, ticket, answer.ticket));
  });

  render();
  HallLive.connect({
    room: `ticket:${data.token}`,
    badge: "connection",
    labels: { connecting: text.connecting, online: text.online, offline: text.offline, refused: text.offline },
    onStatus: connectionChanged,
    on: {
      ticket: (payload) => accept(payload && payload.ticket),
      called: (payload) => {
        if (!payload || !payload.counter) return;
        if (payload.call_id === announcedCall) return;
        announcedCall = payload.call_id;
        ticket = Object.assign({}, ticket, { status: "called", counter: payload.counter.number });
        render();
        if (payload.recall || !rang) alertCalled(payload.counter.number);   // the ticket's own push may have rung it
      },
    },
  });
})();
