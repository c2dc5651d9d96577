/* wallboard: the WB namespace and what every other script of both pages builds on.
 *
 *   WB.pageContext / WB.params   what the server rendered into <body data-...>, and the URL parameters
 *   WB.channelNames              the channels, in the server's order (settings.channel_names)
 *   WB.settingsFor               the settings the server says are in force for a queue (or none) and channel
 *   WB.el / WB.setText / ...     DOM helpers: text through textContent, elements through createElement
 *   WB.stepLevel                 the level of a ticking longest wait from the server's schedule
 *
 * The server owns what the numbers mean (sums, rates, levels: wallboard/levels.py); the pages
 * render what it sends.  Scripts are plain ES2017 without modules or a build step, so that the
 * old Chromium inside a TV set can run them; each file adds one part to window.WB, and the
 * templates load them in order (every URL content-hashed, docs/api.md).  Feature scripts
 * (the TV's panels, the supervisor's tables...) each register {init, render}.
 */
(function () {
  "use strict";
  var WB = (window.WB = window.WB || {});

  WB.AGENT_STATES = ["available", "busy", "wrap_up", "break", "offline"];
  WB.COUNT_FIELDS = ["offered", "answered", "abandoned", "short_abandoned", "answered_in_sl",
                     "abandoned_in_sl", "completed"];
  WB.RATE_FIELDS = ["service_level", "asa_s", "aht_s", "abandon_rate"];
  WB.PERIOD_FIELDS = WB.COUNT_FIELDS.concat(WB.RATE_FIELDS);
  WB.DASH = "\u2013"; // en dash: the value is undefined (null), never 0 % or 100 %

  // ---------------------------------------------------------------- page context

  /** The values the server rendered into <body data-...>. */
  WB.pageContext = function () {
    var d = document.body.dataset;
    var settings = {};
    try { settings = JSON.parse(d.settings || "{}") || {}; } catch (e) { settings = {}; }
    var push = parseFloat(d.pushInterval);
    var stale = parseFloat(d.staleAfter);
    return {
      lang: d.lang || "en",
      pushInterval: isFinite(push) && push > 0 ? push : 1,
      staleAfter: isFinite(stale) && stale > 0 ? stale : 60,
      settings: settings
    };
  };

  WB.params = new URLSearchParams(window.location.search);

  /**
   * A URL of the app (ws, api/session, login) relative to the page, so that a board behind a path prefix
   * (reverse proxy) still works; a page one level down (/tv/NAME) says so in body[data-root] ("../").
   */
  WB.appUrl = function (path) {
    return new URL((document.body.dataset.root || "") + path, window.location.href);
  };

  /** A comma-separated URL parameter as a list of non-empty, trimmed names. */
  WB.listParam = function (name) {
    var raw = WB.params.get(name);
    if (!raw) return [];
    var out = [];
    raw.split(",").forEach(function (p) {
      p = p.trim();
      if (p && out.indexOf(p) < 0) out.push(p);
    });
    return out;
  };

  // ---------------------------------------------------------------- settings (from the server)

  /** The channels, in order, as the server lists them (hello.settings / body[data-settings]). */
  WB.channelNames = function (settings) {
    return (settings && settings.channel_names) || [];
  };

  /** The settings in force for one queue (or null: the channel's) and channel, as the server sent them. */
  WB.settingsFor = function (settings, queue, channel) {
    var perQueue = queue !== null && queue !== undefined && settings.queues &&
      Object.prototype.hasOwnProperty.call(settings.queues, queue) ? settings.queues[queue] : null;
    if (perQueue && perQueue[channel]) return perQueue[channel];
    return (settings.channels || {})[channel] || {};
  };

  // ---------------------------------------------------------------- DOM helpers

  /** createElement with attributes and text; never parses markup. */
  WB.el = function (tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] === null || attrs[k] === undefined) return;
        if (k === "class") e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      });
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };

  /** Set text only when it changed (no needless style recalculation on a 4K wall). */
  WB.setText = function (el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  };

  /** Shrink a one-line number until it fits its box (the CSS size is the largest it may take). */
  WB.fitText = function (el) {
    if (!el) return;
    el.style.fontSize = "";
    var avail = el.clientWidth;
    var need = el.scrollWidth;
    if (avail > 0 && need > avail) {
      var base = parseFloat(window.getComputedStyle(el).fontSize);
      el.style.fontSize = Math.floor(base * avail / need * 0.96) + "px";
    }
  };

  WB.setAttr = function (el, name, value) {
    value = String(value);
    if (el && el.getAttribute(name) !== value) el.setAttribute(name, value);
  };

  // ---------------------------------------------------------------- values

  WB.isNum = function (v) { return typeof v === "number" && isFinite(v); };

  WB.parseTs = function (ts) {
    if (ts === null || ts === undefined) return null;
    if (typeof ts === "number") return ts;
    var ms = Date.parse(ts);
    return isFinite(ms) ? ms : null;
  };

  /** A level the server sent ("ok", "warn", "alarm") as the data-level the CSS colours; null -> "none". */
  WB.levelAttr = function (level) {
    return level === "ok" || level === "warn" || level === "alarm" ? level : "none";
  };

  /**
   * The level of the longest wait at nowMs, from the server's schedule (levels.longest_wait_steps:
   * [{from, level}] in time order): the level of the last step at or before now.  The wait ticks
   * in the browser between pushes, so its colour must be able to change without a new snapshot.
   */
  WB.stepLevel = function (levels, nowMs) {
    if (!levels) return null;
    var steps = levels.longest_wait_steps;
    if (!steps || nowMs === null) return levels.longest_wait_s || null;
    var level = null;
    for (var i = 0; i < steps.length; i++) {
      var at = WB.parseTs(steps[i].from);
      if (at !== null && at <= nowMs) level = steps[i].level;
    }
    return level;
  };
})();
