/* wallboard: code shared by the TV page and the supervisor page.
 *
 *   WB.t / WB.applyI18n     labels in the chosen language (static/i18n.js)
 *   WB.fmt*                 display rounding (docs/board.md "Rounding")
 *   WB.channelSettings      the settings in force for a queue and channel
 *   WB.selectChannel        one channel's numbers for a selection of queues (sums recomputed)
 *   WB.Connection           the WebSocket: reconnect with backoff, seq gaps -> resync, staleness
 *
 * Nothing that comes from the server is ever inserted as markup: text goes through
 * textContent, elements are made with createElement (WB.el).
 *
 * Written in plain ES2017 without modules or build step, so that the old Chromium
 * inside a TV set can run it.
 */
(function () {
  "use strict";
  var WB = (window.WB = window.WB || {});

  WB.CHANNELS = ["call", "sms"];
  WB.AGENT_STATES = ["available", "busy", "wrap_up", "break", "offline"];
  WB.COUNT_FIELDS = ["offered", "answered", "abandoned", "short_abandoned", "answered_in_sl",
                     "abandoned_in_sl", "completed"];
  WB.RATE_FIELDS = ["service_level", "asa_s", "aht_s", "abandon_rate"];
  WB.PERIOD_FIELDS = WB.COUNT_FIELDS.concat(WB.RATE_FIELDS);
  WB.DASH = "\u2013"; // en dash: the value is undefined (null), never 0 % or 100 %

  // Defaults of wallboard/settings.py, used only if the page got no settings at all.
  WB.DEFAULT_CHANNEL_SETTINGS = {
    call: { sl_threshold: 20, short_abandon: 5, sl_formula: "abandons_negative", sl_target: 0.8,
            waiting_warn: 10, waiting_alarm: 30, longest_wait_warn: 20, longest_wait_alarm: 60 },
    sms: { sl_threshold: 60, short_abandon: 0, sl_formula: "abandons_negative", sl_target: 0.8,
           waiting_warn: 10, waiting_alarm: 30, longest_wait_warn: 60, longest_wait_alarm: 180 }
  };

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

  // ---------------------------------------------------------------- i18n

  WB.LANGS = ["zh-CN", "en"];

  /** ?lang= if it names a language we have, else the browser's language, else the server's guess. */
  WB.pickLang = function (serverLang) {
    var asked = WB.normLang(WB.params.get("lang"));
    if (asked) return asked;
    var prefs = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language];
    for (var i = 0; i < prefs.length; i++) {
      var l = WB.normLang(prefs[i]);
      if (l) return l;
    }
    return WB.normLang(serverLang) || "en";
  };

  WB.normLang = function (tag) {
    if (!tag) return null;
    tag = String(tag).toLowerCase();
    if (tag === "zh" || tag.indexOf("zh-") === 0 || tag.indexOf("zh_") === 0) return "zh-CN";
    if (tag === "en" || tag.indexOf("en-") === 0 || tag.indexOf("en_") === 0) return "en";
    return null;
  };

  WB.lang = "en";

  WB.setLang = function (lang) {
    WB.lang = WB.normLang(lang) || "en";
    document.documentElement.lang = WB.lang;
    document.body.dataset.lang = WB.lang;
    WB.applyI18n(document);
  };

  WB.t = function (key, vars) {
    var dict = window.WB_I18N || {};
    var text = (dict[WB.lang] && dict[WB.lang][key]);
    if (text === undefined) text = dict.en && dict.en[key];
    if (text === undefined) text = key;
    if (vars) {
      text = text.replace(/\{(\w+)\}/g, function (m, name) {
        return Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m;
      });
    }
    return text;
  };

  /** Fill every [data-i18n] element's text and every [data-i18n-title|placeholder|aria-label] attribute. */
  WB.applyI18n = function (root) {
    var vars = WB.i18nVars || {};
    root.querySelectorAll("[data-i18n]").forEach(function (el) {
      el.textContent = WB.t(el.getAttribute("data-i18n"), vars);
    });
    ["title", "placeholder", "aria-label"].forEach(function (attr) {
      root.querySelectorAll("[data-i18n-" + attr + "]").forEach(function (el) {
        el.setAttribute(attr, WB.t(el.getAttribute("data-i18n-" + attr), vars));
      });
    });
  };
  WB.i18nVars = {};

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

  // ---------------------------------------------------------------- formatting

  WB.isNum = function (v) { return typeof v === "number" && isFinite(v); };

  /** A rate 0..1 as a whole percent ("94%"), half up; null -> dash. */
  WB.fmtPct = function (v) {
    if (!WB.isNum(v)) return WB.DASH;
    return Math.round(v * 100) + "%";
  };

  WB.fmtCount = function (v) {
    if (!WB.isNum(v)) return WB.DASH;
    return String(Math.round(v));
  };

  function pad2(n) { return n < 10 ? "0" + n : String(n); }

  /** Whole seconds as m:ss, or h:mm:ss from one hour up. */
  WB.fmtClock = function (secs) {
    var h = Math.floor(secs / 3600), m = Math.floor((secs % 3600) / 60), s = secs % 60;
    return h > 0 ? h + ":" + pad2(m) + ":" + pad2(s) : m + ":" + pad2(s);
  };

  /** A wait: rounded to whole seconds; "35 s" below one minute, m:ss from 60 s up; null -> dash. */
  WB.fmtWait = function (v) {
    if (!WB.isNum(v)) return WB.DASH;
    var s = Math.round(Math.max(0, v));
    return s < 60 ? WB.t("unit_s", { n: s }) : WB.fmtClock(s);
  };

  /** A wait that ticks (longest wait): whole seconds elapsed, floored like a stopwatch. */
  WB.fmtTicking = function (v) {
    if (!WB.isNum(v)) return WB.DASH;
    var s = Math.floor(Math.max(0, v));
    return s < 60 ? WB.t("unit_s", { n: s }) : WB.fmtClock(s);
  };

  /** A handle time: always m:ss (h:mm:ss from one hour up); null -> dash. */
  WB.fmtMSS = function (v) {
    if (!WB.isNum(v)) return WB.DASH;
    return WB.fmtClock(Math.round(Math.max(0, v)));
  };

  var timeFormats = {};
  /** A time of day (HH:MM:SS, 24 h) in the contact centre's zone (the snapshot's `timezone`). */
  WB.fmtTime = function (ms, zone) {
    if (!WB.isNum(ms)) return WB.DASH;
    var key = zone || "";
    if (!timeFormats[key]) {
      var opts = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
      try {
        if (zone) opts.timeZone = zone;
        timeFormats[key] = new Intl.DateTimeFormat("en-GB", opts);
      } catch (e) {
        delete opts.timeZone;
        timeFormats[key] = new Intl.DateTimeFormat("en-GB", opts);
      }
    }
    return timeFormats[key].format(new Date(ms));
  };

  /** The rolling window's length as a label ("30 min"). */
  WB.fmtWindow = function (windowS) {
    if (!WB.isNum(windowS)) return "";
    return windowS % 60 === 0 ? WB.t("window_len", { n: windowS / 60 }) : WB.t("window_len_s", { n: windowS });
  };

  WB.parseTs = function (ts) {
    if (ts === null || ts === undefined) return null;
    if (typeof ts === "number") return ts;
    var ms = Date.parse(ts);
    return isFinite(ms) ? ms : null;
  };

  // ---------------------------------------------------------------- settings

  /** The settings in force for one queue (or null: channel level) and channel. */
  WB.channelSettings = function (settings, queue, channel) {
    settings = settings || {};
    var base = WB.DEFAULT_CHANNEL_SETTINGS[channel] || WB.DEFAULT_CHANNEL_SETTINGS.call;
    var chans = settings.channels || {};
    var out = {};
    Object.keys(base).forEach(function (k) { out[k] = base[k]; });
    var ch = chans[channel] || settings[channel];
    if (ch) Object.keys(ch).forEach(function (k) { out[k] = ch[k]; });
    if (queue !== null && queue !== undefined && settings.queues && settings.queues[queue]) {
      var q = settings.queues[queue];
      var qc = (q.channels && q.channels[channel]) || q[channel];
      if (qc) Object.keys(qc).forEach(function (k) { out[k] = qc[k]; });
    }
    return out;
  };

  // ---------------------------------------------------------------- metrics

  /** Service level by one of the three formulas of metrics.md; null when the denominator is 0. */
  WB.serviceLevel = function (c, formula) {
    var handled = c.answered + c.abandoned - c.short_abandoned;
    var num, den;
    if (formula === "abandons_ignored") { num = c.answered_in_sl; den = handled - c.abandoned_in_sl; }
    else if (formula === "abandons_positive") { num = c.answered_in_sl + c.abandoned_in_sl; den = handled; }
    else { num = c.answered_in_sl; den = handled; }
    return den > 0 ? num / den : null;
  };

  /** Add period objects: counts add up; rates are recomputed from the summed counts. */
  WB.sumPeriods = function (periods, formula) {
    var out = {};
    WB.COUNT_FIELDS.forEach(function (f) { out[f] = 0; });
    var waitSum = 0, handleSum = 0;
    periods.forEach(function (p) {
      if (!p) return;
      WB.COUNT_FIELDS.forEach(function (f) { out[f] += WB.isNum(p[f]) ? p[f] : 0; });
      // The snapshot gives means; mean x count gives back the sum of waits / handle times.
      if (p.answered > 0 && WB.isNum(p.asa_s)) waitSum += p.asa_s * p.answered;
      if (p.completed > 0 && WB.isNum(p.aht_s)) handleSum += p.aht_s * p.completed;
    });
    var counted = out.answered + out.abandoned - out.short_abandoned;
    out.service_level = WB.serviceLevel(out, formula);
    out.asa_s = out.answered > 0 ? waitSum / out.answered : null;
    out.aht_s = out.completed > 0 ? handleSum / out.completed : null;
    out.abandon_rate = counted > 0 ? (out.abandoned - out.short_abandoned) / counted : null;
    return out;
  };

  /** When the oldest waiting interaction was offered (ms), from `longest_wait_since` or as_of - longest_wait_s. */
  WB.waitSince = function (chan, asOfMs) {
    if (!chan) return null;
    var since = WB.parseTs(chan.longest_wait_since);
    if (since !== null) return since;
    if (WB.isNum(chan.longest_wait_s) && asOfMs !== null) return asOfMs - chan.longest_wait_s * 1000;
    return null;
  };

  /**
   * One channel's numbers for the board: the snapshot's `totals` when no queue is selected,
   * the queue's own numbers for one queue, and for several queues the sums with every rate
   * recomputed from summed counts (service level by the channel's formula).
   * Returns {chan, settings, queues: [names found], missing: [names not in the snapshot]}.
   */
  WB.selectChannel = function (snapshot, selection, channel, settings) {
    var asOf = WB.parseTs(snapshot.as_of);
    var queues = snapshot.queues || {};
    if (!selection || selection.length === 0) {
      var tot = ((snapshot.totals || {}).channels || {})[channel] || null;
      return { chan: withSince(tot, asOf), settings: WB.channelSettings(settings, null, channel),
               found: null, missing: [] };
    }
    var found = [], missing = [];
    selection.forEach(function (q) {
      if (Object.prototype.hasOwnProperty.call(queues, q)) found.push(q); else missing.push(q);
    });
    if (found.length === 1) {
      var one = ((queues[found[0]] || {}).channels || {})[channel] || null;
      return { chan: withSince(one, asOf), settings: WB.channelSettings(settings, found[0], channel),
               found: found, missing: missing };
    }
    var chSettings = WB.channelSettings(settings, null, channel);
    var parts = found.map(function (q) { return ((queues[q] || {}).channels || {})[channel]; })
      .filter(function (c) { return !!c; });
    if (parts.length === 0) return { chan: null, settings: chSettings, found: found, missing: missing };
    var out = { waiting: 0, in_progress: 0, longest_wait_s: null, since_ms: null };
    parts.forEach(function (c) {
      out.waiting += WB.isNum(c.waiting) ? c.waiting : 0;
      out.in_progress += WB.isNum(c.in_progress) ? c.in_progress : 0;
      if (WB.isNum(c.longest_wait_s) && (out.longest_wait_s === null || c.longest_wait_s > out.longest_wait_s)) {
        out.longest_wait_s = c.longest_wait_s;
      }
      var s = WB.waitSince(c, asOf);
      if (s !== null && (out.since_ms === null || s < out.since_ms)) out.since_ms = s;
    });
    // One formula for the sum: the channel's (per-queue overrides cannot be mixed in one ratio).
    out.window = WB.sumPeriods(parts.map(function (c) { return c.window; }), chSettings.sl_formula);
    out.today = WB.sumPeriods(parts.map(function (c) { return c.today; }), chSettings.sl_formula);
    return { chan: out, settings: chSettings, found: found, missing: missing };
  };

  function withSince(chan, asOf) {
    if (!chan) return null;
    var out = {};
    Object.keys(chan).forEach(function (k) { out[k] = chan[k]; });
    out.since_ms = WB.waitSince(chan, asOf);
    return out;
  }

  /** Agents by state for a selection: totals, one queue's counts, or distinct agents of several queues. */
  WB.selectAgents = function (snapshot, selection, agentsView) {
    if (!selection || selection.length === 0) return (snapshot.totals || {}).agents || null;
    var queues = snapshot.queues || {};
    var found = selection.filter(function (q) { return Object.prototype.hasOwnProperty.call(queues, q); });
    if (found.length === 0) return null;
    if (found.length === 1) return queues[found[0]].agents || null;
    // An agent may serve several of the queues: count each one once, from the agent list.
    var rows = WB.agentRows(agentsView);
    if (!rows) return null;
    var counts = {};
    WB.AGENT_STATES.forEach(function (s) { counts[s] = 0; });
    rows.forEach(function (a) {
      var qs = a.queues || [];
      for (var i = 0; i < qs.length; i++) {
        if (found.indexOf(qs[i]) >= 0) {
          counts[a.state] = (counts[a.state] || 0) + 1;
          return;
        }
      }
    });
    return counts;
  };

  /** The agent rows of an `agents` view, whether it is a list or keyed by agent_id. */
  WB.agentRows = function (view) {
    if (!view) return null;
    var list = Array.isArray(view) ? view : (view.agents !== undefined ? view.agents : view.data);
    if (Array.isArray(list)) return list;
    if (list && typeof list === "object") {
      return Object.keys(list).map(function (id) {
        var a = list[id];
        if (a && a.agent_id === undefined) {
          var copy = { agent_id: id };
          Object.keys(a).forEach(function (k) { copy[k] = a[k]; });
          return copy;
        }
        return a;
      });
    }
    return null;
  };

  /** Colour level of a "bigger is worse" number: none / ok / warn / alarm. */
  WB.levelAbove = function (v, warn, alarm) {
    if (!WB.isNum(v)) return "none";
    if (WB.isNum(alarm) && v >= alarm) return "alarm";
    if (WB.isNum(warn) && v >= warn) return "warn";
    return "ok";
  };

  /**
   * Service-level colour: ok at or above target, warn up to 5 points below, alarm below that.
   * Compared in the whole percent the board shows, so that "80%" against a target of 80%
   * is never amber (docs/board.md "Colours").
   */
  WB.levelSL = function (v, target) {
    if (!WB.isNum(v) || !WB.isNum(target)) return "none";
    var shown = Math.round(v * 100);
    var goal = Math.round(target * 10000) / 100; // 0.8 -> 80 exactly, 0.855 -> 85.5
    if (shown >= goal) return "ok";
    if (shown >= goal - 5) return "warn";
    return "alarm";
  };

  WB.slFormulaText = function (formula, threshold) {
    var key = "sl_formula_" + formula;
    var dict = (window.WB_I18N || {}).en || {};
    if (!dict[key]) return WB.t("sl_formula_unknown", { f: formula });
    return WB.t(key, { t: threshold });
  };

  // ---------------------------------------------------------------- the connection

  /**
   * The WebSocket to /ws, with everything a board needs to never show stale data as fresh.
   *
   * opts: views (list), pushInterval (s), staleAfter (s), onMessage(msg), onState(state).
   *
   * State (recomputed every 250 ms and on every message):
   *   "stale"  no data yet; the socket is not open; the socket was reopened but no full
   *            state has arrived on it yet; the server says source.stale or not ready;
   *            or no message for staleAfter seconds.
   *   "ageing" no message for 2 x pushInterval (two missed pushes).
   *   "fresh"  otherwise.
   * A gap in `seq` (or a heartbeat naming a data message we never got) sends {"type":"resync"}.
   * Reconnects with exponential backoff from 0.5 s up to 15 s, with jitter.
   */
  WB.Connection = function (opts) {
    this.views = opts.views;
    this.pushInterval = opts.pushInterval;
    this.staleAfter = opts.staleAfter;
    this.onMessage = opts.onMessage || function () {};
    this.onState = opts.onState || function () {};
    this.ws = null;
    this.connId = 0;
    this.open = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.lastMsgAt = null;        // performance.now() of the last message of any type
    this.heardAt = null;          // ... or of the current socket's opening, whichever is later
    this.openedAt = null;         // performance.now() when the current socket opened
    this.lastDataAt = null;       // performance.now() of the last data message
    this.lastServerMs = null;     // server_time of the last message (ms since epoch)
    this.lastServerAt = null;     // performance.now() when it arrived
    this.lastGoodServerMs = null; // server_time of the last message while the source was fine
    this.dataConnId = -1;         // the connection the newest snapshot came on
    this.lastSeq = null;
    this.maxDataSeq = null;
    this.lastResyncAt = -1e9;
    this.resyncPending = false;
    this.lastPingAt = -1e9;
    this.source = null;
    this.state = { state: "stale", reason: "never" };
  };

  WB.Connection.prototype.url = function () {
    // Relative to the page, so that a board behind a path prefix (reverse proxy) still works.
    var u = new URL("ws", window.location.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.search = "?views=" + this.views.join(",");
    return u.toString();
  };

  WB.Connection.prototype.start = function () {
    var self = this;
    this.connect();
    window.setInterval(function () { self.evaluate(); }, 250);
    // Waiting out a backoff when the tab comes back or the network returns: try at once.
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && self.retryTimer) self.reconnectNow();
    });
    window.addEventListener("online", function () { if (self.retryTimer) self.reconnectNow(); });
  };

  WB.Connection.prototype.reconnectNow = function () {
    if (this.retryTimer) { window.clearTimeout(this.retryTimer); this.retryTimer = null; }
    this.attempt = 0;
    this.connect();
  };

  WB.Connection.prototype.connect = function () {
    var self = this;
    if (this.ws) {
      var old = this.ws;
      this.ws = null;
      old.onopen = old.onmessage = old.onclose = old.onerror = null;
      try { old.close(); } catch (e) { /* already closed */ }
    }
    this.open = false;
    this.connId += 1;
    var myId = this.connId;
    var ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = function () {
      if (myId !== self.connId) return;
      self.open = true;
      self.openedAt = self.heardAt = performance.now();
      self.lastSeq = null;
      self.maxDataSeq = null;
      self.resyncPending = false;
      self.evaluate();
    };
    ws.onmessage = function (ev) {
      if (myId !== self.connId) return;
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (!msg || typeof msg !== "object") return;
      self.receive(msg);
    };
    ws.onclose = function () {
      if (myId !== self.connId) return;
      self.open = false;
      self.ws = null;
      self.evaluate();
      self.scheduleReconnect();
    };
    ws.onerror = function () { /* onclose follows */ };
  };

  WB.Connection.prototype.scheduleReconnect = function () {
    var self = this;
    if (this.retryTimer) return;
    // Exponential backoff, 0.5 s doubling up to 15 s, "full jitter" above the 0.5 s floor,
    // so that a hundred boards do not all reconnect at the same instant after a restart.
    var cap = Math.min(15000, 500 * Math.pow(2, this.attempt));
    var delay = 500 + Math.random() * (cap - 500);
    this.attempt = Math.min(this.attempt + 1, 10);
    this.retryTimer = window.setTimeout(function () {
      self.retryTimer = null;
      self.connect();
    }, delay);
  };

  WB.Connection.prototype.send = function (obj) {
    if (this.ws && this.open) {
      try { this.ws.send(JSON.stringify(obj)); } catch (e) { /* closing */ }
    }
  };

  WB.Connection.prototype.resync = function () {
    var now = performance.now();
    // At most one resync per two seconds: a server that conflates for a slow link would
    // otherwise be asked for the full state on every message.  One asked for sooner waits.
    if (now - this.lastResyncAt < 2000) { this.resyncPending = true; return; }
    this.resyncPending = false;
    this.lastResyncAt = now;
    this.send({ type: "resync" });
  };

  WB.Connection.prototype.receive = function (msg) {
    var now = performance.now();
    this.lastMsgAt = now;
    this.heardAt = now;
    this.attempt = 0; // the server answers: the next failure starts the backoff from 0.5 s again
    var st = WB.parseTs(msg.server_time);
    if (st !== null) { this.lastServerMs = st; this.lastServerAt = now; }
    if (msg.type === "hello") {
      if (WB.isNum(msg.push_interval_s) && msg.push_interval_s > 0) this.pushInterval = msg.push_interval_s;
      if (WB.isNum(msg.stale_after_s) && msg.stale_after_s > 0) this.staleAfter = msg.stale_after_s;
      this.lastSeq = WB.isNum(msg.seq) ? msg.seq : null;
    } else if (WB.isNum(msg.seq)) {
      if (this.lastSeq !== null && msg.seq > this.lastSeq + 1) this.resync();
      if (this.lastSeq === null || msg.seq > this.lastSeq) this.lastSeq = msg.seq;
    }
    if (msg.source && typeof msg.source === "object") this.source = msg.source;
    var src = this.source || {};
    if (src.stale !== true && src.ready !== false && this.lastServerMs !== null) {
      this.lastGoodServerMs = this.lastServerMs; // what "last update" means in the banner
    }
    var isData = msg.type === "snapshot" || msg.type === "summary" || msg.type === "agents" ||
      msg.type === "intraday";
    if (isData && WB.isNum(msg.seq)) {
      if (this.maxDataSeq === null || msg.seq > this.maxDataSeq) this.maxDataSeq = msg.seq;
    }
    if (msg.type === "heartbeat" && WB.isNum(msg.data_seq) && this.maxDataSeq !== null &&
        msg.data_seq > this.maxDataSeq) {
      this.resync(); // the server sent data we never got (conflated or lost)
    }
    if (msg.type === "snapshot" || msg.type === "summary") {
      this.dataConnId = this.connId;
      this.lastDataAt = now;
    }
    this.onMessage(msg);
    this.evaluate();
  };

  /**
   * The time the current snapshot stands for, now: its as_of plus the time since it arrived,
   * or as_of itself once the data is stale.  Measured from the arrival (not from the server's
   * clock) so that a wait never ticks further than the time that really passed since the data.
   */
  WB.Connection.prototype.dataNow = function (asOfMs) {
    if (asOfMs === null || asOfMs === undefined) return null;
    if (this.state.state === "stale" || this.lastDataAt === null) return asOfMs;
    return asOfMs + Math.max(0, performance.now() - this.lastDataAt);
  };

  /** The server's clock now (ms), estimated from the last server_time plus the time since it arrived. */
  WB.Connection.prototype.serverNow = function () {
    if (this.lastServerMs === null) return Date.now();
    return this.lastServerMs + (performance.now() - this.lastServerAt);
  };

  WB.Connection.prototype.computeState = function () {
    var now = performance.now();
    if (this.dataConnId < 0) return { state: "stale", reason: this.open ? "never" : (this.connId > 1 ? "socket" : "never") };
    if (!this.open) return { state: "stale", reason: "socket" };
    if (this.dataConnId !== this.connId) return { state: "stale", reason: "resync" };
    var src = this.source || {};
    if (src.stale === true) return { state: "stale", reason: "source" };
    if (src.ready === false) return { state: "stale", reason: "catchup" };
    var age = (now - this.lastMsgAt) / 1000;
    if (age > this.staleAfter) return { state: "stale", reason: "timeout", age: age };
    if (age > 2 * this.pushInterval) return { state: "ageing", reason: "ageing", age: age };
    return { state: "fresh", reason: "" };
  };

  WB.Connection.prototype.evaluate = function () {
    var s = this.computeState();
    var now = performance.now();
    if (this.open && this.heardAt !== null) {
      var age = (now - this.heardAt) / 1000;
      // Probe a quiet socket: the server answers a ping with a heartbeat.
      if (age > 2 * this.pushInterval && now - this.lastPingAt > this.pushInterval * 1000) {
        this.lastPingAt = now;
        this.send({ type: "ping" });
      }
      if (this.resyncPending) this.resync();
      // Open for two pushes without the full state it should have started with: ask again.
      if (this.dataConnId !== this.connId && now - this.openedAt > 2000 * this.pushInterval) this.resync();
      // Silent for stale_after: assume a half-open TCP connection and start over.
      if (age > this.staleAfter) this.reconnectNow();
    }
    this.state = s;
    this.onState(s);
  };

  /** Status text for the banner and the status pill, shared by both pages. */
  WB.describeState = function (conn, zone) {
    var s = conn.state;
    var lastMs = conn.lastGoodServerMs !== null ? conn.lastGoodServerMs : conn.lastServerMs;
    var last = lastMs !== null ? WB.fmtTime(lastMs, zone) : WB.DASH;
    var reason = "";
    if (s.reason === "socket") reason = WB.t("reason_socket");
    else if (s.reason === "resync") reason = WB.t("reason_resync");
    else if (s.reason === "source") {
      var why = conn.source && conn.source.stale_reason;
      var known = ["disconnected", "no_recent_events", "pump_failed", "tick_failed"];
      var age = conn.source && WB.isNum(conn.source.last_event_age_s) ? conn.source.last_event_age_s : null;
      if (why === "no_recent_events" && age === null) why = null;
      reason = known.indexOf(why) >= 0 ? WB.t("reason_source_" + why, { n: age === null ? "" : WB.fmtWait(age) })
                                       : WB.t("reason_source");
    }
    else if (s.reason === "catchup") {
      var p = conn.source && WB.isNum(conn.source.catch_up) ? Math.floor(conn.source.catch_up * 100) + "%" : "";
      reason = WB.t("reason_catchup", { p: p });
    } else if (s.reason === "timeout" || s.reason === "ageing") reason = WB.t("reason_timeout", { n: Math.floor(s.age) });
    else if (s.reason === "never") reason = WB.t("reason_never");
    var headline = "";
    if (s.state === "stale") {
      headline = conn.dataConnId < 0 ? WB.t("banner_never") : WB.t("banner_stale", { t: last });
    } else if (s.state === "ageing") {
      headline = WB.t("banner_ageing", { t: last });
    }
    return { headline: headline, reason: reason, pill: WB.t("status_" + s.state) };
  };

  /** Show the state on the page: body[data-state], the banner, the status pill. */
  WB.renderState = function (conn, zone) {
    var s = conn.state;
    var body = document.body;
    WB.setAttr(body, "data-state", s.state);
    WB.setAttr(body, "data-stale-reason", s.reason || "");
    var d = WB.describeState(conn, zone);
    var banner = document.getElementById("stale-banner");
    if (banner) {
      banner.hidden = s.state === "fresh";
      WB.setText(banner.querySelector(".banner-headline"), d.headline);
      WB.setText(banner.querySelector(".banner-reason"), d.reason);
    }
    var pill = document.getElementById("status-pill");
    if (pill) WB.setText(pill, d.pill);
  };
})();
