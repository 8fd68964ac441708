// The counter's rating tablet: asks about the ticket just finished, resets itself.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const counter = Number(document.querySelector("main").dataset.counter);
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const RESET_AFTER_MS = 60000;
  let current = null;
  let resetTimer = null;

  function show(which) {
    ["idle", "ask", "thanks"].forEach((id) => { $(id).hidden = id !== which; });
    clearTimeout(resetTimer);
    if (which !== "idle") resetTimer = setTimeout(() => show("idle"), which === "thanks" ? 4000 : RESET_AFTER_MS);
  }

  function ask(ticket) {
    current = ticket;
    $("ask").reset();
    $("ask-number").textContent = ticket.number;
    $("message").hidden = true;
    show("ask");
  }

  $("ask").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData($("ask"));
    const body = { number: current.number, score: Number(form.get("score")), reasons: form.getAll("reasons"),
                   comment: form.get("comment") || "" };
    const response = await fetch(`/danh-gia/${counter}`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, "Accept": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.ok) { show("thanks"); return; }
    const answer = await response.json().catch(() => null);
    $("message").textContent = answer && answer.error ? answer.error.message : `Lỗi ${response.status}`;
    $("message").hidden = false;
  });

  const socket = io({ transports: ["websocket", "polling"] });
  socket.on("connect", () => socket.emit("join", { room: `rating:${counter}` }, (ack) => {
    $("connection").dataset.state = ack && ack.ok ? "online" : "offline";
    $("connection").textContent = ack && ack.ok ? "✓" : (ack && ack.error ? ack.error.message : "—");
  }));
  socket.on("disconnect", () => { $("connection").dataset.state = "offline"; $("connection").textContent = "Mất kết nối"; });
  socket.on("rate", (payload) => ask(payload.ticket));
  show("idle");
})();
