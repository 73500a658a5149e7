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
// Print buttons need this script; without it they stay hidden and the browser's own print
// serves.
document.querySelectorAll("[data-print][hidden]").forEach(function (el) { el.hidden = false; });
// "Offices near me" asks the browser for the position and searches from it; refused or
// unavailable, it says so and the city field still works.
(function () {
  var button = document.getElementById("near-me");
  if (!button || !navigator.geolocation) return;
  button.hidden = false;
  var status = document.getElementById("near-me-status");
  button.addEventListener("click", function () {
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (p) {
      var form = button.form;
      form.querySelector("#near-lat").value = p.coords.latitude.toFixed(5);
      form.querySelector("#near-lon").value = p.coords.longitude.toFixed(5);
      var place = form.querySelector("input[name=place]");
      if (place) place.value = "";
      form.submit();
    }, function () {
      button.disabled = false;
      if (status) status.textContent = button.getAttribute("data-error");
    }, { timeout: 10000, maximumAge: 600000 });
  });
})();
// A search box marked data-live-search="#target" redraws the target from the server's own
// answer as the person types: the same page, fetched with the typed query.
(function () {
  var input = document.querySelector("input[data-live-search]");
  if (!input || !window.fetch || !window.DOMParser) return;
  var selector = input.getAttribute("data-live-search");
  var timer = null;
  var asked = 0;
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var form = input.form;
      var params = new URLSearchParams(new FormData(form));
      var url = form.getAttribute("action") + "?" + params.toString();
      var mine = ++asked;
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        if (mine !== asked) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector(selector);
        var here = document.querySelector(selector);
        if (fresh && here) here.replaceWith(fresh);
      }).catch(function () {});
    }, 250);
  });
})();
// A form marked data-busy takes seconds to answer (the identity check asks two agencies):
// once sent, its button is held and the form says what is happening, so nobody sends it
// twice or wonders whether it went.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form || !form.hasAttribute || !form.hasAttribute("data-busy")) return;
  if (form.getAttribute("aria-busy") === "true") {
    event.preventDefault();
    return;
  }
  form.setAttribute("aria-busy", "true");
  var note = form.querySelector(".busy-note");
  if (note) note.textContent = form.getAttribute("data-busy");
  form.querySelectorAll("button[type=submit]").forEach(function (b) {
    b.setAttribute("aria-disabled", "true");
    b.classList.add("is-busy");
  });
});
