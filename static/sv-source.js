/* wallboard: the supervisor's footer: the source's state (from the messages' `source` block) and
 * the ingestion figures (the snapshot's `status`).
 *
 *   WB.svSource.init(page)   page.conn, and the current page.snapshot, page.zone
 *   WB.svSource.render()     after a snapshot, a state change, or a change of language
 */
(function () {
  "use strict";
  var WB = window.WB;
  var page = null;

  function render() {
    var parts = [];
    var src = page.conn.source || {};
    parts.push(WB.t("src_label") + (src.kind ? ": " + src.kind : ""));
    if (src.ready === true) parts.push(WB.t("src_ready"));
    if (src.ready === false) parts.push(WB.t("src_not_ready"));
    if (src.connected === false) parts.push(WB.t("src_disconnected"));
    if (WB.isNum(src.lag) && src.lag > 0) parts.push(WB.t("src_lag", { n: src.lag }));
    var st = page.snapshot ? page.snapshot.status : null;
    if (st) {
      parts.push(WB.t("src_events", { n: WB.fmtCount(st.events) }));
      var rejected = 0;
      Object.keys(st.rejected).forEach(function (k) { rejected += st.rejected[k]; });
      parts.push(WB.t("src_rejected", { n: WB.fmtCount(rejected) }));
      parts.push(WB.t("src_duplicates", { n: WB.fmtCount(st.duplicates) }));
      parts.push(WB.t("src_orphans", { n: WB.fmtCount(st.orphans) }));
      var last = WB.parseTs(st.last_event_ts);
      if (last !== null) parts.push(WB.t("src_last_event", { t: WB.fmtTime(last, page.zone) }));
    }
    WB.setText(document.getElementById("source-status"), parts.join(" · "));
  }

  WB.svSource = { init: function (p) { page = p; }, render: render };
})();
