// Follow one ticket live: position, estimate, "Sắp đến lượt", "Mời đến quầy số N".
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("track-data").textContent);
  const text = data.text;
  const $ = (id) => document.getElementById(id);
  let ticket = data.ticket;
  let lastSeq = -1;
  let announcedCall = null;

  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => values[key]);

  function render() {
    $("status").textContent = text.status[ticket.status] || ticket.status;
    $("ahead").textContent = ticket.ahead === null || ticket.ahead === undefined ? "—" : ticket.ahead;
    $("eta").textContent = ticket.eta_minutes === null || ticket.eta_minutes === undefined ? "—"
      : fill(text.minutes, { minutes: ticket.eta_minutes });
    const headline = $("headline");
    if ((ticket.status === "called" || ticket.status === "serving") && ticket.counter) {
      headline.textContent = fill(text.called, { counter: ticket.counter });
      headline.dataset.kind = "called";
    } else if (ticket.status === "waiting" && ticket.ahead !== null && ticket.ahead <= data.soon_ahead) {
      headline.textContent = text.soon;
      headline.dataset.kind = "soon";
    } else {
      headline.textContent = "";
      headline.dataset.kind = "";
    }
    $("cancel").hidden = !(ticket.status === "waiting" || ticket.status === "called");
    if ($("rating")) $("rating").hidden = ticket.status !== "done";
  }

  function alertCalled(counter) {
    const message = fill(text.called, { counter });
    if (window.Notification && Notification.permission === "granted") {
      try { new Notification(text.notify_title, { body: `${ticket.number}: ${message}` }); } catch (ignored) { /* some phones only notify from a service worker */ }
    }
    if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
    const chime = new Audio("/sounds/chime.wav");
    chime.play().catch(() => { /* the browser blocks sound until the page was touched */ });
  }

  function accept(seq, next) {
    if (seq < lastSeq) return;
    lastSeq = seq;
    ticket = next;
    render();
  }

  $("notify").addEventListener("click", async () => {
    if (window.Notification) await Notification.requestPermission();
    $("notify").hidden = !window.Notification || Notification.permission === "granted";
    new Audio("/sounds/chime.wav").play().catch(() => {});
  });
  $("cancel").addEventListener("click", async () => {
    if (!window.confirm(text.confirm_cancel)) return;
    const response = await fetch(`/api/v1/tickets/${encodeURIComponent(data.token)}/cancel`, { method: "POST" });
    const answer = await response.json();
    if (response.ok) accept(lastSeq, Object.assign({}, ticket, answer.ticket));
  });

  render();
  const connection = $("connection");
  const socket = io({ transports: ["websocket", "polling"] });
  socket.on("connect", () => {
    socket.emit("join", { room: `ticket:${data.token}` }, (ack) => {
      connection.dataset.state = ack && ack.ok ? "online" : "offline";
      connection.textContent = ack && ack.ok ? text.online : text.offline;
    });
  });
  socket.on("disconnect", () => { connection.dataset.state = "offline"; connection.textContent = text.offline; });
  socket.on("ticket", (payload) => accept(payload.seq, payload.ticket));
  socket.on("called", (payload) => {
    if (payload.call_id === announcedCall) return;
    announcedCall = payload.call_id;
    ticket = Object.assign({}, ticket, { status: "called", counter: payload.counter.number });
    render();
    alertCalled(payload.counter.number);
  });
})();
