// The counter's rating tablet: asks about the ticket just finished, resets itself.
//
// One tap is enough: "Rất hài lòng" and "Hài lòng" send at once; "Bình thường" and
// "Không hài lòng" open the optional reasons and comment with "Gửi đánh giá" (a chosen score
// is still sent if the citizen walks away: a minute without a tap or a key on the question).
// Every handler is guarded: an unexpected push or a failed request shows a message (until the
// question is left), never stops the tablet from asking the next citizen.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const data = HallLive.data("rating-data");
  const text = data.text || {};
  const counter = data.counter;
  const RESET_AFTER_MS = 60000;
  const THANKS_MS = 4000;
  const SEND_AT_ONCE = [3, 4];   // satisfied: nothing more to ask
  let current = null;            // {number} of the ticket being asked about
  let chosen = null;             // the score tapped, until sent
  let sending = false;
  let resetTimer = null;

  function guarded(what, handler) {
    return function (...args) {
      try {
        const result = handler.apply(this, args);
        if (result && typeof result.catch === "function") result.catch((error) => report(what, error));
        return result;
      } catch (error) {
        report(what, error);
        return undefined;
      }
    };
  }

  function report(what, error) {
    if (window.console) console.error(`rating tablet: ${what}`, error);
  }

  function show(which) {
    ["idle", "ask", "thanks"].forEach((id) => { const element = $(id); if (element) element.hidden = id !== which; });
    document.body.dataset.screen = which;
    if (which !== "ask") setMessage("");   // "not sent" belongs to the question, never under the thanks
    clearTimeout(resetTimer);
    if (which === "thanks") resetTimer = setTimeout(guarded("reset", () => show("idle")), THANKS_MS);
    if (which === "ask") resetTimer = setTimeout(guarded("timeout", walkedAway), RESET_AFTER_MS);
  }

  /** A citizen still tapping or typing is not gone: the minute starts again. */
  function stillHere() {
    if (document.body.dataset.screen === "ask" && !sending) show("ask");
  }

  function walkedAway() {
    if (chosen !== null && !sending) { send(true); return; }   // a tapped score still counts
    show("idle");
  }

  function setMessage(value) {
    $("message").textContent = value || "";
    $("message").hidden = !value;
  }

  function ask(ticket) {
    if (!ticket || ticket.number === undefined || ticket.number === null) return;  // not a ticket: ignore it
    // the counter finished the next citizen before this one sent: the score tapped still counts
    if (current && current.number !== String(ticket.number) && chosen !== null && !sending) send(true);
    current = { number: String(ticket.number) };
    chosen = null;
    sending = false;
    $("ask").reset();
    $("details").hidden = true;
    document.querySelectorAll(".tablet-score").forEach((button) => {
      button.setAttribute("aria-pressed", "false");
      button.disabled = false;
    });
    const slot = $("ask-number");
    if (slot) slot.textContent = current.number;
    else $("ask-title").textContent = HallLive.fill(text.question || "{number}", { number: current.number });
    setMessage("");
    show("ask");
  }

  function choose(score) {
    if (!current || sending) return;
    chosen = score;
    document.querySelectorAll(".tablet-score").forEach((button) => {
      button.setAttribute("aria-pressed", String(Number(button.dataset.score) === score));
    });
    if (SEND_AT_ONCE.includes(score)) { send(); return; }
    const opening = $("details").hidden;
    $("details").hidden = false;
    if (opening) $("details").scrollIntoView({ block: "start" });   // the reasons and the send button below the fold
    show("ask");   // a fresh minute to pick reasons
  }

  async function send(leaving) {
    if (!current || chosen === null || sending) return;
    sending = true;
    const question = current;
    const form = new FormData($("ask"));
    const body = { number: question.number, score: chosen, reasons: form.getAll("reasons"),
                   comment: form.get("comment") || "" };
    let outcome;
    try {
      outcome = await HallLive.postJSON(data.urls.rate, body);
    } catch (error) {
      outcome = { ok: false, status: 0, answer: null };
    }
    if (current !== question) return;   // the tablet already asks the next citizen
    sending = false;
    const { ok, status, answer } = outcome;
    const code = answer && answer.error ? answer.error.code : null;
    if (ok || code === "already_rated") {
      current = null;
      chosen = null;
      show("thanks");
      return;
    }
    if (leaving) { current = null; chosen = null; show("idle"); return; }
    setMessage(answer && answer.error ? answer.error.message
      : status ? HallLive.fill(text.failed, { status }) : text.unreachable);
    if (!$("ask").hidden) show("ask");
  }

  document.querySelectorAll(".tablet-score").forEach((button) => {
    button.addEventListener("click", guarded("score", () => choose(Number(button.dataset.score))));
  });
  ["input", "pointerdown", "keydown"].forEach((type) => $("ask").addEventListener(type, guarded("still here", stillHere)));
  $("ask").addEventListener("submit", guarded("submit", (event) => {
    event.preventDefault();
    return send();
  }));

  show("idle");
  HallLive.connect({
    room: `rating:${counter}`,
    badge: "connection",
    labels: text.connection,   // refused: the hub's reason is shown
    on: { rate: guarded("rate", (payload) => ask(payload && payload.ticket)) },
  });
})();
