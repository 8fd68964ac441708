// The counter page: one key per action, live over Socket.IO, never two citizens per press.
(function () {
  "use strict";
  const data = HallLive.data("hall-data");
  const text = data.text;
  const counter = data.counter;
  const $ = (id) => document.getElementById(id);
  let connected = false;
  let busy = false;
  let desk = null;           // the latest COUNTER_STATE
  let deskReceivedAt = Date.now();

  function minutes(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const m = Math.floor(seconds / 60), s = seconds % 60;
    return m ? HallLive.fill(text.minutes_seconds, { minutes: m, seconds: s }) : HallLive.fill(text.seconds, { seconds: s });
  }

  function showMessage(message, kind) {
    const box = $("message");
    box.textContent = message || "";
    box.hidden = !message;
    box.dataset.kind = kind || "error";
  }

  function setButtons() {
    document.querySelectorAll("button.action").forEach((button) => { button.disabled = !connected || busy; });
  }

  function setConnection(status, error) {
    connected = status === "online";
    if (status === "refused") showMessage(error && error.message ? error.message : text.refused);
    setButtons();
  }

  function render() {
    if (!desk) return;
    const current = desk.current;
    $("current-number").textContent = current ? current.number : "—";
    $("current-service").textContent = current ? (data.services[current.service] || current.service) : "—";
    $("current-status").textContent = current ? (text.status[current.status] || current.status) : "—";
    $("current-priority").textContent = current && current.priority ? (data.priorities[current.priority] || current.priority) : "—";
    $("current-channel").textContent = current ? (text.channel[current.channel] || current.channel) : "—";
    const elapsed = Math.round((Date.now() - deskReceivedAt) / 1000);
    $("current-waited").textContent = current ? minutes(current.waited_seconds) : "—";
    $("current-at-counter").textContent = current && current.at_counter_seconds !== null
      ? minutes(current.at_counter_seconds + elapsed) : "—";
    const paused = desk.status === "paused";
    $("counter-status").textContent = paused ? text.paused : text.open;
    const toggle = $("pause-toggle");
    toggle.dataset.action = paused ? "resume" : "pause";
    toggle.querySelectorAll("[data-when]").forEach((label) => { label.hidden = label.dataset.when !== toggle.dataset.action; });
    $("waiting-counts").innerHTML = "";
    desk.waiting.forEach((entry) => {
      const item = document.createElement("li");
      item.textContent = `${data.services[entry.service] || entry.service}: ${entry.count}`;
      item.dataset.service = entry.service;
      $("waiting-counts").appendChild(item);
    });
    const rows = desk.waiting_list.map((ticket) => {
      const row = document.createElement("tr");
      [ticket.number, data.services[ticket.service] || ticket.service,
       ticket.priority ? (data.priorities[ticket.priority] || ticket.priority) : "",
       text.channel[ticket.channel] || ticket.channel, (ticket.issued_at || "").slice(11, 16)]
        .forEach((text) => { const cell = document.createElement("td"); cell.textContent = text; row.appendChild(cell); });
      return row;
    });
    $("waiting-list").replaceChildren(...rows);
  }

  function acceptDesk(state) {
    desk = state;
    deskReceivedAt = Date.now();
    render();
  }

  function newRequestId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
  }

  async function act(action) {
    if (!connected || busy) return;
    const body = { request_id: newRequestId() };
    if (action === "transfer") body.service = $("transfer-service").value;
    if (action === "call") {
      body.number = $("call-number").value.trim();
      if (!body.number) { showMessage(text.type_number); $("call-number").focus(); return; }
    }
    busy = true;
    setButtons();
    showMessage("");
    try {
      // A retry after a network failure reuses the request id: the hub answers the first result.
      let result = null;
      for (let attempt = 0; attempt < 3 && result === null; attempt += 1) {
        try { result = await HallLive.postJSON(data.urls.action.replace("ACTION", action), body); } catch (networkError) {
          await new Promise((resolve) => setTimeout(resolve, 400 * (attempt + 1)));
        }
      }
      if (result === null) {
        showMessage(text.unreachable);
      } else if (result.status >= 400) {
        const error = result.answer && result.answer.error;
        showMessage(error ? error.message : HallLive.fill(text.failed, { status: result.status }));
      } else {
        if (action === "call-next" && result.answer.ticket === null) {
          showMessage(text.nobody, "info");
        }
        if (action === "call") $("call-number").value = "";
        acceptDesk(result.answer.counter);   // the answer is newer than any push so far
      }
    } finally {
      busy = false;
      setButtons();
    }
  }

  document.querySelectorAll("button.action").forEach((button) => {
    button.addEventListener("click", () => act(button.dataset.action));
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey || event.repeat) return;
    const typing = event.target.matches("input, select, textarea");
    if (typing && event.key === "Enter" && event.target.id === "call-number") {
      event.preventDefault();
      act("call");
      return;
    }
    if (typing) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const button = document.querySelector(`button.action[data-key="${key}"]`);
    if (button) {
      event.preventDefault();
      if (button.dataset.action === "call" && !$("call-number").value.trim()) { $("call-number").focus(); return; }
      act(button.dataset.action);
    }
  });

  setInterval(render, 1000);
  HallLive.connect({
    room: `counter:${counter}`,
    badge: "connection",
    labels: text.connection,
    onStatus: setConnection,
    on: {
      counter_state: (payload) => acceptDesk(payload.counter),
      called: (payload) => { if (payload.counter.number === counter) showMessage(payload.text, "info"); },
    },
  });
})();
