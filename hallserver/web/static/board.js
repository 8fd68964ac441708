// The browser hall screen: the same board and rules as the pygame client (display/model.py).
//
// - A `state` snapshot is the whole truth. Its recent calls are history, except calls made
//   while this screen was cut off: those at most `catchup_seconds` old (by the hub's clock)
//   are announced once each, oldest first; older ones are only shown.
// - A `called` push is shown at once (recent strip, counter row) and announced once, in
//   order; the big "now calling" panel takes it when its announcement starts (at once when
//   the screen is silent) and is highlighted for HIGHLIGHT_MS. Offline, nothing is highlighted.
// - A call undone at its counter (a snapshot without it) is dropped from the announcements still
//   to come and leaves the big panel, even while it is being said.
// - Sound is tried at load: a kiosk Chromium started with
//   --autoplay-policy=no-user-gesture-required plays without a touch; a browser that refuses
//   shows the "Bấm để bật âm thanh" gate. <body data-sound> is ok | blocked | off | failed.
// - The screen reports its health to the hub (`screen_status`) after joining, every
//   STATUS_EVERY_MS, and at once when its sound changes or an announcement finished.
//
// Query: ?name=… (the screen's name on the dashboard), ?sound=off, ?counters=1-5.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const data = HallLive.data("board-data");
  const text = data.text;
  const query = new URLSearchParams(window.location.search);
  const HIGHLIGHT_MS = 10000;
  const RECENT_SHOWN = 5;
  const STATUS_EVERY_MS = 15000;
  const RESUME_WAIT_MS = 400;   // a refused AudioContext.resume() never settles: wait this long
  const AFTER_CALL_MS = 600;    // silence between two announcements
  const TICKER_SPEED = 0.08;    // screen widths per second, as the pygame board
  const PAUSE = "pause", PAUSE_SECONDS = 0.5;
  const REMEMBERED_CALLS = 2000;   // as the pygame board
  const NEW_DAY_RETRY_MS = 60000;  // while the board's day is behind the hall's date, ask again this often
  const START_MARGIN_SECONDS = 0.02;   // a clip is scheduled this far ahead, so it starts whole   // the clip id between a call and its repetition
  let catchupSeconds = typeof data.catchup_seconds === "number" ? data.catchup_seconds : 20;
  // The TV's own clock may be wrong after a power cut (no RTC, no internet): follow the hub's.
  const clockOffset = typeof data.now === "number" ? data.now * 1000 - Date.now() : 0;
  const hubNow = () => Date.now() + clockOffset;
  const shownCounters = parseCounters(query.get("counters"));

  const board = { seq: -1, day: null, hall: {}, counters: new Map(), services: [], recent: [], call: null,
                  highlightUntil: 0 };
  const known = new Set();   // call ids shown or announced: each is announced at most once
  let live = null;
  let newDayAskedAt = null;
  let highlightTimer = null;

  // -- what the screen shows ----------------------------------------------------------

  /** "1-5", "1,3,7-9" → a Set of counter numbers; null (all counters) when absent or unreadable. */
  function parseCounters(spec) {
    if (!spec) return null;
    const numbers = new Set();
    for (const part of spec.split(",")) {
      const match = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
      if (!match) return null;
      const first = Number(match[1]);
      const last = match[2] ? Number(match[2]) : first;
      for (let number = first; number <= last && number - first < 1000; number += 1) numbers.add(number);
    }
    return numbers.size ? numbers : null;
  }

  const shows = (counter) => shownCounters === null || shownCounters.has(Number(counter));

  /** An element with Vietnamese text and, after it, English in a smaller span. */
  function twoLines(tag, className, pair, values) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    HallLive.label(element, [HallLive.fill(pair[0], values || {}), HallLive.fill(pair[1], values || {})]);
    return element;
  }

  /** "Quầy 12", as the voice says it: the words a citizen looks for, never cut. */
  function counterLabel(number) {
    return HallLive.fill(text.counter, { counter: number });
  }

  /** What the counter's own name says beyond "Quầy 12" ("Quầy 12 - Tiếp nhận hộ tịch" → "Tiếp nhận hộ tịch"), or "". */
  function counterDetail(number) {
    const counter = board.counters.get(Number(number));
    const name = counter && counter.name ? counter.name.trim() : "";
    const label = counterLabel(number);
    if (!name.startsWith(label)) return name;
    const rest = name.slice(label.length);
    const after = rest.replace(/^[\s\-–—:·,.]+/, "");
    return rest && after === rest ? name : after;   // the label and more letters: a name of its own
  }

  /** The smaller line under "Quầy 12": its own name, then the English. */
  function counterSubline(number) {
    const english = HallLive.fill(text.counter_en, { counter: number });
    const detail = counterDetail(number);
    return detail ? `${detail} · ${english}` : english;
  }

  function highlighted() {
    return Boolean(board.call) && document.body.dataset.connection === "online" && hubNow() < board.highlightUntil;
  }

  function renderCall() {
    const call = board.call;
    const fresh = highlighted();
    $("call").classList.toggle("fresh", fresh);
    $("call").classList.toggle("recall", Boolean(call && call.recall));
    HallLive.label($("call-label"), call && call.recall ? text.recall : text.calling);
    $("call-number").textContent = call ? call.number : "—";
    $("call").dataset.callId = call ? call.call_id : "";
    if (!call) {
      HallLive.label($("call-counter"), text.none);
      return;
    }
    const where = document.createElement("span");
    where.className = "en";
    where.textContent = counterSubline(call.counter);
    $("call-counter").replaceChildren(HallLive.fill(text.to_counter, { counter: call.counter }), where);
  }

  /** The last calls, newest first, one per ticket (a recall replaces its first call), without the big one. */
  function recentShown() {
    const seen = new Set(board.call ? [board.call.number] : []);
    return board.recent.filter((call) => !seen.has(call.number) && seen.add(call.number)).slice(0, RECENT_SHOWN);
  }

  function renderRecent() {
    const calls = recentShown();
    $("recent").replaceChildren(...calls.map((call) => {
      const item = document.createElement("li");
      item.dataset.callId = call.call_id;
      item.dataset.counter = call.counter;
      const number = document.createElement("span");
      number.className = "number";
      number.textContent = call.number;
      const where = document.createElement("span");
      where.className = "where";
      where.textContent = `→ ${counterLabel(call.counter)}`;
      item.append(number, where);
      if (call.recall) {
        const tag = document.createElement("span");
        tag.className = "recall-tag";
        tag.textContent = text.recall_tag;
        item.append(tag);
      }
      return item;
    }));
  }

  function renderCounters() {
    const counters = [...board.counters.values()].filter((counter) => shows(counter.number))
      .sort((a, b) => a.number - b.number);
    const hot = highlighted() ? Number(board.call.counter) : null;
    const portrait = window.innerHeight > window.innerWidth;
    const columns = counters.length > (portrait ? 8 : 6) ? 2 : 1;
    document.body.classList.toggle("many-counters", columns > 1);
    const body = $("counters");
    body.style.setProperty("--counter-columns", columns);
    body.style.setProperty("--counter-rows", Math.max(4, Math.ceil(counters.length / columns)));
    body.replaceChildren(...counters.map((counter) => {
      const row = document.createElement("tr");
      row.dataset.counter = counter.number;
      row.dataset.status = counter.status;
      row.classList.toggle("hot", counter.number === hot);
      const name = twoLines("td", "name", [counterLabel(counter.number), counterSubline(counter.number)]);
      const number = document.createElement("td");
      number.className = "number";
      if (counter.current) {
        number.textContent = counter.current.number;
        if (counter.status === "paused") number.append(twoLines("span", "paused-tag", text.paused));
      } else if (counter.status === "paused") {
        number.classList.add("paused");
        HallLive.label(number, text.paused);
      } else {
        number.textContent = "—";
        number.classList.add("idle");
      }
      row.append(name, number);
      return row;
    }));
  }

  /** The expected wait for a number taken now: a range when the hub gives one, else about N minutes. */
  function eta(service) {
    if (!service.waiting) return text.no_wait;
    if (service.eta_after_closure && service.eta_at) return HallLive.fill(text.eta_after_closure, { at: service.eta_at });
    const low = service.eta_low_minutes, high = service.eta_high_minutes;
    if (typeof low === "number" && typeof high === "number" && high > low) {
      return HallLive.fill(text.eta_range, { low, high });
    }
    if (typeof service.eta_minutes === "number" && service.eta_minutes > 0) {
      return HallLive.fill(text.eta, { minutes: service.eta_minutes });
    }
    return null;
  }

  function renderServices() {
    const served = shownCounters === null ? null
      : new Set([...board.counters.values()].filter((counter) => shows(counter.number)).flatMap((counter) => counter.services || []));
    const services = board.services.filter((service) => served === null || served.has(service.code));
    $("services").style.setProperty("--service-count", Math.max(1, services.length));
    $("services").replaceChildren(...services.map((service) => {
      const item = document.createElement("li");
      item.dataset.service = service.code;
      const names = document.createElement("div");
      names.className = "service-name";
      names.innerHTML = '<span class="vi"></span><span class="en"></span>';
      names.firstChild.textContent = service.name;
      names.lastChild.textContent = service.name_en && service.name_en !== service.name ? service.name_en : "";
      const count = document.createElement("div");
      count.className = "count";
      count.textContent = service.waiting;
      const unavailable = service.unavailable && text.unavailable[service.unavailable];
      const wait = unavailable || eta(service);
      const note = document.createElement("div");
      note.className = "eta";
      HallLive.label(note, wait);
      if (unavailable) note.classList.add("unavailable");
      item.append(names, count, note);
      return item;
    }));
  }

  function renderTicker() {
    const items = [];
    if (board.hall.hotline) items.push(text.hotline.map((line) => HallLive.fill(line, { hotline: board.hall.hotline })));
    for (const notice of board.hall.notices || []) {
      if (notice && typeof notice === "object") items.push([notice.text || "", notice.text_en || ""]);
      else if (notice) items.push([String(notice), ""]);
    }
    const line = items.map(([vi, en]) => (en ? `${vi} · ${en}` : vi)).join("     •     ");
    const ticker = $("ticker");
    if (ticker.dataset.line === line && ticker.dataset.width === String(window.innerWidth)) return;
    ticker.dataset.line = line;
    ticker.dataset.width = String(window.innerWidth);
    ticker.classList.remove("scrolling");
    ticker.replaceChildren(document.createTextNode(line));
    const box = $("ticker-box");
    if (line && ticker.scrollWidth > box.clientWidth * 0.95) {
      // two copies side by side slide left by one copy's width, so the loop has no seam
      const copy = document.createElement("span");
      copy.textContent = `${line}     •     `;
      ticker.replaceChildren(copy, copy.cloneNode(true));
      ticker.classList.add("scrolling");
      const seconds = copy.getBoundingClientRect().width / (TICKER_SPEED * box.clientWidth);
      ticker.style.setProperty("--ticker-seconds", `${seconds.toFixed(1)}s`);
    }
  }

  function render() {
    renderCall();
    renderRecent();
    renderCounters();
    renderServices();
    renderTicker();
  }

  // -- the clock, in the hall's time zone --------------------------------------------------

  function tick() {
    const zone = board.hall.timezone || document.body.dataset.timezone || undefined;
    let parts;
    try {
      parts = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hourCycle: "h23", weekday: "short", year: "numeric",
                                                 month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })
        .formatToParts(new Date(hubNow()));
    } catch (ignored) {   // an unknown zone name: the TV's own
      parts = new Intl.DateTimeFormat("en-GB", { hourCycle: "h23", weekday: "short", year: "numeric", month: "2-digit",
                                                 day: "2-digit", hour: "2-digit", minute: "2-digit" })
        .formatToParts(new Date(hubNow()));
    }
    const part = Object.fromEntries(parts.map((piece) => [piece.type, piece.value]));
    const weekday = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(part.weekday);
    $("clock").textContent = `${part.hour}:${part.minute}`;
    $("date").textContent = `${text.weekdays[weekday] || ""}, ${part.day}/${part.month}/${part.year}`;
    followTheDay(`${part.year}-${part.month}-${part.day}`);
  }

  /** Past the hall's midnight, join again for the new day's snapshot: yesterday's calls leave the
   *  board before today's numbers, which start again from the same block, are called (the hub
   *  pushes nothing at midnight when no ticket was left to expire). The hub's `day` decides. */
  function followTheDay(today) {
    if (!board.day || today <= board.day) {
      newDayAskedAt = null;
      return;
    }
    if (!live || live.status !== "online") return;
    if (newDayAskedAt === null || hubNow() - newDayAskedAt >= NEW_DAY_RETRY_MS) {
      newDayAskedAt = hubNow();
      live.rejoin();
    }
  }

  // -- the board's rules ---------------------------------------------------------------

  function fromPush(payload) {
    return {
      call_id: String(payload.call_id), number: payload.ticket.number, counter: payload.counter.number,
      recall: Boolean(payload.recall), clips: payload.clips || [], text: payload.text,
    };
  }

  /** Note a call as shown; a screen that runs for weeks keeps the last REMEMBERED_CALLS. */
  function remember(callId) {
    known.add(callId);
    if (known.size > REMEMBERED_CALLS) known.delete(known.values().next().value);
  }

  /** Show ``call`` in the big panel, highlighted (its announcement starts now). */
  function startCalling(call) {
    board.call = call;
    board.highlightUntil = hubNow() + HIGHLIGHT_MS;
    clearTimeout(highlightTimer);
    highlightTimer = setTimeout(render, HIGHLIGHT_MS + 50);
    render();
  }

  function applyState(state, initial) {
    const previous = board.seq;
    if (state.seq < previous) known.clear();   // a new hub database: its call ids start again
    const calls = (state.recent_calls || []).filter((call) => shows(call.counter));
    // calls this screen never had, made while it was cut off: the newest few are said late
    const missed = initial || state.seq < previous ? []
      : calls.filter((call) => !known.has(String(call.call_id)) && Number(call.call_id) > previous);
    (state.recent_calls || []).forEach((call) => remember(String(call.call_id)));
    board.seq = state.seq;
    board.day = state.day || null;
    board.hall = state.hall || {};
    if (typeof board.hall.catchup_seconds === "number") catchupSeconds = board.hall.catchup_seconds;   // as reconfigured
    board.counters = new Map(state.counters.map((counter) => [counter.number, counter]));
    board.services = state.services || [];
    board.recent = calls.map((call) => ({ ...call, call_id: String(call.call_id) }));
    // A call the snapshot no longer holds, though newer than its oldest, was undone: it is not said
    // later, nor left on the big panel (older ones only fell off the snapshot's last calls).
    const ids = (state.recent_calls || []).map((call) => Number(call.call_id));
    const oldest = ids.length ? Math.min(...ids) : -Infinity;
    const undone = (call) => !ids.includes(Number(call.call_id)) && Number(call.call_id) > oldest;
    sound.queue = sound.queue.filter((call) => !undone(call));
    if (!sound.playing || !board.call || undone(board.call)) {   // a reconfigured hall: the announcement stays big
      board.call = board.recent[0] || null;
      board.highlightUntil = 0;
    }
    $("hall-name").textContent = board.hall.name || "";
    if (board.hall.name_en) $("hall-name-en").textContent = board.hall.name_en;
    tick();
    render();
    missed.reverse()
      .filter((call) => typeof call.age_seconds === "number" && call.age_seconds <= catchupSeconds)
      .forEach((call) => announce({ ...call, call_id: String(call.call_id), clips: call.clips || [] }));
  }

  function applyCall(payload) {
    const call = fromPush(payload);
    if (payload.seq <= board.seq || known.has(call.call_id) || !shows(call.counter)) return;
    remember(call.call_id);
    board.seq = payload.seq;
    board.recent = [call, ...board.recent].slice(0, 20);
    const counter = board.counters.get(Number(call.counter));
    if (counter) counter.current = { number: call.number, service: payload.ticket.service };
    announce(call);
  }

  // -- sound ---------------------------------------------------------------------------

  const sound = {
    off: query.get("sound") === "off",
    context: null,
    manifest: null,
    problem: null,   // the pack or a clip could not be loaded or played
    buffers: new Map(),
    queue: [],
    playing: false,
    last: null,      // {call_id, played_at} of the last announcement played to the end
    reported: null,
  };

  function soundState() {
    if (sound.off) return "off";
    if (!sound.context) return sound.problem ? "failed" : null;   // null: still finding out
    if (sound.context.state !== "running") return "blocked";
    return sound.problem ? "failed" : "ok";
  }

  function soundChanged() {
    const state = soundState();
    if (state) document.body.dataset.sound = state;
    $("sound-gate").hidden = state !== "blocked";
    if (state && state !== sound.reported) report();
    if (state === "ok" || state === "failed") playNext();
  }

  function canSpeak() {
    return !sound.off && sound.context !== null && sound.context.state === "running";
  }

  async function loadManifest() {
    if (sound.manifest) return sound.manifest;
    try {
      const response = await fetch(data.urls.manifest);
      if (!response.ok) throw new Error(`manifest: HTTP ${response.status}`);
      sound.manifest = await response.json();
      if (!sound.manifest || !sound.manifest.clips) throw new Error("manifest without clips");
      return sound.manifest;
    } catch (error) {
      console.warn("voice pack unavailable", error);
      sound.manifest = null;
      sound.problem = "pack";
      soundChanged();
      return null;
    }
  }

  async function clip(id) {
    if (sound.buffers.has(id)) return sound.buffers.get(id);
    const entry = sound.manifest && sound.manifest.clips[id];
    if (!entry) throw new Error(`missing clip ${id}`);
    const loading = fetch(data.urls.clip.replace("FILE", entry.file))
      .then((response) => {
        if (!response.ok) throw new Error(`clip ${id}: HTTP ${response.status}`);
        return response.arrayBuffer();
      })
      .then((bytes) => sound.context.decodeAudioData(bytes));
    sound.buffers.set(id, loading);
    loading.catch(() => sound.buffers.delete(id));   // try again next time
    return loading;
  }

  /** Announce ``call`` (in turn), or, on a silent screen, just show it. */
  function announce(call) {
    if (!canSpeak() || !call.clips.length) {
      startCalling(call);
      return;
    }
    sound.queue.push(call);
    playNext();
  }

  async function playNext() {
    if (sound.playing || !sound.queue.length || !canSpeak()) return;
    sound.playing = true;
    const call = sound.queue.shift();
    let complete = false;
    try {
      startCalling(call);
      const manifest = await loadManifest();
      const playback = (manifest && manifest.playback) || {};
      // Every clip is fetched at once; the chime starts as soon as it is ready and each next clip
      // follows in turn (it has had the chime's length to arrive), never overlapping.
      const loads = manifest ? call.clips.map((id) => clip(id).catch((error) => {
        if (id === PAUSE) return PAUSE;   // a pack without a pause clip: silence instead
        console.warn(error);
        return null;
      })) : [];
      complete = loads.length > 0;
      let at = 0;
      for (const [index, load] of loads.entries()) {
        const buffer = await load;
        at = Math.max(at, sound.context.currentTime + START_MARGIN_SECONDS);
        if (buffer === PAUSE) {
          at += typeof playback.pause_seconds === "number" ? playback.pause_seconds : PAUSE_SECONDS;
          continue;
        }
        if (!buffer) {
          complete = false;
          continue;
        }
        const source = sound.context.createBufferSource();
        source.buffer = buffer;
        source.connect(sound.context.destination);
        source.start(at);
        const gap = call.clips[index] === "chime" ? playback.after_chime_seconds : playback.gap_seconds;
        at += buffer.duration + (typeof gap === "number" ? gap : 0.06);
      }
      await new Promise((done) => setTimeout(done, Math.max(0, (at - sound.context.currentTime) * 1000)));
    } catch (error) {
      console.warn("announcement failed", error);
      complete = false;
    }
    if (complete) {
      sound.problem = null;
      sound.last = { call_id: call.call_id, played_at: Math.round(hubNow()) / 1000 };
      document.body.dataset.lastAnnouncement = call.call_id;
    } else {
      sound.problem = "clip";
    }
    report();
    soundChanged();
    setTimeout(() => {
      sound.playing = false;
      playNext();
    }, AFTER_CALL_MS);
  }

  /** Try sound without a touch; a browser that refuses gets the gate (and any touch unlocks it). */
  async function startSound() {
    if (sound.off) {
      soundChanged();
      return;
    }
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) {
      sound.problem = "no Web Audio";
      soundChanged();
      return;
    }
    const context = new Context();
    context.addEventListener("statechange", soundChanged);
    if (context.state !== "running") {
      await Promise.race([context.resume().catch(() => null), new Promise((done) => setTimeout(done, RESUME_WAIT_MS))]);
    }
    sound.context = context;
    soundChanged();
    loadManifest();
  }

  function unlock() {
    if (sound.context && sound.context.state !== "running") sound.context.resume().catch(() => null);
  }

  // -- health, as the hub's dashboard sees it --------------------------------------------

  /** This screen's id, kept in the browser across reloads and power cuts. */
  function screenId() {
    const key = "hall-screen-id";
    let id = null;
    try { id = window.localStorage.getItem(key); } catch (ignored) { id = null; }
    if (!id) {
      const bytes = new Uint8Array(8);
      window.crypto.getRandomValues(bytes);
      id = `browser-${[...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
      try { window.localStorage.setItem(key, id); } catch (ignored) { /* private window: id for this visit */ }
    }
    return id;
  }
  const screen = screenId();

  function report() {
    const state = soundState();
    if (!live || live.status !== "online" || !state) return;
    const payload = { screen, kind: "browser", sound: state, last_announcement: sound.last };
    if (query.get("name")) payload.name = query.get("name").slice(0, 100);
    if (shownCounters) payload.counters = [...shownCounters].sort((x, y) => x - y).slice(0, 200);
    sound.reported = state;
    live.socket.emit("screen_status", payload, (ack) => {
      document.body.dataset.health = ack && ack.ok ? "ok" : "refused";
    });
  }

  // -- start -------------------------------------------------------------------------------

  $("sound-gate").addEventListener("click", unlock);
  ["pointerdown", "keydown", "touchstart"].forEach((type) => document.addEventListener(type, unlock, { passive: true }));
  window.addEventListener("resize", render);
  applyState(data.state, true);
  setInterval(tick, 1000);
  startSound();
  setInterval(report, STATUS_EVERY_MS);

  live = HallLive.connect({
    room: "display",
    seq: data.state.seq,
    onStatus: (status) => {
      $("offline").hidden = status !== "offline";
      if (status === "offline") board.highlightUntil = 0;   // what was fresh may be stale now
      render();
    },
    onJoin: report,
    onState: (state) => applyState(state, false),
    on: {
      called: applyCall,
      queue: (payload) => { board.services = payload.services; renderServices(); },
      counter: (payload) => { board.counters.set(payload.counter.number, payload.counter); render(); },
    },
  });
})();
