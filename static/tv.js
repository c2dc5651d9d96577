/* wallboard: the TV page.
 *
 * Renders each snapshot into the tiles of templates/_channel.html, ticks the clock and the
 * longest wait between pushes, shows the staleness state (WB.Connection) and the broadcast
 * ticker.  URL parameters: queues=a,b  channel=call|sms  lang=zh-CN|en  (docs/board.md).
 */
(function () {
  "use strict";
  var ctx = WB.pageContext();
  var selection = WB.listParam("queues");
  var chParam = WB.params.get("channel");
  var channels = (chParam === "call" || chParam === "sms") ? [chParam] : WB.CHANNELS.slice();
  var settings = ctx.settings;
  var snapshot = null;
  var agentsView = null;
  var zone = null;
  var asOfMs = null;
  var model = {};      // channel -> WB.selectChannel result for the current snapshot
  var windowLabel = "";

  WB.setLang(WB.pickLang(ctx.lang));
  document.title = WB.t("title_tv");

  // Show only the channels asked for; one channel gets the whole width.
  document.querySelectorAll(".channel").forEach(function (sec) {
    sec.hidden = channels.indexOf(sec.getAttribute("data-channel")) < 0;
  });
  document.getElementById("channels").classList.toggle("single", channels.length === 1);

  // Several queues: agents serving more than one of them must be counted once, which needs
  // the agent list (the snapshot's per-queue counts would count them twice).
  // The whole centre needs only the totals: the compact "summary" view (no per-queue detail),
  // a fraction of the bytes per push; a queue selection needs the full snapshot.
  var views = [selection.length ? "snapshot" : "summary"];
  if (selection.length > 1) views.push("agents");

  var conn = new WB.Connection({
    views: views,
    pushInterval: ctx.pushInterval,
    staleAfter: ctx.staleAfter,
    onMessage: onMessage,
    onState: function () { WB.renderState(conn, zone); }
  });

  function onMessage(msg) {
    if (msg.type === "hello") {
      if (msg.settings && typeof msg.settings === "object") settings = msg.settings;
      if (snapshot) render();
    } else if ((msg.type === "snapshot" || msg.type === "summary") && msg.data) {
      snapshot = msg.data;
      render();
    } else if (msg.type === "agents" && msg.data) {
      agentsView = msg.data;
      if (snapshot) renderAgents();
    } else if (msg.type === "broadcast") {
      setTicker(typeof msg.text === "string" ? msg.text : "");
    }
  }

  function tileOf(channel, metric) {
    return document.querySelector('.channel[data-channel="' + channel + '"] .tile[data-metric="' + metric + '"]');
  }

  function setTile(tile, text, raw, level, sub) {
    if (!tile) return;
    var v = tile.querySelector(".tile-value");
    if (v.textContent !== text) {
      v.textContent = text;
      WB.fitText(v);
    }
    WB.setAttr(v, "data-raw", raw === null || raw === undefined ? "null" : raw);
    WB.setAttr(tile, "data-level", level || "none");
    if (sub !== undefined) WB.setText(tile.querySelector(".tile-sub"), sub);
  }

  function render() {
    zone = snapshot.timezone || null;
    asOfMs = WB.parseTs(snapshot.as_of);
    document.body.setAttribute("data-as-of", snapshot.as_of || "");

    var w = WB.fmtWindow(snapshot.window_s);
    if (w !== windowLabel) {
      windowLabel = w;
      WB.i18nVars.w = w;
      WB.applyI18n(document);
    }

    var missing = [];
    var found = null;
    channels.forEach(function (ch) {
      var sel = WB.selectChannel(snapshot, selection, ch, settings);
      model[ch] = sel;
      missing = sel.missing;
      found = sel.found;
      renderChannel(ch, sel);
    });
    renderSelection(found, missing);
    renderAgents();
    WB.setText(document.getElementById("as-of"),
               asOfMs === null ? WB.t("as_of_none") : WB.t("as_of", { t: WB.fmtTime(asOfMs, zone) }));
    tick();
  }

  function renderChannel(ch, sel) {
    var c = sel.chan;
    var s = sel.settings;
    var win = (c && c.window) || {};
    var today = (c && c.today) || {};
    var has = !!c;

    setTile(tileOf(ch, "waiting"), has ? WB.fmtCount(c.waiting) : WB.DASH, has ? c.waiting : null,
            has ? WB.levelAbove(c.waiting, s.waiting_warn, s.waiting_alarm) : "none",
            has && WB.isNum(c.in_progress) ? WB.t("in_progress") + " " + WB.fmtCount(c.in_progress) : "");
    // longest_wait is filled by tick(), which runs right after.
    var target = WB.t("target", { p: WB.fmtPct(s.sl_target) });
    setTile(tileOf(ch, "sl_window"), WB.fmtPct(win.service_level), nullable(win.service_level),
            WB.levelSL(win.service_level, s.sl_target), target);
    setTile(tileOf(ch, "sl_today"), WB.fmtPct(today.service_level), nullable(today.service_level),
            WB.levelSL(today.service_level, s.sl_target), target);
    setTile(tileOf(ch, "asa_window"), WB.fmtWait(win.asa_s), nullable(win.asa_s), "none",
            WB.t("col_today") + " " + WB.fmtWait(today.asa_s));
    setTile(tileOf(ch, "abandon_window"), WB.fmtPct(win.abandon_rate), nullable(win.abandon_rate), "none",
            WB.t("col_today") + " " + WB.fmtPct(today.abandon_rate));
    setTile(tileOf(ch, "offered_today"), WB.fmtCount(today.offered), nullable(today.offered), "none", "");
    setTile(tileOf(ch, "answered_today"), WB.fmtCount(today.answered), nullable(today.answered), "none", "");
    setTile(tileOf(ch, "abandoned_today"), WB.fmtCount(today.abandoned), nullable(today.abandoned), "none", "");

    var formula = document.querySelector('.channel[data-channel="' + ch + '"] [data-role="formula"]');
    var text = WB.slFormulaText(s.sl_formula, s.sl_threshold);
    if (WB.isNum(s.short_abandon) && s.short_abandon > 0) {
      text += " · " + WB.t("short_abandon_note", { s: s.short_abandon });
    }
    WB.setText(formula, text);
    WB.setAttr(formula, "data-formula", s.sl_formula);
  }

  function nullable(v) { return v === undefined ? null : v; }

  function renderSelection(found, missing) {
    var label = document.getElementById("selection-label");
    if (!selection.length) WB.setText(label, WB.t("all_queues"));
    else WB.setText(label, WB.t("queues_selected", { list: (found || []).join(", ") || WB.DASH }));
    var miss = document.getElementById("selection-missing");
    miss.hidden = !missing.length;
    WB.setText(miss, missing.length ? WB.t("unknown_queues", { list: missing.join(", ") }) : "");
  }

  function renderAgents() {
    if (!snapshot) return;
    var counts = WB.selectAgents(snapshot, selection, agentsView);
    document.querySelectorAll("#agents-strip .agent-count").forEach(function (el) {
      var state = el.getAttribute("data-agent-state");
      var v = counts ? counts[state] : null;
      var out = el.querySelector(".agent-value");
      var text = WB.fmtCount(v);
      if (out.textContent !== text) { out.textContent = text; WB.fitText(out); }
      WB.setAttr(out, "data-raw", WB.isNum(v) ? v : "null");
    });
  }

  /** Every 250 ms: clock, longest wait (ticking from `since`), staleness. */
  function tick() {
    var serverNow = conn.serverNow();
    WB.setText(document.getElementById("clock"), WB.fmtTime(serverNow, zone));
    channels.forEach(function (ch) {
      var sel = model[ch];
      var tile = tileOf(ch, "longest_wait");
      if (!sel) return;
      var c = sel.chan;
      if (!c || !WB.isNum(c.longest_wait_s) || c.since_ms === null) {
        setTile(tile, WB.DASH, null, "none", "");
        return;
      }
      // Ticks on while the data is fresh; once stale it stays at the value as of the data,
      // since nobody knows whether that interaction is still waiting.
      var now = conn.dataNow(asOfMs);
      var wait = now === null ? c.longest_wait_s : Math.max(c.longest_wait_s, (now - c.since_ms) / 1000);
      var text = WB.fmtTicking(wait);
      setTile(tile, text, c.longest_wait_s,
              WB.levelAbove(Math.floor(wait), sel.settings.longest_wait_warn, sel.settings.longest_wait_alarm));
      WB.setAttr(tile.querySelector(".tile-value"), "data-since", new Date(c.since_ms).toISOString());
    });
  }

  // ---------------------------------------------------------------- ticker

  var ticker = document.getElementById("ticker");
  var tickerText = ticker.querySelector(".ticker-text");

  function setTicker(text) {
    text = text.replace(/\s+/g, " ").trim();
    if (tickerText.textContent === text) return;
    tickerText.textContent = text;
    ticker.setAttribute("data-active", text ? "1" : "0");
    if (!text) return;
    // Constant reading speed whatever the length: the distance is the band plus the text.
    var band = ticker.clientWidth;
    var width = tickerText.scrollWidth;
    var remPx = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    var speed = 9 * remPx; // px per second
    tickerText.style.setProperty("--ticker-from", band + "px");
    tickerText.style.setProperty("--ticker-to", -width + "px");
    tickerText.style.animationDuration = Math.max(8, (band + width) / speed) + "s";
    // Restart the animation from the right edge for the new text.
    tickerText.classList.remove("run");
    void tickerText.offsetWidth;
    tickerText.classList.add("run");
  }

  window.addEventListener("resize", function () {
    document.querySelectorAll(".tile-value, .agent-value").forEach(WB.fitText);
    if (tickerText.textContent) { var t = tickerText.textContent; tickerText.textContent = ""; setTicker(t); }
  });

  window.setInterval(tick, 250);
  conn.start();
  WB.renderState(conn, zone);
  WB.tv = { conn: conn, model: model }; // for debugging from the console
})();
