// The counter page: one key per action, live over Socket.IO, never two citizens per press.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("hall-data").textContent);
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const counter = data.counter;
  const $ = (id) => document.getElementById(id);
  const STATUS = { waiting: "Đang chờ", called: "Đã gọi", serving: "Đang phục vụ", done: "Hoàn thành",
                   no_show: "Vắng mặt", cancelled: "Đã hủy", expired: "Hết hạn" };
  const CHANNEL = { kiosk: "Kiosk", online: "Trực tuyến", staff: "Tại quầy", appointment: "Lịch hẹn" };
  let connected = false;
  let busy = false;
  let desk = null;           // the latest COUNTER_STATE
  let deskSeq = -1;
  let deskReceivedAt = Date.now();

  function minutes(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const m = Math.floor(seconds / 60), s = seconds % 60;
    return m ? `${m} phút ${s} giây` : `${s} giây`;
  }

  function showMessage(text, kind) {
    const box = $("message");
    box.textContent = text || "";
    box.hidden = !text;
    box.dataset.kind = kind || "error";
  }

  function setButtons() {
    document.querySelectorAll("button.action").forEach((button) => { button.disabled = !connected || busy; });
  }

  function setConnection(state) {
    connected = state === "online";
    const box = $("connection");
    box.dataset.state = state;
    box.innerHTML = state === "online" ? 'Đã kết nối <span class="en">online</span>'
      : state === "connecting" ? 'Đang kết nối… <span class="en">connecting</span>'
      : 'Mất kết nối — đang thử lại <span class="en">connection lost, retrying</span>';
    document.body.classList.toggle("offline", !connected);
    setButtons();
  }

  function render() {
    if (!desk) return;
    const current = desk.current;
    $("current-number").textContent = current ? current.number : "—";
    $("current-service").textContent = current ? (data.services[current.service] || current.service) : "—";
    $("current-status").textContent = current ? (STATUS[current.status] || current.status) : "—";
    $("current-priority").textContent = current && current.priority ? (data.priorities[current.priority] || current.priority) : "—";
    $("current-channel").textContent = current ? (CHANNEL[current.channel] || current.channel) : "—";
    const elapsed = Math.round((Date.now() - deskReceivedAt) / 1000);
    $("current-waited").textContent = current ? minutes(current.waited_seconds) : "—";
    $("current-at-counter").textContent = current && current.at_counter_seconds !== null
      ? minutes(current.at_counter_seconds + elapsed) : "—";
    const paused = desk.status === "paused";
    $("counter-status").textContent = paused ? "Quầy đang tạm dừng / paused" : "Quầy đang mở / open";
    const toggle = $("pause-toggle");
    toggle.dataset.action = paused ? "resume" : "pause";
    toggle.innerHTML = paused ? 'Tiếp tục <span class="en">Resume</span> <kbd>P</kbd>'
                              : 'Tạm dừng <span class="en">Pause</span> <kbd>P</kbd>';
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
       CHANNEL[ticket.channel] || ticket.channel, (ticket.issued_at || "").slice(11, 16)]
        .forEach((text) => { const cell = document.createElement("td"); cell.textContent = text; row.appendChild(cell); });
      return row;
    });
    $("waiting-list").replaceChildren(...rows);
  }

  function acceptDesk(seq, state) {
    if (seq < deskSeq) return;   // an older push arriving late
    deskSeq = seq;
    desk = state;
    deskReceivedAt = Date.now();
    render();
  }

  function newRequestId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
  }

  async function post(action, body) {
    const response = await fetch(`/counter/${counter}/action/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, "Accept": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    let answer = null;
    try { answer = await response.json(); } catch (ignored) { answer = null; }
    return { status: response.status, answer };
  }

  async function act(action) {
    if (!connected || busy) return;
    const body = { request_id: newRequestId() };
    if (action === "transfer") body.service = $("transfer-service").value;
    if (action === "call") {
      body.number = $("call-number").value.trim();
      if (!body.number) { showMessage("Nhập số cần gọi / type the number to call"); $("call-number").focus(); return; }
    }
    busy = true;
    setButtons();
    showMessage("");
    try {
      // A retry after a network failure reuses the request id: the hub answers the first result.
      let result = null;
      for (let attempt = 0; attempt < 3 && result === null; attempt += 1) {
        try { result = await post(action, body); } catch (networkError) {
          await new Promise((resolve) => setTimeout(resolve, 400 * (attempt + 1)));
        }
      }
      if (result === null) {
        showMessage("Không gửi được tới máy chủ. Kiểm tra kết nối. / Could not reach the hub.");
      } else if (result.status >= 400) {
        const error = result.answer && result.answer.error;
        showMessage(error ? error.message : `Lỗi ${result.status}`);
      } else {
        if (action === "call-next" && result.answer.ticket === null) {
          showMessage("Không còn ai chờ quầy này. / Nobody is waiting for this counter.", "info");
        }
        if (action === "call") $("call-number").value = "";
        acceptDesk(deskSeq, result.answer.counter);
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
  setConnection("connecting");
  const socket = io({ transports: ["websocket", "polling"], reconnectionDelayMax: 5000 });
  socket.on("connect", () => {
    socket.emit("join", { room: `counter:${counter}` }, (ack) => {
      if (ack && ack.ok) { setConnection("online"); }
      else { setConnection("offline"); showMessage(ack && ack.error ? ack.error.message : "Không vào được quầy"); }
    });
  });
  socket.on("disconnect", () => setConnection("offline"));
  socket.io.on("reconnect_attempt", () => setConnection("offline"));
  socket.on("counter_state", (payload) => acceptDesk(payload.seq, payload.counter));
  socket.on("called", (payload) => {
    if (payload.counter.number === counter) showMessage(payload.text, "info");
  });
})();
