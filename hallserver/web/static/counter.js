// The counter page: one key per action, live over Socket.IO, never two citizens per press.
//
// Keys: Enter next · B start · H done · R recall · V no-show · C transfer (into the service
// chooser: ↑ ↓ pick, Enter transfers and gives the keys back, Esc leaves) · G call a number
// (digits, Enter calls and gives the keys back, Esc leaves) · P pause/resume · Ctrl+Z undo ·
// ? help. A call-next the hub answers 409 arrival_unknown opens the B/V question; every
// action ends in a toast (#message); a counter another account works is read-only.
(function () {
  "use strict";
  const data = HallLive.data("hall-data");
  const text = data.text;
  const counter = data.counter;
  const policy = data.policy || {};
  const prefixes = data.prefixes || [];
  const $ = (id) => document.getElementById(id);
  const box = $("call-number");
  let connected = false;
  let busy = false;
  let heldBy = data.held_by || null;   // someone else works this counter: read-only
  let arrival = null;                   // the open arrival question: {number}
  let desk = null;                      // the latest COUNTER_STATE
  let deskReceivedAt = Date.now();

  function minutes(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const m = Math.floor(seconds / 60), s = seconds % 60;
    return m ? HallLive.fill(text.minutes_seconds, { minutes: m, seconds: s }) : HallLive.fill(text.seconds, { seconds: s });
  }

  function fillPair(pair, values) {
    return Array.isArray(pair) ? pair.map((part) => HallLive.fill(part, values)) : HallLive.fill(pair, values);
  }

  // -- toasts: one per action, kept a few seconds (errors longer); click to dismiss --------------
  function toast(message, kind) {
    if (!message || (Array.isArray(message) && !message[0])) return;
    const area = $("message");
    const item = document.createElement("div");
    item.className = "toast";
    item.dataset.kind = kind || "ok";
    item.setAttribute("role", kind === "error" ? "alert" : "status");
    HallLive.label(item, message);
    item.addEventListener("click", () => item.remove());
    area.appendChild(item);
    while (area.children.length > 3) area.firstElementChild.remove();
    setTimeout(() => item.remove(), kind === "error" || kind === "warn" ? 9000 : 5000);
  }

  function hubMessage(error) {
    return error.message_en ? [error.message, error.message_en] : error.message;
  }

  // -- what the buttons may do ---------------------------------------------------------------------
  function paused() { return Boolean(desk && desk.status === "paused"); }

  /** Why ``action`` cannot be sent now (a message), "" when it can; null: silently not now. */
  function blocked(action) {
    if (!connected) return text.unreachable;
    if (heldBy) return text.held;
    if (busy) return null;
    if (paused() && (action === "call-next" || action === "call")) return text.paused_hint;
    return "";
  }

  function setButtons() {
    document.querySelectorAll("button.action").forEach((button) => {
      button.disabled = blocked(button.dataset.action) !== "";
    });
    box.disabled = !connected || Boolean(heldBy) || paused();
  }

  function setConnection(status, error) {
    connected = status === "online";
    if (status === "refused") toast(error && error.message ? error.message : text.refused, "error");
    setButtons();
  }

  function showHeld(message) {
    heldBy = heldBy || {};
    if (message) HallLive.label($("held-by-text"), message);
    $("held-by").hidden = false;
    setButtons();
  }

  // -- the desk ------------------------------------------------------------------------------------
  function badge(label, kind) {
    const span = document.createElement("span");
    span.className = `badge badge-${kind}`;
    span.textContent = label;
    return span;
  }

  function waitingRow(ticket, index) {
    const row = document.createElement("tr");
    if (ticket.next) row.className = "next";
    const notes = document.createElement("td");
    notes.className = "notes";
    if (ticket.next) notes.appendChild(badge(text.badges.next, "next"));
    if (ticket.priority) notes.appendChild(badge(data.priorities[ticket.priority] || ticket.priority, "priority"));
    if (ticket.channel === "appointment") {
      const time = (ticket.due_at || "").slice(11, 16);
      notes.appendChild(badge(HallLive.fill(text.badges.appointment, { time }).trim(), "appointment"));
    }
    if (ticket.transferred_from) {
      const from = data.services[ticket.transferred_from] || ticket.transferred_from;
      notes.appendChild(badge(HallLive.fill(text.badges.transferred, { service: from }), "transferred"));
    } else if (ticket.requeued) {
      notes.appendChild(badge(text.badges.reinstated, "reinstated"));
    }
    if (ticket.channel === "online") notes.appendChild(badge(text.badges.online, "online"));
    const cells = [String(index + 1), ticket.number, data.services[ticket.service] || ticket.service];
    cells.forEach((value, column) => {
      const cell = document.createElement("td");
      cell.textContent = value;
      if (column === 1) cell.className = "number";
      row.appendChild(cell);
    });
    row.appendChild(notes);
    const issued = document.createElement("td");
    issued.textContent = (ticket.issued_at || "").slice(11, 16);
    row.appendChild(issued);
    row.dataset.number = ticket.number;
    return row;
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
    $("current-recalls").textContent = current
      ? HallLive.fill(text.recalls, { recalls: current.recalls, max: policy.max_recalls }) : "—";
    const isPaused = paused();
    $("counter-status").textContent = isPaused ? text.paused : text.open;
    $("paused-banner").hidden = !isPaused;
    document.body.classList.toggle("counter-paused", isPaused);
    const toggle = $("pause-toggle");
    toggle.dataset.action = isPaused ? "resume" : "pause";
    toggle.querySelectorAll("[data-when]").forEach((label) => { label.hidden = label.dataset.when !== toggle.dataset.action; });
    $("waiting-counts").replaceChildren(...desk.waiting.map((entry) => {
      const item = document.createElement("li");
      item.textContent = `${data.services[entry.service] || entry.service}: ${entry.count}`;
      item.dataset.service = entry.service;
      return item;
    }));
    const rows = desk.waiting_list.map(waitingRow);
    if (!rows.length) {
      const row = document.createElement("tr");
      const cell = document.createElement("td");
      cell.colSpan = 5;
      cell.className = "empty";
      cell.textContent = text.empty;
      row.appendChild(cell);
      rows.push(row);
    }
    $("waiting-list").replaceChildren(...rows);
    // the question is about the citizen at the counter: gone when they are
    if (arrival && !(current && current.number === arrival.number && current.status === "called")) closeArrival();
    setButtons();
  }

  function acceptDesk(state) {
    desk = state;
    deskReceivedAt = Date.now();
    render();
  }

  // -- acting ------------------------------------------------------------------------------------------
  function newRequestId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
  }

  function undoneText(undone) {
    const parts = (undone || []).map((entry) => fillPair(text.undid[entry.type] || [entry.type, entry.type], entry));
    return fillPair(text.done.undo, {
      what: parts.map((part) => part[0]).join(" · "), what_en: parts.map((part) => part[1]).join(" · "),
    });
  }

  /** The toast of a successful action; ``before`` is the ticket at the counter before it. */
  function successToast(action, answer, before) {
    const ticket = answer.ticket;
    const done = text.done;
    if (action === "call-next" || action === "call") {   // both finish the citizen at the counter first
      const messages = [];
      if (before) {
        const finished = answer.finished === "no_show" ? done.finished_no_show : done.finished_done;
        messages.push(fillPair(finished, { number: before.number }));
      }
      messages.push(ticket ? fillPair(done[action], { number: ticket.number }) : text.nobody);
      const joined = [messages.map((m) => m[0]).join(" · "), messages.map((m) => m[1]).join(" · ")];
      toast(joined, ticket ? "ok" : "info");
      return;
    }
    if (action === "undo") { toast(undoneText(answer.undone), "ok"); return; }
    const values = {
      number: ticket ? ticket.number : (before ? before.number : ""),
      recalls: ticket ? ticket.recalls : 0, max: policy.max_recalls,
      service: ticket ? (data.services[ticket.service] || ticket.service) : "",
    };
    if (done[action]) toast(fillPair(done[action], values), "ok");
  }

  async function act(action, extra) {
    const reason = blocked(action);
    if (reason === null) return;
    if (reason) { toast(reason, reason === text.unreachable ? "error" : "warn"); return; }
    const body = Object.assign({ request_id: newRequestId() }, extra || {});
    if (action === "transfer") body.service = $("transfer-service").value;
    if (action === "call") {
      body.number = box.value.trim();
      if (!body.number) { toast(text.type_number, "warn"); box.focus(); return; }
    }
    const before = desk && desk.current ? desk.current : null;
    busy = true;
    setButtons();
    try {
      // A retry after a network failure reuses the request id: the hub answers the first result.
      let result = null;
      for (let attempt = 0; attempt < 3 && result === null; attempt += 1) {
        try { result = await HallLive.postJSON(data.urls.action.replace("ACTION", action), body); } catch (networkError) {
          await new Promise((resolve) => setTimeout(resolve, 400 * (attempt + 1)));
        }
      }
      if (result === null) {
        toast(text.unreachable, "error");
      } else if (result.status >= 400) {
        refused(action, result);
      } else {
        if (action === "call") box.value = "";
        if (action === "call-next" && extra && extra.arrived === false) result.answer.finished = "no_show";
        acceptDesk(result.answer.counter);   // the answer is newer than any push so far
        successToast(action, result.answer, before);
      }
    } finally {
      busy = false;
      setButtons();
    }
  }

  function refused(action, result) {
    const error = result.answer && result.answer.error;
    if (!error) { toast(fillPair(text.failed, { status: result.status }), "error"); return; }
    if (error.code === "unauthorized") {
      window.location.assign(data.urls.sign_in);   // the sign-in ran out (a long lunch): sign in, back to this counter
    } else if (error.code === "just_called") {
      toast(hubMessage(error), "info");              // a reflex second press: nothing happened
    } else if (error.code === "arrival_unknown") {
      openArrival();
    } else if (error.code === "counter_taken") {
      showHeld(hubMessage(error));
      toast(hubMessage(error), "error");
    } else if (error.code === "nothing_to_undo" || error.code === "cannot_undo") {
      toast(hubMessage(error), "warn");
    } else {
      toast(hubMessage(error), "error");
    }
  }

  // -- the arrival question: B came (done), V absent, Esc never mind --------------------------------------
  function openArrival() {
    const current = desk && desk.current;
    if (!current) return;
    arrival = { number: current.number };
    $("arrival-question").textContent = HallLive.fill(text.arrival_question, { number: current.number });
    $("arrival-prompt").hidden = false;
  }

  function closeArrival() {
    arrival = null;
    $("arrival-prompt").hidden = true;
  }

  function answerArrival(arrived) {
    if (!arrival) return;
    closeArrival();
    act("call-next", { arrived });
  }

  $("arrival-yes").addEventListener("click", () => answerArrival(true));
  $("arrival-no").addEventListener("click", () => answerArrival(false));
  $("arrival-cancel").addEventListener("click", closeArrival);

  // -- help ---------------------------------------------------------------------------------------------------
  function toggleHelp(open) {
    const show = open === undefined ? $("help").hidden : open;
    $("help").hidden = !show;
    $("help-toggle").setAttribute("aria-expanded", String(show));
  }
  $("help-toggle").addEventListener("click", (event) => { toggleHelp(); event.currentTarget.blur(); });
  $("help-close").addEventListener("click", () => toggleHelp(false));

  // -- the number box (G): digits only, Enter calls and gives the keys back, Esc leaves -------------------
  function allowedInBox(key) {
    if (/^[0-9]$/.test(key)) return true;
    // a service's letter prefix (B001), first
    return box.selectionStart === 0 && prefixes.includes(key.toUpperCase());
  }

  box.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey) return;   // Ctrl+Z: undo, as everywhere
    event.stopPropagation();
    if (event.key === "Enter") {
      event.preventDefault();
      box.blur();
      if (box.value.trim()) act("call"); else toast(text.type_number, "warn");
    } else if (event.key === "Escape") {
      event.preventDefault();
      box.value = "";
      box.blur();
    } else if (event.key.length === 1) {
      if (!allowedInBox(event.key)) event.preventDefault();
      else if (!/^[0-9]$/.test(event.key)) {        // the prefix, in capitals
        event.preventDefault();
        box.setRangeText(event.key.toUpperCase(), box.selectionStart, box.selectionEnd, "end");
      }
    }
  });
  box.addEventListener("input", () => {             // pasted text: keep what a number may hold
    const cleaned = box.value.toUpperCase().replace(/[^0-9A-Z]/g, "")
      .replace(/^([A-Z]?)(.*)$/, (whole, letter, rest) => (prefixes.includes(letter) ? letter : "") + rest.replace(/[^0-9]/g, ""));
    if (cleaned !== box.value) box.value = cleaned;
  });

  // -- buttons and keys -------------------------------------------------------------------------------------
  document.querySelectorAll("button.action").forEach((button) => {
    button.addEventListener("click", () => {
      button.blur();                                  // the keys stay with the page
      if (button.dataset.action === "call" && !box.value.trim()) { box.focus(); return; }
      act(button.dataset.action);
    });
  });
  // -- the service chooser (C): ↑ ↓ pick, Enter transfers and gives the keys back, Esc leaves -------------
  const chooser = $("transfer-service");
  chooser.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    event.stopPropagation();
    if (event.key === "Enter") {
      event.preventDefault();
      chooser.blur();
      if (!event.repeat) act("transfer");
    } else if (event.key === "Escape") {
      event.preventDefault();
      chooser.blur();
    } else if (event.key.length === 1 && event.key.toLowerCase() === "c") {
      event.preventDefault();                         // a reflex second C: no jump to a service starting with C
    }
  });

  document.addEventListener("keydown", (event) => {
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if ((event.ctrlKey || event.metaKey) && !event.altKey && key === "z") {
      if (event.target.matches("textarea")) return;
      event.preventDefault();
      if (!event.repeat) act("undo");
      return;
    }
    if (event.ctrlKey || event.altKey || event.metaKey || event.repeat) return;
    if (arrival) {                                    // the question takes B, V and Esc; nothing else
      event.preventDefault();
      if (key === "b") answerArrival(true);
      else if (key === "v") answerArrival(false);
      else if (key === "Escape") closeArrival();
      return;
    }
    if (!$("help").hidden && (key === "Escape" || key === "?")) { event.preventDefault(); toggleHelp(false); return; }
    if (event.target.matches("input, select, textarea")) return;
    if (event.target.closest("#take-over")) return;   // the take-over confirmation's own keys
    if (key === "?") { event.preventDefault(); toggleHelp(); return; }
    const button = document.querySelector(`button.action[data-key="${key}"]`);
    if (!button) return;
    event.preventDefault();
    if (button.dataset.action === "call") {          // G: into the number box
      if (blocked("call")) { act("call"); return; }
      box.focus();
      box.select();
      return;
    }
    if (button.dataset.action === "transfer" && !blocked("transfer") && desk && desk.current) {   // C: choose first
      chooser.focus();
      toast(text.choose_service, "info");
      return;
    }
    act(button.dataset.action);
  });

  setButtons();
  setInterval(render, 1000);
  HallLive.connect({
    room: `counter:${counter}`,
    badge: "connection",
    labels: text.connection,
    onStatus: setConnection,
    on: {
      counter_state: (payload) => acceptDesk(payload.counter),
    },
  });
})();
