/* wallboard: the TV page.  URL parameters: queues=a,b  channel=<a channel>  lang=zh-CN|en (docs/board.md).
 *
 * The whole centre comes as the `summary` view (its totals); a selection of queues as the
 * `selection` view, which the server sums from its counters and colours with the limits in
 * force (docs/protocol.md); a named board (/tv/NAME) as the `board` view: its rows (layout
 * "grid", WB.tvGrid, static/tv-grid.js) or the sum of all it shows (layout "channels").
 * This file wires the connection to the page's parts: WB.tvPanels (static/tv-panels.js),
 * WB.tvAgents, WB.tvGrid, WB.ticker, WB.staleBanner, the alerts banner (WB.alerts, static/alerts.js),
 * and the header.
 */
(function () {
  "use strict";
  var ctx = WB.pageContext();
  var settings = ctx.settings;
  var head = document.querySelector(".tv-header").dataset;
  var boardName = head.board || ""; // a named board: its settings are the server's, not the URL's
  var grid = head.layout === "grid";
  var selection = boardName ? [] : WB.listParam("queues");
  var names = WB.channelNames(settings);
  var asked = WB.params.get("channel");
  var channels = asked && names.indexOf(asked) >= 0 ? [asked] : names.slice();
  var data = null;
  var zone = null;
  var asOfMs = null;
  var windowLabel = "";
  var blank = null; // shown as dashes: no numbers yet (WB.Connection.waiting)

  WB.setLang(WB.pickLang(ctx.lang));
  var title = boardName ? (WB.lang === "zh-CN" ? head.titleZh : head.titleEn) : WB.t("title_tv");
  document.title = title;
  if (boardName) WB.setText(document.getElementById("board-title"), title);

  var conn = new WB.Connection({
    views: [boardName ? "board" : selection.length ? "selection" : "summary"],
    queues: selection,
    board: boardName,
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
  if (grid) WB.tvGrid.init(page);
  else {
    WB.tvPanels.init(page);
    WB.tvAgents.init();
  }
  WB.ticker.init();

  function onMessage(msg) {
    if (msg.type === "hello") {
      settings = msg.settings;
      if (data) render();
    } else if ((msg.type === "summary" || msg.type === "selection" || msg.type === "board") && msg.data) {
      data = msg.data;
      render();
    } else if (msg.type === "broadcast") {
      WB.ticker.render(typeof msg.text === "string" ? msg.text : "");
    } else if (msg.type === "alerts" && Array.isArray(msg.alerts)) {
      alerts = msg.alerts;
      renderAlerts();
    }
  }

  var alerts = [];
  /** The firing alerts that concern what this TV shows (static/alerts.js), in the banner under the header. */
  function renderAlerts() {
    var queues = selection, groups = [];
    var board = data && data.board;
    if (board) {
      queues = board.queues.slice();
      groups = board.groups.slice();
      (board.rows || []).forEach(function (row) { queues = queues.concat(row.queues || []); });
      if (board.total) queues = queues.concat(board.total.queues || []);
    }
    WB.alerts.banner(document.getElementById("tv-alerts"), alerts.filter(function (row) {
      return WB.alerts.concerns(row, queues, groups);
    }));
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
    if (grid) {
      WB.tvGrid.render(data.board, blank);
      renderBoardHeader(data.board);
      renderAsOf();
      renderAlerts();
      return;
    }
    // the selection view, or a channels board's sum; the summary has the totals instead
    var sel = data.selection || (data.board ? data.board.total : null);
    var panels = {};
    channels.forEach(function (ch) {
      panels[ch] = sel ? { chan: sel.channels && !blank ? sel.channels[ch] : null, settings: sel.settings[ch] }
                       : { chan: blank ? null : data.totals.channels[ch], settings: WB.settingsFor(settings, null, ch) };
    });
    WB.tvPanels.render(panels);
    WB.tvAgents.render(blank ? null : sel ? sel.agents : data.totals.agents,
                       blank ? null : sel ? sel.levels : data.totals.levels,
                       blank ? null : sel ? sel.agents_over_limit : data.totals.agents_over_limit);
    if (data.board) renderBoardHeader(data.board, sel);
    else renderSelection(sel);
    renderAsOf();
    if (data.board) renderAlerts(); // a board's queues are known from its data
  }

  function renderAsOf() {
    WB.setText(document.getElementById("as-of"), asOfMs === null || blank ? WB.t("as_of_none")
                                                 : WB.t("as_of", { t: WB.fmtTime(asOfMs, zone) }));
    tick();
  }

  /**
   * A named board's header: what it shows.  A grid names its rows one by one, so the header counts them;
   * a channels board lists its groups and queues on the header's line, every name when they fit, else as
   * many as fit and how many more (never cut mid-name; the whole list in the tooltip).
   */
  function renderBoardHeader(board, sel) {
    var label = document.getElementById("selection-label");
    var all = board.groups.length + board.queues.length;
    WB.setAttr(label, "title", listText(board, all));
    label.classList.toggle("fit", !grid);
    if (grid) {
      WB.setText(label, WB.t("board_rows", { n: board.rows.length }));
    } else {
      var shown = all;
      WB.setText(label, listText(board, shown));
      while (shown > 1 && label.scrollWidth > label.clientWidth + 1) {
        shown -= 1;
        WB.setText(label, listText(board, shown));
      }
      WB.setAttr(label, "data-shown", shown);
    }
    var missing = sel ? sel.missing : [];
    var miss = document.getElementById("selection-missing");
    miss.hidden = !missing.length;
    WB.setText(miss, missing.length ? WB.t("unknown_queues", { list: missing.join(", ") }) : "");
  }

  /** "Groups: a, b · Queues: c, d", the first `shown` names of the board (groups first), then "+N more". */
  function listText(board, shown) {
    var groups = board.groups.slice(0, shown);
    var queues = board.queues.slice(0, Math.max(0, shown - groups.length));
    var parts = [];
    if (groups.length) parts.push(WB.t("board_groups", { list: groups.join(", ") }));
    if (queues.length) parts.push(WB.t("queues_selected", { list: queues.join(", ") }));
    var rest = board.groups.length + board.queues.length - shown;
    return parts.join(" · ") + (rest > 0 ? " " + WB.t("board_more", { n: rest }) : "");
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
    // A board's list was measured in the fonts of its render; a fallback font loaded since may widen it.
    var label = boardName && !grid ? document.getElementById("selection-label") : null;
    if (label && label.scrollWidth > label.clientWidth + 1) refitHeader();
    if (grid) WB.tvGrid.tick();
    else WB.tvPanels.tick();
  }

  function refitHeader() {
    if (data && data.board && !grid) renderBoardHeader(data.board, data.board.total);
  }

  window.addEventListener("resize", function () {
    refitHeader();
    document.querySelectorAll(".tile-value, .agent-value, .g-value").forEach(WB.fitText);
  });

  window.setInterval(tick, 250);
  conn.start();
  WB.staleBanner.render();
  WB.tv = { conn: conn, panels: grid ? null : WB.tvPanels.shown }; // for debugging from the console
})();
