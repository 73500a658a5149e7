// The operator console follows the office board stream: on every change it fetches the live
// panel (server-rendered, same template) and swaps it in. One stream per console; no polling.
(function () {
  var root = document.getElementById("console-live");
  if (!root || !window.EventSource || !window.fetch) return;
  var first = true;
  var busy = false;
  var again = false;
  function refresh() {
    if (busy) { again = true; return; }
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
        if (again) { again = false; refresh(); }
      });
  }
  var source = new EventSource(root.dataset.stream);
  source.addEventListener("board", function () {
    // The first event is the board as the page already shows it.
    if (first) { first = false; return; }
    refresh();
  });
})();
