// The operator console. Without this script every form still works: the no-show and cancel
// buttons open a confirmation page, and the service search filters on the server.
//
// - The live panel follows the office board stream: on every change it fetches the panel
//   (server-rendered, same template) and swaps it in. One stream per console; no polling.
// - A form marked data-confirm asks in place before it posts (instead of the confirmation page).
// - The walk-in service list filters as the operator types, with Persian text folded the way
//   the server folds it (Arabic yeh and kaf, zero-width non-joiners, spaces, digits).
// - A button marked data-print prints the page (the thermal ticket).
(function () {
  var root = document.getElementById("console-live");
  var asking = false;
  var busy = false;
  var again = false;

  function refresh() {
    if (!root) return;
    // Redrawing now would drop the question the operator is answering.
    if (busy || asking) { again = true; return; }
    busy = true;
    fetch(root.dataset.live, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) {
          root.innerHTML = html;
          root.dataset.updated = String(Date.now());
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again && !asking) { again = false; refresh(); }
      });
  }

  if (root && window.EventSource && window.fetch) {
    var first = true;
    var source = new EventSource(root.dataset.stream);
    source.addEventListener("board", function () {
      // The first event is the board as the page already shows it.
      if (first) { first = false; return; }
      refresh();
    });
  }

  function hidden(form, name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }

  function closeAsk(box) {
    if (box && box.parentNode) box.parentNode.removeChild(box);
    asking = false;
    if (again) { again = false; refresh(); }
  }

  // Forms are found through the document, so panels swapped in later ask too.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form || !form.dataset || !form.dataset.confirm || form.dataset.confirmed) return;
    e.preventDefault();
    if (form.parentNode.querySelector(".confirm-inline")) return;
    asking = true;
    var box = document.createElement("div");
    box.className = "confirm-inline";
    box.setAttribute("role", "alertdialog");
    var text = document.createElement("p");
    text.className = "confirm-question";
    text.textContent = form.dataset.confirm;
    box.setAttribute("aria-label", form.dataset.confirm);
    var yes = document.createElement("button");
    yes.type = "button";
    yes.className = "btn btn-primary confirm-yes";
    yes.textContent = form.dataset.confirmYes;
    var no = document.createElement("button");
    no.type = "button";
    no.className = "btn btn-secondary confirm-no";
    no.textContent = form.dataset.confirmNo;
    box.appendChild(text);
    box.appendChild(yes);
    box.appendChild(no);
    form.parentNode.insertBefore(box, form.nextSibling);
    no.addEventListener("click", function () {
      closeAsk(box);
      var button = form.querySelector("button");
      if (button) button.focus();
    });
    yes.addEventListener("click", function () {
      var post = document.createElement("form");
      post.method = "post";
      post.action = form.dataset.post;
      hidden(post, "csrf", form.dataset.csrf);
      Array.prototype.forEach.call(form.querySelectorAll("input[type=hidden]"), function (i) {
        if (i.name !== "lang") hidden(post, i.name, i.value);
      });
      post.dataset.confirmed = "1";
      document.body.appendChild(post);
      post.submit();
    });
    no.focus();
  });

  // Mirrors pishkhan_domain::normalize::normalize_compact for what a desk types.
  function fold(s) {
    var map = { "\u064A": "\u06CC", "\u0649": "\u06CC", "\u0626": "\u06CC", "\u0643": "\u06A9",
      "\u0629": "\u0647", "\u06C0": "\u0647", "\u0623": "\u0627", "\u0625": "\u0627",
      "\u0671": "\u0627", "\u0622": "\u0627", "\u0624": "\u0648" };
    var out = "";
    for (var i = 0; i < s.length; i++) {
      var c = s.charAt(i);
      var code = s.charCodeAt(i);
      if (map[c]) { out += map[c]; continue; }
      if ((code >= 0x064B && code <= 0x065F) || code === 0x0670 || code === 0x0640) continue;
      if (code === 0x200E || code === 0x200F || code === 0x061C || code === 0xFEFF) continue;
      if (code === 0x200B || code === 0x200C || code === 0x200D || code === 0x00A0 || /\s/.test(c)) continue;
      if (code >= 0x06F0 && code <= 0x06F9) { out += String(code - 0x06F0); continue; }
      if (code >= 0x0660 && code <= 0x0669) { out += String(code - 0x0660); continue; }
      out += c.toLowerCase();
    }
    return out;
  }

  var search = document.getElementById("service-search");
  var select = document.getElementById("walk-in-service");
  var none = document.getElementById("no-service-match");
  if (search && select) {
    var filter = function () {
      var q = fold(search.value);
      var firstShown = null;
      Array.prototype.forEach.call(select.options, function (o) {
        var show = q === "" || (o.dataset.search || "").indexOf(q) !== -1;
        o.hidden = !show;
        o.disabled = !show;
        if (show && !firstShown) firstShown = o;
      });
      var current = select.options[select.selectedIndex];
      if (firstShown && (!current || current.hidden)) firstShown.selected = true;
      if (none) none.hidden = firstShown !== null;
    };
    search.addEventListener("input", filter);
    // Enter in the search box picks the first match instead of reloading the page.
    search.form.addEventListener("submit", function (e) {
      e.preventDefault();
      filter();
      select.focus();
    });
    if (search.value) filter();
  }

  var print = document.querySelector("[data-print]");
  if (print) print.addEventListener("click", function () { window.print(); });
})();
