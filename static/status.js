/* wallboard: the staleness state on the page (docs/board.md "Staleness"), shared by both pages:
 * body[data-state], the banner, the status pill.
 *
 *   WB.staleBanner.init(conn, zoneOf)   zoneOf(): the centre's time zone, once known
 *   WB.staleBanner.render()             after every state change of the connection
 */
(function () {
  "use strict";
  var WB = window.WB;

  var conn = null;
  var zoneOf = function () { return null; };

  /** Status text for the banner and the status pill. */
  function describe(zone) {
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
      banner.hidden = s.state === "fresh";
      WB.setText(banner.querySelector(".banner-headline"), d.headline);
      WB.setText(banner.querySelector(".banner-reason"), d.reason);
    }
    var pill = document.getElementById("status-pill");
    if (pill) WB.setText(pill, d.pill);
  }

  WB.staleBanner = {
    init: function (connection, zone) {
      conn = connection;
      zoneOf = zone;
    },
    render: render
  };
})();
