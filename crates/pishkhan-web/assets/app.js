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
