/* wallboard: display rounding (docs/board.md "Rounding").  Every function takes the server's
 * unrounded value and gives the text on screen; null (undefined) is always a dash. */
(function () {
  "use strict";
  var WB = window.WB;

  /** A rate 0..1 as a whole percent ("94%"), half up; null -> dash. */
  WB.fmtPct = function (v) {
    if (!WB.isNum(v)) return WB.DASH;
    return Math.round(v * 100) + "%";
  };

  var countFormats = {};
  /** A count, whole, with the language's thousands separators ("63,767" in zh-CN and en); null -> dash. */
  WB.fmtCount = function (v) {
    if (!WB.isNum(v)) return WB.DASH;
    var lang = WB.lang || "en";
    if (!countFormats[lang]) {
      try {
        countFormats[lang] = new Intl.NumberFormat(lang, { maximumFractionDigits: 0, useGrouping: true });
      } catch (e) {
        countFormats[lang] = new Intl.NumberFormat("en", { maximumFractionDigits: 0, useGrouping: true });
      }
    }
    return countFormats[lang].format(Math.round(v));
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

  function cachedFormat(cache, zone, opts) {
    var key = zone || "";
    if (!cache[key]) {
      try {
        if (zone) opts.timeZone = zone;
        cache[key] = new Intl.DateTimeFormat("en-GB", opts);
      } catch (e) {
        delete opts.timeZone;
        cache[key] = new Intl.DateTimeFormat("en-GB", opts);
      }
    }
    return cache[key];
  }

  var timeFormats = {};
  /** A time of day (HH:MM:SS, 24 h) in the contact centre's zone (the snapshot's `timezone`). */
  WB.fmtTime = function (ms, zone) {
    if (!WB.isNum(ms)) return WB.DASH;
    var opts = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
    return cachedFormat(timeFormats, zone, opts).format(new Date(ms));
  };

  var hhmmFormats = {};
  /** HH:MM (24 h) in the centre's zone: the chart's time axis. */
  WB.fmtHHMM = function (ms, zone) {
    var opts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    return cachedFormat(hhmmFormats, zone, opts).format(new Date(ms));
  };

  /** The rolling window's length as a label ("30 min"). */
  WB.fmtWindow = function (windowS) {
    if (!WB.isNum(windowS)) return "";
    return windowS % 60 === 0 ? WB.t("window_len", { n: windowS / 60 }) : WB.t("window_len_s", { n: windowS });
  };
})();
