// The kiosk: tap a service, get a number (shown, printed, with a QR to follow it); or check
// an appointment in by its code, typed or scanned (a keyboard-wedge scanner types the QR's
// link and Enter, so fast keystrokes ending in Enter anywhere on the page count as a scan).
(function () {
  "use strict";
  const data = HallLive.data("kiosk-data");
  const text = data.text;
  const fill = HallLive.fill;
  const $ = (id) => document.getElementById(id);
  const RESET_AFTER_MS = 30000;
  let busy = false;
  let connected = true;
  let resetTimer = null;
  let services = [];         // the latest services, re-applied when the connection comes back

  // Visitors cannot wander off: no context menu, no text selection, no links on the page.
  document.addEventListener("contextmenu", (event) => event.preventDefault());

  function showError(message) {
    $("kiosk-error").textContent = message || "";
    $("kiosk-error").hidden = !message;
  }

  function applyServices(latest) {
    services = latest;
    services.forEach((service) => {
      const button = document.querySelector(`button.service[data-service="${service.code}"]`);
      if (!button) return;
      button.disabled = !service.available || !connected;
      // An admin may rename a service while the kiosk runs: names follow the hub.
      button.querySelector(".service-name").textContent = service.name;
      button.querySelector(".service-description").textContent = service.description || "";
      const status = button.querySelector(".service-status");
      status.textContent = service.available ? fill(text.waiting, { count: service.waiting })
                                             : text.unavailable[service.unavailable];
      button.classList.toggle("unavailable", !service.available);
    });
  }

  async function refreshState() {
    try {
      const response = await fetch(data.urls.state, { cache: "no-store" });
      if (response.ok) applyServices((await response.json()).services);
    } catch (ignored) { /* the socket's state tells us when the hub is back */ }
  }

  function priorityChoice() {
    if (!$("priority-toggle").checked) return null;
    const chosen = document.querySelector('input[name="priority"]:checked');
    return chosen ? chosen.value : null;
  }

  function showResult(answer) {
    const ticket = answer.ticket;
    const booking = answer.booking;
    $("result-appointment").hidden = !booking;
    if (booking) {
      $("result-appointment").textContent = answer.again ? text.appointment_again : fill(text.appointment, { time: booking.time });
    }
    $("result-number").textContent = ticket.number;
    $("result-service").textContent = ticket.service_name;
    $("result-ahead").textContent = fill(text.ahead, { count: ticket.ahead });
    $("result-eta").textContent = ticket.eta_minutes ? fill(text.eta, { minutes: ticket.eta_minutes }) : text.eta_now;
    $("result-qr").innerHTML = answer.qr_svg;
    $("result-print").textContent = answer.printed ? text.printed : (answer.print_error ? text.not_printed : text.no_printer);
    $("choose").hidden = true;
    $("result").hidden = false;
    clearTimeout(resetTimer);
    resetTimer = setTimeout(reset, RESET_AFTER_MS);
  }

  function reset() {
    clearTimeout(resetTimer);
    $("result").hidden = true;
    $("choose").hidden = false;
    $("priority-toggle").checked = false;
    $("priority-choices").hidden = true;
    document.querySelectorAll('input[name="priority"]').forEach((input) => { input.checked = false; });
    $("appointment-info").hidden = true;
    $("booking-code").value = "";
    showCheckInError(null);
    showError("");
  }

  function serviceName(code) {
    const name = document.querySelector(`button.service[data-service="${code}"] .service-name`);
    return name ? name.textContent : code;
  }

  function showCheckInError(error) {
    $("check-in-error").hidden = !error;
    $("check-in-error").textContent = error ? error.message : "";
    const fallback = $("check-in-fallback");
    fallback.hidden = !(error && error.service);
    if (error && error.service) {
      fallback.dataset.service = error.service;
      fallback.textContent = fill(text.fallback, { service: serviceName(error.service) });
    }
  }

  async function checkIn(code) {
    if (busy || !code.trim()) return;
    busy = true;
    $("appointment-info").hidden = false;
    showCheckInError(null);
    try {
      const { status, answer } = await HallLive.postJSON(data.urls.check_in, { code });
      if (status === 201) showResult(answer);
      else showCheckInError((answer && answer.error) || { message: text.check_in_failed });
    } catch (networkError) {
      showCheckInError({ message: text.check_in_failed });
    } finally {
      busy = false;
      $("booking-code").value = "";
    }
  }

  async function issue(service) {
    if (busy) return;
    busy = true;
    showError("");
    try {
      const { status, answer } = await HallLive.postJSON(data.urls.issue, { service, priority: priorityChoice() });
      if (status === 201) showResult(answer);
      else showError(answer && answer.error ? answer.error.message : text.failed);
      if (status !== 201) refreshState();
    } catch (networkError) {
      showError(text.failed);
    } finally {
      busy = false;
    }
  }

  document.querySelectorAll("button.service").forEach((button) => {
    button.addEventListener("click", () => issue(button.dataset.service));
  });
  $("priority-toggle").addEventListener("change", () => { $("priority-choices").hidden = !$("priority-toggle").checked; });
  $("appointment").addEventListener("click", () => {
    $("appointment-info").hidden = !$("appointment-info").hidden;
    if (!$("appointment-info").hidden) $("booking-code").focus();
  });
  $("check-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    checkIn($("booking-code").value);
  });
  $("check-in-fallback").addEventListener("click", () => {
    showCheckInError(null);
    issue($("check-in-fallback").dataset.service);
  });

  // A scanner types far faster than a person: at most SCAN_GAP_MS between keys.
  const SCAN_GAP_MS = 60;
  let scanned = "";
  let lastKeyAt = 0;
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement) return;   // the code field handles its own Enter
    const now = Date.now();
    if (now - lastKeyAt > SCAN_GAP_MS) scanned = "";
    lastKeyAt = now;
    if (event.key === "Enter") {
      if (scanned.length >= 6) checkIn(scanned);
      scanned = "";
    } else if (event.key.length === 1) {
      scanned += event.key;
    }
  });
  $("done").addEventListener("click", reset);

  function tick() {
    $("clock").textContent = new Date().toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: document.body.dataset.timezone });
  }
  tick();
  setInterval(tick, 10000);
  // Working hours change with the clock, not with events.
  setInterval(refreshState, 60000);

  HallLive.connect({
    room: "display",
    onStatus: (status) => {
      // Connecting at start keeps the page's buttons; a lost hub disables them until it is back.
      connected = status !== "offline";
      showError(connected ? "" : text.offline);
      if (connected) applyServices(services);
      else document.querySelectorAll("button.service").forEach((button) => { button.disabled = true; });
    },
    onState: (state) => {
      document.querySelector(".kiosk-head h1").textContent = state.hall.name;
      applyServices(state.services);
    },
    on: { queue: (payload) => applyServices(payload.services) },
  });
})();
