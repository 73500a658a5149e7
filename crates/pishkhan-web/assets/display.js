// The office TV board. The server renders the whole board; this script keeps it live from one
// server-sent-events connection, ticks the clock, shows each new call (or recall) as a banner
// for a few seconds, and chimes when sound was turned on on this screen.
(function () {
  "use strict";
  var root = document.getElementById("board");
  if (!root) return;
  var data = root.dataset;
  var persian = document.documentElement.lang === "fa";
  var digits = "۰۱۲۳۴۵۶۷۸۹";
  var SOUND_KEY = "pishkhan.board.sound";
  // Iran has kept +03:30 all year since 2022.
  var TEHRAN_OFFSET_MS = 3.5 * 3600 * 1000;
  // The service panel lists this many services by name; the rest are summed in one row, as
  // the server renders it.
  var SERVICE_ROWS = 6;

  function local(s) {
    s = String(s);
    return persian ? s.replace(/[0-9]/g, function (d) { return digits[d]; }) : s;
  }
  function parsed(s, fallback) {
    try { return JSON.parse(s); } catch (e) { return fallback; }
  }
  function byId(id) { return document.getElementById(id); }
  function node(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function bdi(text, cls) { return node("bdi", cls, local(text)); }
  function arrow() {
    var a = node("span", "tv-arrow");
    a.setAttribute("aria-hidden", "true");
    return a;
  }
  function counterLabel(n) {
    var s = node("span", "tv-counter", data.labelCounter + " ");
    s.appendChild(bdi(n));
    return s;
  }

  var names = parsed(data.services, {});
  var months = parsed(data.months, []);
  var weekdays = parsed(data.weekdays, []);
  var announceMs = Number(data.announceMs) || 8000;

  // ---- the clock: the server's time (read once at load), ticking on this screen ----------
  var skewMs = Number(data.nowMs) ? Number(data.nowMs) - Date.now() : 0;
  function tehranNow() { return new Date(Date.now() + skewMs + TEHRAN_OFFSET_MS); }
  function two(n) { return n < 10 ? "0" + n : String(n); }
  var clock = byId("board-clock");
  function tick() {
    var d = tehranNow();
    var text = local(two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()));
    if (clock.textContent !== text) clock.textContent = text;
  }
  tick();
  setInterval(tick, 1000);

  // Today, Jalali, and its weekday (0 is Sunday). At midnight the stream brings the next day;
  // its weekday follows from today's. After a longer gap (the screen was cut off for days),
  // the page is fetched anew rather than guessed.
  var day = (data.day || "").split("-").map(Number);
  var weekday = Number(data.weekday);
  function isNextDay(a, b) {
    if (b[0] === a[0] && b[1] === a[1]) return b[2] === a[2] + 1;
    if (b[2] !== 1) return false;
    return (b[0] === a[0] && b[1] === a[1] + 1) || (b[0] === a[0] + 1 && b[1] === 1 && a[1] === 12);
  }
  function showDay(iso) {
    var next = (iso || "").split("-").map(Number);
    if (next.length !== 3 || next.join() === day.join()) return;
    if (!isNextDay(day, next)) {
      fetch(window.location.href).then(function (r) { if (r.ok) window.location.reload(); },
        function () { /* the next board tries again */ });
      return;
    }
    day = next;
    weekday = (weekday + 1) % 7;
    byId("board-date").textContent =
      local((weekdays[weekday] || "") + " " + next[2] + " " + (months[next[1] - 1] || next[1]) + " " + next[0]);
  }

  // ---- sound: off until someone here turns it on; the choice is remembered ---------------
  var soundButton = byId("board-sound");
  var chime = window.Audio ? new Audio("/static/chime.wav") : null;
  if (chime) chime.preload = "auto";
  var chimes = 0;
  // Sound was wanted, but the browser refused to play before someone clicked on this page.
  var blocked = false;
  function soundWanted() {
    try { return window.localStorage.getItem(SOUND_KEY) === "on"; } catch (e) { return false; }
  }
  function remember(on) {
    try { window.localStorage.setItem(SOUND_KEY, on ? "on" : "off"); } catch (e) { /* private mode */ }
  }
  function drawSound() {
    var on = soundWanted() && !blocked;
    soundButton.textContent = on
      ? data.labelSound + ": " + data.labelSoundOn
      : data.labelSoundEnable;
    soundButton.setAttribute("aria-pressed", on ? "true" : "false");
    soundButton.classList.toggle("tv-sound-on", on);
    soundButton.hidden = !chime;
  }
  function ring() {
    if (!chime || !soundWanted()) return;
    chime.currentTime = 0;
    var played = chime.play();
    var done = function () {
      blocked = false;
      chimes += 1;
      // Whoever checks the screen (and the tests) can read how often it chimed.
      data.chimes = String(chimes);
      drawSound();
    };
    if (played && played.then) {
      played.then(done, function () { blocked = true; drawSound(); });
    } else {
      done();
    }
  }
  soundButton.addEventListener("click", function () {
    var turnOn = !soundWanted() || blocked;
    remember(turnOn);
    blocked = false;
    drawSound();
    // The click itself lets the browser play: a short chime confirms the sound works.
    if (turnOn) ring();
  });
  drawSound();

  // ---- the banner: each new call in turn, oldest first -----------------------------------
  var banner = byId("board-announce");
  var pending = [];
  var showing = false;
  function announceNext() {
    if (showing || !pending.length) return;
    var c = pending.shift();
    showing = true;
    byId("board-announce-ticket").textContent = local(c.ticket);
    byId("board-announce-counter").textContent = local(c.counter);
    banner.hidden = false;
    // Screen readers hear the call from a live region that is always in the page.
    byId("board-said").textContent = data.labelTicket + " " + local(c.ticket) + (persian ? "، " : ", ") +
      data.labelCounter + " " + local(c.counter);
    ring();
    // A queue of calls shortens each banner, so none waits long behind another.
    setTimeout(function () {
      banner.hidden = true;
      showing = false;
      announceNext();
    }, pending.length ? announceMs / 2 : announceMs);
  }
  var latest = byId("board-latest");
  function key(c) { return c.ticket + "@" + c.called_at; }
  // The calls the board shows now. A call not among them is new (a recall has a new time, so
  // a new key); the list is newest first, so a call that drops off never comes back.
  var shown = {};
  Array.prototype.forEach.call(root.querySelectorAll("[data-call]"), function (e) {
    shown[e.dataset.call] = true;
  });
  function announceNew(calls) {
    var fresh = calls.filter(function (c) { return !shown[key(c)]; });
    shown = {};
    calls.forEach(function (c) { shown[key(c)] = true; });
    fresh.reverse().forEach(function (c) { pending.push(c); });
    announceNext();
  }

  // ---- redrawing from the stream ----------------------------------------------------------
  function replace(list, items, empty, emptyClass) {
    list.textContent = "";
    items.forEach(function (li) { list.appendChild(li); });
    if (!items.length && empty) list.appendChild(node("li", emptyClass, empty));
  }
  function drawLatest(c) {
    latest.textContent = "";
    latest.classList.toggle("tv-latest-empty", !c);
    if (c) latest.dataset.call = key(c);
    else delete latest.dataset.call;
    if (!c) {
      latest.appendChild(node("p", "tv-empty", data.labelNoCalls));
      return;
    }
    var t = node("p", "tv-latest-ticket");
    t.appendChild(node("span", "visually-hidden", data.labelTicket + " "));
    var tb = bdi(c.ticket);
    tb.id = "board-latest-ticket";
    t.appendChild(tb);
    var k = node("p", "tv-latest-counter");
    k.appendChild(arrow());
    k.appendChild(document.createTextNode(data.labelCounter + " "));
    var kb = bdi(c.counter);
    kb.id = "board-latest-counter";
    k.appendChild(kb);
    latest.appendChild(t);
    latest.appendChild(k);
  }
  function serviceRows(waiting) {
    var rows = waiting.slice().sort(function (a, b) {
      return b.waiting - a.waiting || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0);
    });
    var listed = rows.slice(0, SERVICE_ROWS).map(function (s) {
      return { name: names[s.service] || s.service, waiting: s.waiting };
    });
    var rest = rows.slice(SERVICE_ROWS);
    if (rest.length) {
      listed.push({
        name: data.labelOther.replace("{n}", local(rest.length)),
        waiting: rest.reduce(function (n, s) { return n + s.waiting; }, 0)
      });
    }
    return listed.map(function (s) {
      var li = node("li");
      li.appendChild(node("span", "tv-service-name", s.name));
      li.appendChild(bdi(s.waiting, "tv-service-count"));
      return li;
    });
  }
  // "W-001 ← Counter 1", as the server renders a call.
  function callLine(c) {
    var li = node("li");
    li.appendChild(bdi(c.ticket, "tv-ticket"));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(arrow());
    li.appendChild(document.createTextNode(" "));
    li.appendChild(counterLabel(c.counter));
    return li;
  }
  function render(board) {
    var calls = board.recent_calls || [];
    drawLatest(calls[0]);
    replace(byId("board-recent"), calls.slice(1).map(function (c) {
      var li = callLine(c);
      li.dataset.call = key(c);
      return li;
    }));
    byId("board-waiting").textContent = local(board.waiting);
    replace(byId("board-services"), serviceRows(board.waiting_by_service || []),
      data.labelNoneWaiting, "tv-none");
    var next = board.next_up || [];
    replace(byId("board-next"), next.map(function (t) {
      var li = node("li");
      li.appendChild(bdi(t));
      return li;
    }));
    byId("board-next-box").hidden = !next.length;
    var paused = (board.paused_counters || []).map(function (n) {
      var li = node("li", "tv-paused");
      li.appendChild(counterLabel(n));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(node("span", "tv-break", data.labelOnBreak));
      return li;
    });
    replace(byId("board-serving"), (board.now_serving || []).map(callLine).concat(paused),
      data.labelIdle, "tv-none");
    showDay(board.day);
    announceNew(calls);
    data.updated = String(Date.now());
  }

  if (!window.EventSource) return;
  var offline = byId("board-offline");
  var source = new EventSource(data.stream);
  source.addEventListener("open", function () { offline.hidden = true; });
  source.addEventListener("error", function () { offline.hidden = false; });
  source.addEventListener("board", function (e) {
    offline.hidden = true;
    if (e.data) render(JSON.parse(e.data));
  });
})();
