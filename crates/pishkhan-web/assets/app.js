// Progressive enhancement only: every page works without this file.
// Behaviour is bound here, never in inline handlers: the pages' CSP (script-src 'self')
// refuses those.
// Filter forms, and selects marked data-autosubmit (the console's counter), submit
// themselves when a select changes, so browsing needs fewer clicks.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (!el || el.tagName !== "SELECT" || !el.form) return;
  if (el.form.classList.contains("filters") || el.hasAttribute("data-autosubmit")) {
    var page = el.form.querySelector("input[name=page]");
    if (page) page.value = "1";
    el.form.submit();
  }
});
// Buttons marked data-print print the page (the identity receipt).
document.addEventListener("click", function (event) {
  var el = event.target && event.target.closest ? event.target.closest("[data-print]") : null;
  if (el) window.print();
});
// A payment the card processor has not decided yet (data-refresh-s on its page) reloads
// itself every few seconds until its status is known; the server stops marking it then.
(function () {
  var el = document.querySelector("[data-refresh-s]");
  if (!el) return;
  var s = parseInt(el.getAttribute("data-refresh-s"), 10);
  if (!(s > 0 && s < 3600)) return;
  window.setTimeout(function () { window.location.reload(); }, s * 1000);
})();
// "Pay online": the payment's page goes on to the card processor's page at once. Replacing
// the page keeps the back button from bouncing the citizen there again.
(function () {
  var go = document.querySelector("a[data-go]");
  if (go && go.href) window.location.replace(go.href);
})();
