// The office TV board: one server-sent-events connection; every change redraws the board.
(function () {
  var root = document.getElementById("board");
  if (!root || !window.EventSource) return;
  var persian = document.documentElement.lang === "fa";
  var digits = "۰۱۲۳۴۵۶۷۸۹";
  function local(s) {
    s = String(s);
    return persian ? s.replace(/[0-9]/g, function (d) { return digits[d]; }) : s;
  }
  function item(text, cls) {
    var li = document.createElement("li");
    if (cls) li.className = cls;
    li.textContent = text;
    return li;
  }
  function render(board) {
    var serving = document.getElementById("board-serving");
    var next = document.getElementById("board-next");
    serving.textContent = "";
    board.now_serving.forEach(function (n) {
      var li = document.createElement("li");
      var c = document.createElement("span");
      c.className = "board-counter";
      c.textContent = root.dataset.labelCounter + " " + local(n.counter);
      var t = document.createElement("span");
      t.className = "board-ticket";
      t.textContent = local(n.ticket);
      li.appendChild(c);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(t);
      serving.appendChild(li);
    });
    if (!board.now_serving.length) serving.appendChild(item(root.dataset.labelEmpty, "muted"));
    next.textContent = "";
    board.next_up.forEach(function (t) { next.appendChild(item(local(t), "board-ticket")); });
    document.getElementById("board-waiting").textContent = local(board.waiting);
    root.dataset.updated = String(Date.now());
  }
  var source = new EventSource(root.dataset.stream);
  source.addEventListener("board", function (e) {
    if (e.data) render(JSON.parse(e.data));
  });
})();
