// Booking pages and /lay-so: switch days without reloading, a new check picture, one press one
// form, print the confirmation, confirm a cancellation.
// Every page works without this script (day tabs are links, forms post normally).
(function () {
  "use strict";
  const tabs = document.getElementById("day-tabs");
  if (tabs) {
    tabs.addEventListener("click", (event) => {
      const link = event.target.closest("a[data-day]");
      if (!link) return;
      event.preventDefault();
      tabs.querySelectorAll("a[data-day]").forEach((tab) => tab.setAttribute("aria-current", String(tab === link)));
      document.querySelectorAll("fieldset.day").forEach((day) => { day.hidden = day.dataset.day !== link.dataset.day; });
      history.replaceState(null, "", link.href);
    });
  }
  // "Đổi hình khác": a new check picture without losing what was typed (without the script,
  // the link reloads the page; so does a refusal). Without a network, reloading would lose the
  // form for the browser's error page: the page says so and keeps everything.
  const newChallenge = document.getElementById("new-challenge");
  if (newChallenge) {
    const failed = document.getElementById("challenge-failed");
    newChallenge.addEventListener("click", (event) => {
      event.preventDefault();
      failed.hidden = true;
      fetch(newChallenge.dataset.url, { headers: { Accept: "application/json" } })
        .then((answer) => {
          if (!answer.ok) { window.location.reload(); return; }
          answer.json().then((body) => {
            document.getElementById("challenge").value = body.challenge;
            document.getElementById("challenge-image").src = body.image;
            const input = document.getElementById("answer");
            input.value = "";
            input.focus();
          });
        })
        .catch(() => { failed.hidden = false; });
    });
  }
  // One press sends one form (form[data-once]: a booking, a code, a number from home): on a slow
  // network a second tap while the page loads does nothing. Back to the page, it works again.
  const onceForms = document.querySelectorAll("form[data-once]");
  onceForms.forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "true";
      const button = form.querySelector("button[type=submit]");
      window.setTimeout(() => { button.disabled = true; }, 0);   // after the form took the button's value
    });
  });
  window.addEventListener("pageshow", () => {
    onceForms.forEach((form) => {
      delete form.dataset.sent;
      form.querySelector("button[type=submit]").disabled = false;
    });
  });
  const print = document.getElementById("print");
  if (print) print.addEventListener("click", () => window.print());
  document.querySelectorAll("button[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
})();
