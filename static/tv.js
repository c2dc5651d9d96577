/* wallboard: the TV page.  URL parameters: queues=a,b  channel=<a channel>  lang=zh-CN|en (docs/board.md).
 *
 * The whole centre comes as the `summary` view (its totals); a selection of queues as the
 * `selection` view, which the server sums from its counters and colours with the limits in
 * force (docs/protocol.md).  This file wires the connection to the page's parts:
 * WB.tvPanels (static/tv-panels.js), WB.tvAgents, WB.ticker, WB.staleBanner, and the header.
 */
(function () {
  "use strict";
  var ctx = WB.pageContext();
  var settings = ctx.settings;
  var selection = WB.listParam("queues");
  var names = WB.channelNames(settings);
  var asked = WB.params.get("channel");
  var channels = asked && names.indexOf(asked) >= 0 ? [asked] : names.slice();
  var data = null;
  var zone = null;
  var asOfMs = null;
  var windowLabel = "";
  var blank = null; // shown as dashes: no numbers yet (WB.Connection.waiting)

  WB.setLang(WB.pickLang(ctx.lang));
  document.title = WB.t("title_tv");

  var conn = new WB.Connection({
    views: [selection.length ? "selection" : "summary"],
    queues: selection,
    pushInterval: ctx.pushInterval,
    staleAfter: ctx.staleAfter,
    onMessage: onMessage,
    onState: function () {
      WB.staleBanner.render();
      if (data && conn.waiting() !== blank) render(); // the numbers came, or went (a restarted server replaying)
    }
  });
  var page = {
    channels: channels,
    dataNow: function () { return conn.dataNow(asOfMs); }
  };
  WB.staleBanner.init(conn, function () { return zone; });
  WB.tvPanels.init(page);
  WB.tvAgents.init();
  WB.ticker.init();

  function onMessage(msg) {
    if (msg.type === "hello") {
      settings = msg.settings;
      if (data) render();
    } else if ((msg.type === "summary" || msg.type === "selection") && msg.data) {
      data = msg.data;
      render();
    } else if (msg.type === "broadcast") {
      WB.ticker.render(typeof msg.text === "string" ? msg.text : "");
    }
  }

  function render() {
    zone = data.timezone || null;
    asOfMs = WB.parseTs(data.as_of);
    document.body.setAttribute("data-as-of", data.as_of || "");

    var w = WB.fmtWindow(data.window_s);
    if (w !== windowLabel) {
      windowLabel = w;
      WB.i18nVars.w = w;
      WB.applyI18n(document);
    }

    // Before the first data (the source not caught up, no event ever read) the server's zeros are not
    // numbers: dashes, never zeros that look like a quiet centre.
    blank = conn.waiting();
    var sel = data.selection || null; // the selection view; the summary has the totals instead
    var panels = {};
    channels.forEach(function (ch) {
      panels[ch] = sel ? { chan: sel.channels && !blank ? sel.channels[ch] : null, settings: sel.settings[ch] }
                       : { chan: blank ? null : data.totals.channels[ch], settings: WB.settingsFor(settings, null, ch) };
    });
    WB.tvPanels.render(panels);
    WB.tvAgents.render(blank ? null : sel ? sel.agents : data.totals.agents,
                       blank ? null : sel ? sel.levels : data.totals.levels,
                       blank ? null : sel ? sel.agents_over_limit : data.totals.agents_over_limit);
    renderSelection(sel);
    WB.setText(document.getElementById("as-of"), asOfMs === null || blank ? WB.t("as_of_none")
                                                 : WB.t("as_of", { t: WB.fmtTime(asOfMs, zone) }));
    tick();
  }

  /** The header: the queues shown, and those asked for that today's data does not know. */
  function renderSelection(sel) {
    var label = document.getElementById("selection-label");
    if (!sel) WB.setText(label, WB.t("all_queues"));
    else WB.setText(label, WB.t("queues_selected", { list: sel.queues.join(", ") || WB.DASH }));
    WB.setAttr(label, "title", label.textContent); // cut with an ellipsis when too long for the screen
    var missing = sel ? sel.missing : [];
    var miss = document.getElementById("selection-missing");
    miss.hidden = !missing.length;
    WB.setText(miss, missing.length ? WB.t("unknown_queues", { list: missing.join(", ") }) : "");
  }

  /** Every 250 ms: the clock and the longest wait. */
  function tick() {
    WB.setText(document.getElementById("clock"), WB.fmtTime(conn.serverNow(), zone));
    WB.tvPanels.tick();
  }

  window.addEventListener("resize", function () {
    document.querySelectorAll(".tile-value, .agent-value").forEach(WB.fitText);
  });

  window.setInterval(tick, 250);
  conn.start();
  WB.staleBanner.render();
  WB.tv = { conn: conn, panels: WB.tvPanels.shown }; // for debugging from the console
})();
