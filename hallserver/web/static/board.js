// The browser hall screen: the same board and rules as the pygame client.
// One announcement at a time, in order; a call_id is announced once; resync from `state`.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const data = HallLive.data("board-data");
  const text = data.text;
  const HIGHLIGHT_MS = 8000;
  const board = { seq: -1, counters: new Map(), services: [], call: null };
  const announced = new Set();
  const queue = [];
  let audio = null;           // AudioContext once the first touch allowed sound
  let manifest = null;
  const buffers = new Map();
  let playing = false;

  function render() {
    const counters = [...board.counters.values()].sort((a, b) => a.number - b.number);
    $("counters").replaceChildren(...counters.map((counter) => {
      const row = document.createElement("tr");
      row.dataset.counter = counter.number;
      const name = document.createElement("td");
      name.textContent = counter.status === "paused" ? HallLive.fill(text.paused, { name: counter.name }) : counter.name;
      const number = document.createElement("td");
      number.className = "number";
      number.textContent = counter.current ? counter.current.number : "—";
      row.append(name, number);
      return row;
    }));
    $("services").replaceChildren(...board.services.map((service) => {
      const item = document.createElement("li");
      item.innerHTML = "<span></span><strong></strong>";
      item.firstChild.textContent = service.name;
      item.lastChild.textContent = service.waiting;
      return item;
    }));
    const call = board.call;
    $("call-number").textContent = call ? call.number : "—";
    $("call-counter").textContent = call ? HallLive.fill(text.counter, { counter: call.counter }) : "";
    $("call").classList.toggle("fresh", Boolean(call && call.fresh));
  }

  function applyState(state) {
    board.seq = state.seq;
    board.counters = new Map(state.counters.map((counter) => [counter.number, counter]));
    board.services = state.services;
    $("hall-name").textContent = state.hall.name;
    const ticker = [...(state.hall.notices || [])];
    if (state.hall.hotline) ticker.push(HallLive.fill(text.hotline, { hotline: state.hall.hotline }));
    $("ticker").textContent = ticker.join("   •   ");
    state.recent_calls.forEach((call) => announced.add(call.call_id));   // history, not news
    const last = state.recent_calls[0];
    board.call = last ? { number: last.number, counter: last.counter, fresh: false } : null;
    render();
  }

  function applyCall(payload) {
    if (payload.seq <= board.seq || announced.has(payload.call_id)) return;
    announced.add(payload.call_id);
    board.call = { number: payload.ticket.number, counter: payload.counter.number, fresh: true };
    setTimeout(() => { if (board.call && board.call.number === payload.ticket.number) { board.call.fresh = false; render(); } },
               HIGHLIGHT_MS);
    render();
    if (audio) { queue.push(payload.clips); playNext(); }
  }

  async function clip(id) {
    if (buffers.has(id)) return buffers.get(id);
    const entry = manifest && manifest.clips[id];
    if (!entry) { console.warn("missing clip", id); return null; }
    const response = await fetch(data.urls.clip.replace("FILE", entry.file));
    const buffer = await audio.decodeAudioData(await response.arrayBuffer());
    buffers.set(id, buffer);
    return buffer;
  }

  async function playNext() {
    if (playing || !queue.length) return;
    playing = true;
    const clips = queue.shift();
    const playback = (manifest && manifest.playback) || {};
    let at = audio.currentTime + 0.05;
    for (const id of clips) {
      const buffer = await clip(id).catch(() => null);
      if (!buffer) continue;
      const source = audio.createBufferSource();
      source.buffer = buffer;
      source.connect(audio.destination);
      source.start(at);
      at += buffer.duration + (id === "chime" ? (playback.after_chime_seconds || 0.3) : (playback.gap_seconds || 0.06));
    }
    setTimeout(() => { playing = false; playNext(); }, Math.max(0, (at - audio.currentTime) * 1000) + 600);
  }

  $("sound-gate").addEventListener("click", async () => {
    audio = new (window.AudioContext || window.webkitAudioContext)();
    await audio.resume();
    try { manifest = await (await fetch(data.urls.manifest)).json(); } catch (ignored) { manifest = null; }
    $("sound-gate").hidden = true;
    document.body.dataset.sound = "on";
  });

  function tick() {
    $("clock").textContent = new Date().toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: document.body.dataset.timezone });
  }
  tick();
  setInterval(tick, 5000);
  applyState(data.state);

  HallLive.connect({
    room: "display",
    seq: data.state.seq,
    onStatus: (status) => { $("offline").hidden = status !== "offline"; },
    onState: applyState,
    on: {
      called: applyCall,
      queue: (payload) => { board.services = payload.services; render(); },
      counter: (payload) => { board.counters.set(payload.counter.number, payload.counter); render(); },
    },
  });
})();
