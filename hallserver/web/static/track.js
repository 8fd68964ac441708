// Follow one ticket live: position, estimate, "Sắp đến lượt", "Mời đến quầy số N".
(function () {
  "use strict";
  const data = HallLive.data("track-data");
  const text = data.text;
  const $ = (id) => document.getElementById(id);
  let ticket = data.ticket;
  let announcedCall = null;

  const fill = HallLive.fill;

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
    const chime = new Audio(data.urls.chime);
    chime.play().catch(() => { /* the browser blocks sound until the page was touched */ });
  }

  function accept(next) {
    ticket = next;
    render();
  }

  $("notify").addEventListener("click", async () => {
    if (window.Notification) await Notification.requestPermission();
    $("notify").hidden = !window.Notification || Notification.permission === "granted";
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
    on: {
      ticket: (payload) => accept(payload.ticket),
      called: (payload) => {
        if (payload.call_id === announcedCall) return;
        announcedCall = payload.call_id;
        ticket = Object.assign({}, ticket, { status: "called", counter: payload.counter.number });
        render();
        alertCalled(payload.counter.number);
      },
    },
  });
})();
