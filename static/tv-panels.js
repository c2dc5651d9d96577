/* wallboard: the TV's channel panels (templates/_channel.html): nine tiles each, and the
 * service-level formula in force.  Numbers and levels are the server's; the page rounds them
 * for display and ticks the longest wait between pushes.
 *
 *   WB.tvPanels.init(page)      page.channels: the channels shown; page.dataNow(): the data's time now (ms)
 *   WB.tvPanels.render(panels)  panels[channel] = {chan: a channel view with its levels, or null;
 *                                                  settings: the settings in force for it}
 *   WB.tvPanels.tick()          the longest wait, every 250 ms
 *   WB.tvPanels.setLevel(el, level)  an element's data-level, pulsing once when it turns worse
 */
(function () {
  "use strict";
  var WB = window.WB;
  var page = null;
  var shown = {}; // channel -> the panel last rendered

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
    setLevel(tile, WB.levelAttr(level));
    if (sub !== undefined) WB.setText(tile.querySelector(".tile-sub"), sub);
  }

  // A tile turning worse (ok -> warn -> alarm) pulses once (.pulse, static/board.css) to draw the eye
  // across the room; one getting better, or the page's first picture, does not.
  var RANK = { none: 0, ok: 0, warn: 1, alarm: 2 };
  var PULSE_MS = 1200;
  var rendered = new Set(); // tiles drawn at least once: their level before is the server's
  var pulseTimers = new Map();

  function setLevel(tile, level) {
    var before = tile.getAttribute("data-level");
    WB.setAttr(tile, "data-level", level);
    var worse = rendered.has(tile) && RANK[level] > RANK[before];
    rendered.add(tile);
    if (!worse) return;
    tile.classList.remove("pulse");
    void tile.offsetWidth; // restart the animation if it is still running
    tile.classList.add("pulse");
    window.clearTimeout(pulseTimers.get(tile));
    pulseTimers.set(tile, window.setTimeout(function () { tile.classList.remove("pulse"); }, PULSE_MS));
  }

  function nullable(v) { return v === undefined ? null : v; }

  /** The line under a tile's figure as a label and a secondary figure with its own level (no pulse). */
  function setSub(tile, label, text, raw, level) {
    if (!tile) return;
    WB.setText(tile.querySelector(".sub-label"), label);
    var v = tile.querySelector(".sub-value");
    WB.setText(v, text);
    WB.setAttr(v, "data-raw", raw === null || raw === undefined ? "null" : raw);
    WB.setAttr(v, "data-level", WB.levelAttr(level));
  }

  function init(p) {
    page = p;
    // Show only the channels asked for; one channel gets the whole width.
    document.querySelectorAll(".channel").forEach(function (sec) {
      sec.hidden = page.channels.indexOf(sec.getAttribute("data-channel")) < 0;
    });
    document.getElementById("channels").classList.toggle("single", page.channels.length === 1);
  }

  function render(panels) {
    page.channels.forEach(function (ch) {
      var panel = panels[ch] || { chan: null, settings: {} };
      shown[ch] = panel;
      renderChannel(ch, panel.chan, panel.settings);
    });
    tick();
  }

  function renderChannel(ch, c, s) {
    var win = (c && c.window) || {};
    var today = (c && c.today) || {};
    var levels = (c && c.levels) || {};
    var winLevels = levels.window || {};
    var todayLevels = levels.today || {};
    setTile(tileOf(ch, "waiting"), c ? WB.fmtCount(c.waiting) : WB.DASH, c ? c.waiting : null, levels.waiting,
            c && WB.isNum(c.in_progress) ? WB.t("in_progress") + " " + WB.fmtCount(c.in_progress) : "");
    // longest_wait is filled by tick(), which runs right after.
    var target = WB.t("target", { p: WB.fmtPct(s.sl_target) });
    setTile(tileOf(ch, "sl_window"), WB.fmtPct(win.service_level), nullable(win.service_level),
            winLevels.service_level, target);
    setTile(tileOf(ch, "sl_today"), WB.fmtPct(today.service_level), nullable(today.service_level),
            todayLevels.service_level, target);
    // ASA and abandon rate: the window's figure, and today's under it, each with the server's level.
    setTile(tileOf(ch, "asa_window"), WB.fmtWait(win.asa_s), nullable(win.asa_s), winLevels.asa_s);
    setSub(tileOf(ch, "asa_window"), WB.t("col_today"), WB.fmtWait(today.asa_s), nullable(today.asa_s),
           todayLevels.asa_s);
    setTile(tileOf(ch, "abandon_window"), WB.fmtPct(win.abandon_rate), nullable(win.abandon_rate),
            winLevels.abandon_rate);
    setSub(tileOf(ch, "abandon_window"), WB.t("col_today"), WB.fmtPct(today.abandon_rate),
           nullable(today.abandon_rate), todayLevels.abandon_rate);
    setTile(tileOf(ch, "offered_today"), WB.fmtCount(today.offered), nullable(today.offered), null, "");
    setTile(tileOf(ch, "answered_today"), WB.fmtCount(today.answered), nullable(today.answered), null, "");
    setTile(tileOf(ch, "abandoned_today"), WB.fmtCount(today.abandoned), nullable(today.abandoned), null, "");

    var formula = document.querySelector('.channel[data-channel="' + ch + '"] [data-role="formula"]');
    var text = WB.slFormulaText(s.sl_formula, s.sl_threshold);
    if (WB.isNum(s.short_abandon) && s.short_abandon > 0) {
      text += " · " + WB.t("short_abandon_note", { s: s.short_abandon });
    }
    WB.setText(formula, text);
    WB.setAttr(formula, "data-formula", s.sl_formula);
  }

  /** The longest wait ticks from `longest_wait_since`, its colour following the server's schedule. */
  function tick() {
    page.channels.forEach(function (ch) {
      var panel = shown[ch];
      var tile = tileOf(ch, "longest_wait");
      if (!panel) return;
      var c = panel.chan;
      var since = c ? WB.parseTs(c.longest_wait_since) : null;
      if (!c || !WB.isNum(c.longest_wait_s) || since === null) {
        setTile(tile, WB.DASH, null, null, "");
        return;
      }
      // Ticks on while the data is fresh; once stale it stays at the value as of the data,
      // since nobody knows whether that interaction is still waiting.
      var now = page.dataNow();
      var wait = now === null ? c.longest_wait_s : Math.max(c.longest_wait_s, (now - since) / 1000);
      setTile(tile, WB.fmtTicking(wait), c.longest_wait_s, WB.stepLevel(c.levels, now));
      WB.setAttr(tile.querySelector(".tile-value"), "data-since", new Date(since).toISOString());
    });
  }

  WB.tvPanels = { init: init, render: render, tick: tick, shown: shown, setLevel: setLevel };
})();
