/* wallboard: the supervisor page.  Subscribes to the snapshot, agents and intraday views (the
 * last two as deltas after their first full message: docs/protocol.md "Deltas", static/deltas.js)
 * and hands each message to the part of the page that shows it: WB.svQueues (the queue table),
 * WB.svAgents (the agent list), WB.svChart (today's intervals), WB.svBroadcast (the broadcast
 * form), WB.svSource (the footer) and WB.staleBanner.  Staleness, languages and escaping follow
 * the same rules as the TV page (docs/board.md).
 */
(function () {
  "use strict";
  var ctx = WB.pageContext();
  var page = {
    conn: null,
    settings: ctx.settings,
    channels: WB.channelNames(ctx.settings),
    snapshot: null,
    zone: null,
    asOfMs: null
  };

  WB.setLang(WB.pickLang(ctx.lang));
  var received = null; // the newest snapshot's data
  var haveAgents = false;
  var intraday = null;  // the intraday view as of the newest message (full, or patched by its deltas)
  var blank = null;    // shown as dashes: no numbers yet (WB.Connection.waiting)

  var conn = page.conn = new WB.Connection({
    views: ["snapshot", "agents", "intraday"],
    deltas: true,
    pushInterval: ctx.pushInterval,
    staleAfter: ctx.staleAfter,
    onMessage: onMessage,
    onState: function () {
      WB.staleBanner.render();
      WB.svSource.render();
      if (conn.waiting() !== blank) { // the numbers came, or went (a restarted server replaying)
        if (received) renderSnapshot();
        if (haveAgents) WB.svAgents.blank(conn.waiting());
      }
    }
  });
  var tracker = new WB.deltas.Tracker(conn);
  WB.staleBanner.init(conn, function () { return page.zone; });
  [WB.svQueues, WB.svAgents, WB.svChart, WB.svBroadcast, WB.svSource, WB.svAlerts].forEach(function (part) {
    part.init(page);
  });

  function onMessage(msg) {
    if (msg.type === "hello") {
      tracker.reset(); // a new socket: it starts with the full views
      page.settings = msg.settings;
      WB.svBroadcast.settings();
      if (received) renderSnapshot();
    } else if (msg.type === "snapshot" && msg.data) {
      received = msg.data;
      renderSnapshot();
    } else if (msg.type === "agents" && msg.data) {
      tracker.full("agents", msg);
      haveAgents = true;
      WB.svAgents.blank(conn.waiting());
      WB.svAgents.render(msg.data);
    } else if (msg.type === "agents_delta" && tracker.accepts("agents", msg)) {
      WB.svAgents.update(msg.data);
    } else if (msg.type === "intraday" && msg.data) {
      tracker.full("intraday", msg);
      intraday = msg.data;
      WB.svChart.render(intraday, null);
    } else if (msg.type === "intraday_delta" && tracker.accepts("intraday", msg)) {
      var next = WB.deltas.applyIntraday(intraday, msg.data);
      if (next === null) { // not of the view we have: never show a half-patched chart
        tracker.reset();
        conn.resync();
      } else {
        intraday = next;
        WB.svChart.render(intraday, msg.data);
      }
    } else if (msg.type === "broadcast") {
      WB.svBroadcast.render({ text: msg.text, set_at: msg.set_at });
    } else if (msg.type === "alerts" && Array.isArray(msg.alerts)) {
      WB.svAlerts.render(msg.alerts);
    }
  }

  /** Before the first data the server's zeros are not numbers: no queue rows, dashes in the totals. */
  function renderSnapshot() {
    blank = conn.waiting();
    var snapshot = received;
    if (blank) snapshot = Object.assign({}, received, { queues: {}, totals: { channels: {}, agents: null } });
    page.snapshot = snapshot;
    page.zone = snapshot.timezone || null;
    page.asOfMs = WB.parseTs(snapshot.as_of);
    document.body.setAttribute("data-as-of", snapshot.as_of || "");
    var w = WB.fmtWindow(snapshot.window_s);
    if (WB.i18nVars.w !== w) {
      WB.i18nVars.w = w;
      WB.applyI18n(document);
    }
    WB.setText(document.getElementById("as-of"), page.asOfMs === null || blank ? WB.t("as_of_none")
                                                  : WB.t("as_of", { t: WB.fmtTime(page.asOfMs, page.zone) }));
    WB.svQueues.render();
    WB.svSource.render();
    WB.svAgents.filters();
  }

  // ---------------------------------------------------------------- language

  var langSelect = document.getElementById("lang-select");
  langSelect.value = WB.lang;
  langSelect.addEventListener("change", function () {
    WB.setLang(langSelect.value);
    var u = new URL(window.location.href);
    u.searchParams.set("lang", WB.lang);
    window.history.replaceState(null, "", u.toString());
    relabel();
  });

  /** Everything whose text depends on the language and is not a [data-i18n] element. */
  function relabel() {
    document.title = WB.t("title_supervisor");
    document.getElementById("tv-link").setAttribute("href", "tv?lang=" + encodeURIComponent(WB.lang));
    [WB.svQueues, WB.svAgents, WB.svChart, WB.svBroadcast].forEach(function (part) { part.relabel(); });
    WB.svSource.render();
    WB.staleBanner.render();
  }

  function tick() {
    WB.setText(document.getElementById("clock"), WB.fmtTime(conn.serverNow(), page.zone));
    WB.svQueues.tick();
    WB.svAgents.tick();
  }

  relabel();
  window.setInterval(tick, 1000);
  conn.start();
  WB.supervisor = { conn: conn, page: page }; // for debugging from the console
})();
