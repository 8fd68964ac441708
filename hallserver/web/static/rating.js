// The counter's rating tablet: asks about the ticket just finished, resets itself.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const data = HallLive.data("rating-data");
  const text = data.text;
  const counter = data.counter;
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
    const { ok, status, answer } = await HallLive.postJSON(data.urls.rate, body);
    if (ok) { show("thanks"); return; }
    $("message").textContent = answer && answer.error ? answer.error.message : HallLive.fill(text.failed, { status });
    $("message").hidden = false;
  });

  HallLive.connect({
    room: `rating:${counter}`,
    badge: "connection",
    labels: text.connection,   // refused: the hub's reason is shown
    on: { rate: (payload) => ask(payload.ticket) },
  });
  show("idle");
})();
