/* wallboard: the staleness state on the page (docs/board.md "Staleness"), shared by both pages:
 * body[data-state], the banner, the status pill, and the quiet note (#source-note).
 *
 *   WB.staleBanner.init(conn, zoneOf)   zoneOf(): the centre's time zone, once known
 *   WB.staleBanner.render()             after every state change of the connection
 */
(function () {
  "use strict";
  var WB = window.WB;

  var conn = null;
  var zoneOf = function () { return null; };

  /** "12 min", "2 h 5 min": how long ago the newest event was (whole minutes, floor). */
  function ago(seconds) {
    var min = Math.floor(seconds / 60);
    return min < 60 ? WB.t("ago_min", { m: min }) : WB.t("ago_h_min", { h: Math.floor(min / 60), m: min % 60 });
  }

  /** The reason a source gives for being stale (source.stale_reason), in words. */
  function sourceReason() {
    var why = conn.source && conn.source.stale_reason;
    var known = ["disconnected", "lagging", "no_recent_events", "pump_failed", "tick_failed"];
    var age = conn.source && WB.isNum(conn.source.last_event_age_s) ? conn.source.last_event_age_s : null;
    if (why === "no_recent_events" && age === null) why = null;
    return known.indexOf(why) >= 0 ? WB.t("reason_source_" + why, { n: age === null ? "" : ago(age) })
                                   : WB.t("reason_source");
  }

  /** Status text for the banner, the status pill and the quiet note. */
  function describe(zone) {
    var s = conn.state;
    var lastMs = conn.lastGoodServerMs !== null ? conn.lastGoodServerMs : conn.lastServerMs;
    var last = lastMs !== null ? WB.fmtTime(lastMs, zone) : WB.DASH;
    var reason = "";
    if (s.reason === "socket") reason = WB.t("reason_socket");
    else if (s.reason === "resync") reason = WB.t("reason_resync");
    else if (s.reason === "source") reason = sourceReason();
    else if (s.reason === "noevents") reason = WB.t("reason_noevents");
    else if (s.reason === "catchup") {
      var p = conn.source && WB.isNum(conn.source.catch_up) ? Math.floor(conn.source.catch_up * 100) + "%" : "";
      reason = WB.t("reason_catchup", { p: p });
    } else if (s.reason === "timeout" || s.reason === "ageing") reason = WB.t("reason_timeout", { n: Math.floor(s.age) });
    else if (s.reason === "never") reason = WB.t("reason_never");
    var headline = "", note = "";
    // Before the first numbers there is no "last update" to speak of: never a time that would look like one.
    if (s.state === "waiting") headline = WB.t("banner_waiting");
    else if (s.state === "stale") headline = WB.t("banner_stale", { t: last });
    else if (s.state === "ageing") headline = WB.t("banner_ageing", { t: last });
    else if (s.state === "quiet" && conn.source && WB.isNum(conn.source.last_event_age_s)) {
      note = WB.t("quiet_note", { n: ago(conn.source.last_event_age_s) });
    }
    return { headline: headline, reason: reason, note: note, pill: WB.t("status_" + s.state) };
  }

  /** Show the connection's state on the page: body[data-state], the banner, the status pill. */
  function render() {
    if (!conn) return;
    var s = conn.state;
    var body = document.body;
    WB.setAttr(body, "data-state", s.state);
    WB.setAttr(body, "data-stale-reason", s.reason || "");
    var d = describe(zoneOf());
    var banner = document.getElementById("stale-banner");
    if (banner) {
      banner.hidden = s.state === "fresh" || s.state === "quiet";
      WB.setText(banner.querySelector(".banner-headline"), d.headline);
      WB.setText(banner.querySelector(".banner-reason"), d.reason);
    }
    var pill = document.getElementById("status-pill");
    if (pill) WB.setText(pill, d.pill);
    var note = document.getElementById("source-note");
    if (note) {
      note.hidden = !d.note;
      WB.setText(note, d.note);
    }
  }

  WB.staleBanner = {
    init: function (connection, zone) {
      conn = connection;
      zoneOf = zone;
    },
    render: render
  };
})();
