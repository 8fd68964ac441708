// The kiosk: tap a service, get a number (shown at once, then printed, with a QR to follow it);
// priority citizens first tap their category (a big button: no priority without a category);
// or check an appointment in by its code, typed or scanned (a keyboard-wedge scanner types the
// QR's link and Enter, so fast keystrokes ending in Enter anywhere on the page count as a scan).
//
// Screens: the start (services), the priority categories, the appointment, the ticket. Any
// screen but the untouched start goes back to it after data.timeouts.idle_seconds without a
// touch; the ticket screen after data.timeouts.result_seconds, counting down. Going back to the
// start also goes back to Vietnamese: the next citizen finds the kiosk as the hall set it up.
(function () {
  "use strict";
  const data = HallLive.data("kiosk-data");
  const fill = HallLive.fill;
  const $ = (id) => document.getElementById(id);
  const START_LANGUAGE = data.languages[0];
  const IDLE_MS = data.timeouts.idle_seconds * 1000;
  const RESULT_SECONDS = data.timeouts.result_seconds;
  let language = START_LANGUAGE;
  let text = data.text[language];
  let busy = false;
  let connected = true;
  let idleTimer = null;
  let countdownTimer = null;
  let countdownLeft = 0;
  let priority = null;        // the chosen category's code; only a category button sets it
  let services = data.services;   // the latest services, re-applied when the connection or language changes
  let shown = null;           // the answer on the ticket screen, re-drawn when the language changes

  // Visitors cannot wander off: no context menu, no text selection, no links on the page.
  document.addEventListener("contextmenu", (event) => event.preventDefault());

  const english = () => language !== START_LANGUAGE;
  const named = (item) => (item ? (english() && item.name_en) || item.name : "");
  const priorityByCode = (code) => data.priorities.find((item) => item.code === code);
  const serviceByCode = (code) => services.find((item) => item.code === code);
  /** A sentence with a count: [one, other] forms from the data block. */
  const counted = (forms, count) => fill(forms[count === 1 ? 0 : 1], { count });

  // -- screens -----------------------------------------------------------------------------

  function showScreen(id) {
    for (const screen of ["choose", "priority-screen", "appointment-info", "result"]) $(screen).hidden = screen !== id;
    document.body.dataset.screen = id;
    if (id !== "result") stopCountdown();
    screenChanged();
    touched();
  }

  // -- the same finger's second tap -----------------------------------------------------------
  // A slow or unsure finger taps twice. By the second tap the screen under it has changed: a
  // category's second tap would issue a ticket for the service now under it, "Xong"'s a ticket
  // for the next citizen, a service tile's would take the ticket off the screen through "Xong".
  // A tap on the spot of the tap that changed the screen, within SECOND_TAP_MS, is ignored
  // (body[data-settling] meanwhile).
  const SECOND_TAP_MS = 800;
  const SAME_SPOT_PX = 48;
  let lastTap = null;       // {x, y} of the latest touch
  let changedBy = null;     // {x, y, until}: the touch the screen changed after, and until when it counts
  let settledTimer = null;
  document.addEventListener("pointerdown", (event) => { lastTap = { x: event.clientX, y: event.clientY }; }, true);

  function screenChanged() {
    changedBy = lastTap && { x: lastTap.x, y: lastTap.y, until: performance.now() + SECOND_TAP_MS };
    if (!changedBy) return;
    document.body.dataset.settling = "";
    clearTimeout(settledTimer);
    settledTimer = setTimeout(() => { delete document.body.dataset.settling; }, SECOND_TAP_MS);
  }

  document.addEventListener("click", (event) => {
    if (!changedBy || performance.now() > changedBy.until) return;
    if (Math.hypot(event.clientX - changedBy.x, event.clientY - changedBy.y) > SAME_SPOT_PX) return;
    event.preventDefault();
    event.stopImmediatePropagation();
  }, true);

  /** The start as the next citizen should find it: no choice, Vietnamese, no message left but "offline". */
  function atStart() {
    return document.body.dataset.screen === "choose" && priority === null && !english()
      && ($("kiosk-error").hidden || !connected);
  }

  /** Every touch (or key) restarts the idle clock, and the ticket screen's countdown. */
  function touched() {
    clearTimeout(idleTimer);
    idleTimer = null;
    if (document.body.dataset.screen === "result") {
      startCountdown();
    } else if (!atStart()) {
      idleTimer = setTimeout(reset, IDLE_MS);
    }
  }

  function startCountdown() {
    clearInterval(countdownTimer);
    countdownLeft = RESULT_SECONDS;
    showCountdown();
    countdownTimer = setInterval(() => {
      countdownLeft -= 1;
      if (countdownLeft <= 0) reset();
      else showCountdown();
    }, 1000);
  }

  function showCountdown() {
    $("countdown").textContent = fill(text.countdown, { seconds: countdownLeft });
  }

  function stopCountdown() {
    clearInterval(countdownTimer);
    countdownTimer = null;
  }

  function reset() {
    stopCountdown();
    shown = null;
    priority = null;
    $("booking-code").value = "";
    showCheckInError(null);
    setLanguage(START_LANGUAGE);
    showError(connected ? "" : text.offline);   // still offline: the next citizen is told why nothing works
    showScreen("choose");
  }

  ["pointerdown", "keydown"].forEach((type) => document.addEventListener(type, touched, true));

  // -- language ------------------------------------------------------------------------------

  function setLanguage(next) {
    language = next;
    text = data.text[language];
    document.documentElement.lang = language;
    document.body.dataset.language = language;
    document.querySelectorAll("[data-text]").forEach((element) => { element.textContent = text[element.dataset.text]; });
    document.querySelectorAll("[data-placeholder]").forEach((element) => {
      element.placeholder = text[element.dataset.placeholder];
      element.setAttribute("aria-label", text[element.dataset.placeholder]);
    });
    $("lang").lang = data.languages.find((code) => code !== language);
    $("hall-name").textContent = english() ? data.hall.name_en : data.hall.name;
    document.querySelectorAll("button.priority").forEach((button) => {
      button.textContent = named(priorityByCode(button.dataset.priority));
    });
    applyServices(services);
    showPriority();
    if (!connected) showError(text.offline);
    if (shown) showResult(shown);
  }

  $("lang").addEventListener("click", () => {
    setLanguage(english() ? START_LANGUAGE : data.languages.find((code) => code !== START_LANGUAGE));
    screenChanged();   // a double tap would switch the language back at once
    touched();
  });

  // -- services --------------------------------------------------------------------------------

  function showError(message) {
    $("kiosk-error").textContent = message || "";
    $("kiosk-error").hidden = !message;
  }

  /** A refusal from the hub, in the kiosk's language. */
  function errorText(error, fallback) {
    if (!error) return fallback;
    return (english() ? error.message_en : error.message) || error.message || fallback;
  }

  function applyServices(latest) {
    services = latest;
    services.forEach((service) => {
      const button = document.querySelector(`button.service[data-service="${service.code}"]`);
      if (!button) return;
      button.disabled = !service.available || !connected;
      // An admin may rename a service while the kiosk runs: names follow the hub, in the kiosk's language.
      button.querySelector(".service-name").textContent = named(service);
      // Descriptions are Vietnamese only: English shows the name alone.
      button.querySelector(".service-description").textContent = english() ? "" : service.description || "";
      const status = button.querySelector(".service-status");
      status.textContent = service.available ? counted(text.waiting, service.waiting)
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

  function showPriority() {
    const chosen = priorityByCode(priority);
    $("priority-banner").hidden = !chosen;
    $("priority-chosen").textContent = chosen ? fill(text.priority_chosen, { name: named(chosen) }) : "";
    $("hint").textContent = chosen ? text.hint_priority : text.hint;
    document.body.classList.toggle("priority-chosen", Boolean(chosen));
  }

  function choosePriority(code) {
    priority = priorityByCode(code) ? code : null;
    showPriority();
    showScreen("choose");
  }

  // -- the ticket --------------------------------------------------------------------------

  function showPrint(state) {
    $("result-print").dataset.state = state;
    $("result-print").textContent = { printing: text.printing, printed: text.printed,
                                      doubt: text.not_printed, none: text.no_printer }[state];
  }

  function printState(answer) {
    if (answer.print) return "printing";
    if (answer.printed) return "printed";
    return answer.print_error ? "doubt" : "none";
  }

  /** The estimate as a range ("khoảng 15–25 phút"), or the time after the lunch break. */
  function waitText(ticket) {
    if (!ticket.eta_minutes) return text.eta_now;
    if (ticket.eta_after_closure && ticket.eta_at) return fill(text.eta_after_closure, { time: ticket.eta_at });
    if (ticket.eta_low_minutes !== null && ticket.eta_low_minutes !== undefined && ticket.eta_high_minutes) {
      return fill(text.eta_range, { low: ticket.eta_low_minutes, high: ticket.eta_high_minutes });
    }
    return fill(text.eta, { minutes: ticket.eta_minutes });
  }

  function showResult(answer) {
    const ticket = answer.ticket;
    const booking = answer.booking;
    $("result-appointment").hidden = !booking;
    if (booking) {
      $("result-appointment").textContent = answer.again ? text.appointment_again : fill(text.appointment, { time: booking.time });
    }
    $("result-number").textContent = ticket.number;
    const service = serviceByCode(ticket.service);
    $("result-service").textContent = service ? named(service) : ticket.service_name;
    const category = priorityByCode(ticket.priority);
    $("result-priority").hidden = !ticket.priority;
    $("result-priority").textContent = ticket.priority ? fill(text.priority_chosen, { name: named(category) || ticket.priority }) : "";
    $("result-ahead").textContent = counted(text.ahead, ticket.ahead);
    $("result-eta").textContent = waitText(ticket);
    $("result-qr").innerHTML = answer.qr_svg;
    showPrint(answer.print_state || printState(answer));
    if (shown === answer) return;   // a language change re-draws the same ticket
    shown = answer;
    showScreen("result");
    if (answer.print) printTicket(answer);
  }

  /** The second request: the printer's truth. The number is on screen meanwhile ("Printing…"). */
  async function printTicket(answer) {
    let state = "doubt";
    try {
      const { status, answer: printed } = await HallLive.postJSON(answer.print.url, { token: answer.print.token });
      if (status === 200 && printed.printed) state = "printed";
    } catch (networkError) { /* no answer is doubt */ }
    answer.print_state = state;
    answer.print = null;
    if (shown !== answer) return;    // the citizen already left
    showPrint(state);
    startCountdown();                // the citizen gets the full time to read what happened
  }

  async function issue(service) {
    if (busy) return;
    busy = true;
    showError("");
    try {
      const body = { service, print_later: true };
      if (priority) body.priority = priority;
      const { status, answer } = await HallLive.postJSON(data.urls.issue, body);
      if (status === 201) {
        priority = null;       // this ticket has it; the next citizen chooses again
        showPriority();
        showResult(answer);
      } else {
        showError(errorText(answer && answer.error, text.failed));
      }
      if (status !== 201) refreshState();
    } catch (networkError) {
      showError(text.failed);
    } finally {
      busy = false;
      touched();   // a refusal left on the start screen goes away after a while, like a sub-screen
    }
  }

  // -- appointments ------------------------------------------------------------------------

  function showCheckInError(error) {
    $("check-in-error").hidden = !error;
    $("check-in-error").textContent = error ? errorText(error, text.check_in_failed) : "";
    const fallback = $("check-in-fallback");
    fallback.hidden = !(error && error.service);
    if (error && error.service) {
      fallback.dataset.service = error.service;
      fallback.textContent = fill(text.fallback, { service: named(serviceByCode(error.service)) || error.service });
    }
  }

  async function checkIn(code) {
    if (busy || !code.trim()) return;
    busy = true;
    showScreen("appointment-info");
    showCheckInError(null);
    try {
      const { status, answer } = await HallLive.postJSON(data.urls.check_in, { code, print_later: true });
      if (status === 201) showResult(answer);
      else showCheckInError((answer && answer.error) || { message: text.check_in_failed, message_en: text.check_in_failed });
    } catch (networkError) {
      showCheckInError({ message: text.check_in_failed, message_en: text.check_in_failed });
    } finally {
      busy = false;
      $("booking-code").value = "";
    }
  }

  // -- taps ----------------------------------------------------------------------------------

  document.querySelectorAll("button.service").forEach((button) => {
    button.addEventListener("click", () => issue(button.dataset.service));
  });
  document.querySelectorAll("button.priority").forEach((button) => {
    button.addEventListener("click", () => choosePriority(button.dataset.priority));
  });
  if ($("priority-open")) $("priority-open").addEventListener("click", () => showScreen("priority-screen"));
  $("priority-back").addEventListener("click", () => showScreen("choose"));
  $("priority-cancel").addEventListener("click", () => choosePriority(null));
  $("appointment").addEventListener("click", () => {
    showCheckInError(null);
    showScreen("appointment-info");
    $("booking-code").focus();
  });
  $("appointment-back").addEventListener("click", () => showScreen("choose"));
  $("check-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    checkIn($("booking-code").value);
  });
  $("check-in-fallback").addEventListener("click", () => {
    const service = $("check-in-fallback").dataset.service;
    showCheckInError(null);
    showScreen("choose");
    issue(service);
  });
  $("done").addEventListener("click", reset);

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

  function tick() {
    $("clock").textContent = new Date().toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: document.body.dataset.timezone });
  }
  tick();
  setInterval(tick, 10000);
  // Working hours change with the clock, not with events.
  setInterval(refreshState, 60000);

  document.body.dataset.screen = "choose";
  setLanguage(START_LANGUAGE);

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
      data.hall = { name: state.hall.name, name_en: state.hall.name_en || state.hall.name };
      $("hall-name").textContent = english() ? data.hall.name_en : data.hall.name;
      applyServices(state.services);
    },
    on: { queue: (payload) => applyServices(payload.services) },
  });
})();
