// The hub's live connection, shared by every page that follows the hall over Socket.IO
// (hall screen, kiosk, counter, dashboard, rating tablet, ticket tracking).
//
//   const live = HallLive.connect({
//     room: "counter:2",            // the room to join (see hallserver/web/push.py)
//     token: null,                  // a device token, when the page holds one
//     badge: "connection",          // element (or its id) showing the connection; optional
//     labels: { connecting, online, offline, refused },   // its texts, from the page's data block
//     seq: -1,                      // the seq of the snapshot the page was rendered with
//     onState(state) {},            // the hall snapshot answering every join (and reconfigurations)
//     onJoin(ack) {},               // the join was accepted
//     onStatus(status, error) {},   // "connecting" | "online" | "offline" | "refused"
//     on: { counter_state(payload) {}, called(payload) {} },   // pushes, behind the seq guard
//   });
//
// Every join is answered with a `state` snapshot; its seq becomes the page's seq, and a push
// whose seq is older than the page's seq is dropped (it was sent before what the page shows).
// After a lost connection Socket.IO reconnects by itself and the page joins again, which
// resyncs it from the fresh snapshot. A hub that falls silent is noticed within its ping
// window (pingInterval + pingTimeout, sent by the hub), a hub that drops the page closes
// its connection: either way the page reconnects. The badge gets data-state and its label; <body> gets
// data-connection with the same status.
(function () {
  "use strict";

  /** The JSON data block `<script type="application/json" id=...>` of the page. */
  function data(id) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : {};
  }

  /** "Quầy {counter}" + {counter: 2} → "Quầy 2". */
  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, (whole, key) => (key in values ? values[key] : whole));
  }

  /** Show a label: "text", or ["Tiếng Việt", "English"] with the English smaller. */
  function label(element, value) {
    if (Array.isArray(value)) {
      const english = document.createElement("span");
      english.className = "en";
      english.textContent = value[1];
      element.replaceChildren(document.createTextNode(`${value[0]} `), english);
    } else {
      element.textContent = value === null || value === undefined ? "" : value;
    }
  }

  /** POST JSON with the page's CSRF token; resolves to {status, ok, answer} (answer: parsed JSON or null). */
  async function postJSON(url, body) {
    const meta = document.querySelector('meta[name="csrf-token"]');
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": meta ? meta.content : "", "Accept": "application/json" },
      body: JSON.stringify(body),
    });
    let answer = null;
    try { answer = await response.json(); } catch (ignored) { answer = null; }
    return { status: response.status, ok: response.ok, answer };
  }

  function connect(options) {
    const labels = options.labels || {};
    const badge = typeof options.badge === "string" ? document.getElementById(options.badge) : options.badge;
    const live = { seq: options.seq === undefined ? -1 : options.seq, status: null, error: null, socket: null };

    function setStatus(status, error) {
      live.status = status;
      live.error = error || null;
      document.body.dataset.connection = status;
      if (badge) {
        badge.dataset.state = status;
        // refused without its own label: the hub's reason, else the offline label
        const fallback = status === "refused" && error && error.message ? error.message : labels.offline;
        label(badge, labels[status] !== undefined ? labels[status] : fallback);
      }
      if (options.onStatus) options.onStatus(status, live.error);
    }

    /** The seq guard: false for a push older than what the page already shows. */
    function fresh(payload) {
      if (!payload || typeof payload.seq !== "number") return true;
      if (payload.seq < live.seq) return false;
      live.seq = payload.seq;
      return true;
    }

    setStatus("connecting");
    const socket = io({ transports: ["websocket", "polling"], reconnectionDelayMax: 5000 });
    live.socket = socket;
    function joinRequest() {
      const join = { room: options.room };
      if (options.token) join.token = options.token;
      return join;
    }
    /** Join again on the open connection: the hub answers with a fresh `state` (onState). */
    live.rejoin = () => { if (live.status === "online") socket.emit("join", joinRequest()); };
    socket.on("connect", () => {
      socket.emit("join", joinRequest(), (ack) => {
        if (ack && ack.ok) {
          setStatus("online");
          if (options.onJoin) options.onJoin(ack);
        } else {
          setStatus("refused", ack && ack.error);
        }
      });
    });
    socket.on("disconnect", (reason) => {
      setStatus("offline");
      // Dropped by the hub itself (a revoked token, a session past its hours): Socket.IO does
      // not retry those, so ask again; the join then says why, or the page is back.
      if (reason === "io server disconnect") socket.connect();
    });
    socket.on("connect_error", () => { if (live.status !== "offline") setStatus("offline"); });
    socket.io.on("reconnect_attempt", () => { if (live.status !== "offline") setStatus("offline"); });
    // A snapshot is the whole truth at its seq: it resets the guard, even backwards.
    socket.on("state", (state) => {
      if (state && typeof state.seq === "number") live.seq = state.seq;
      if (options.onState) options.onState(state);
    });
    Object.entries(options.on || {}).forEach(([event, handler]) => {
      socket.on(event, (payload) => { if (fresh(payload)) handler(payload); });
    });
    return live;
  }

  window.HallLive = { connect, data, fill, label, postJSON };
})();
