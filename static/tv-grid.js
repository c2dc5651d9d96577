/* wallboard: a named board's grid (/tv/NAME with layout "grid", templates/tv.html): one row per group and
 * queue, each the server's sum of its queues with its levels, the row's worst level first.
 *
 *   WB.tvGrid.init(page)          page.channels: the channels shown; page.dataNow(): the data's time now (ms)
 *   WB.tvGrid.render(board, blank) board: the `board` view's block (rows, rows_per_page, rotate_s, order);
 *                                  blank: no numbers yet (dashes)
 *   WB.tvGrid.tick()              every 250 ms: the ticking longest waits, the rows' levels, order and page
 *
 * Every level is the server's (wallboard/boards.py): a row's colour follows its `level_steps`, the
 * schedule of its worst level as the longest waits tick between pushes, as the tiles follow
 * `longest_wait_steps`.  Ordered worst first, the rows are sorted by that level, then as listed.
 * More rows than rows_per_page make pages, shown in turn every rotate_s seconds (on the wall clock,
 * so that every screen showing the board turns its page at the same moment).
 */
(function () {
  "use strict";
  var WB = window.WB;
  var page = null;
  var board = null;
  var blank = true;
  var RANK = { none: 0, ok: 1, warn: 2, alarm: 3 };
  var METRICS = ["waiting", "longest_wait", "sl_window"];

  function init(p) {
    page = p;
    var grid = document.getElementById("grid");
    document.querySelectorAll("#grid [data-channel]").forEach(function (el) {
      el.hidden = page.channels.indexOf(el.getAttribute("data-channel")) < 0;
    });
    grid.style.setProperty("--grid-values", String(page.channels.length * METRICS.length));
  }

  /** A row's level at nowMs from its schedule: the last step at or before now, else its level as of the data. */
  function rowLevel(row, nowMs) {
    var level = row.level || null;
    var steps = row.level_steps || [];
    if (nowMs === null) return level;
    for (var i = 0; i < steps.length; i++) {
      var at = WB.parseTs(steps[i].from);
      if (at !== null && at <= nowMs) level = steps[i].level;
    }
    return level;
  }

  function render(b, isBlank) {
    board = b;
    blank = isBlank;
    tick();
  }

  function cell(rowEl, ch, metric) {
    return rowEl.querySelector('.g-cell[data-channel="' + ch + '"][data-metric="' + metric + '"]');
  }

  function makeRow() {
    var row = WB.el("div", { "class": "g-row", "data-level": "none" });
    row.appendChild(WB.el("div", { "class": "g-mark", "aria-hidden": "true" }));
    row.appendChild(WB.el("div", { "class": "g-name" }));
    page.channels.forEach(function (ch) {
      METRICS.forEach(function (metric) {
        var c = WB.el("div", { "class": "g-cell", "data-channel": ch, "data-metric": metric, "data-level": "none" });
        c.appendChild(WB.el("span", { "class": "g-value", "data-raw": "" }, WB.DASH));
        row.appendChild(c);
      });
    });
    var agents = WB.el("div", { "class": "g-cell", "data-metric": "available", "data-level": "none" });
    agents.appendChild(WB.el("span", { "class": "g-value", "data-raw": "" }, WB.DASH));
    row.appendChild(agents);
    return row;
  }

  function setCell(c, text, raw, level) {
    if (!c) return;
    var v = c.querySelector(".g-value");
    if (v.textContent !== text) {
      v.textContent = text;
      WB.fitText(v);
    }
    WB.setAttr(v, "data-raw", raw === null || raw === undefined ? "null" : raw);
    WB.setAttr(c, "data-level", WB.levelAttr(level));
  }

  function fillRow(el, row, level, now) {
    WB.setAttr(el, "data-name", row.name);
    WB.setAttr(el, "data-kind", row.kind);
    WB.setAttr(el, "data-level", WB.levelAttr(blank ? null : level));
    WB.setAttr(el, "data-missing", row.channels ? "0" : "1");
    var name = el.querySelector(".g-name");
    WB.setText(name, row.name);
    WB.setAttr(name, "title", row.kind === "group" ? row.name + ": " + row.queues.concat(row.missing).join(", ")
                                                   : row.channels ? row.name : row.name + " (" + WB.t("grid_not_seen") + ")");
    page.channels.forEach(function (ch) {
      var c = !blank && row.channels ? row.channels[ch] : null;
      var levels = (c && c.levels) || {};
      var win = (c && c.window) || {};
      setCell(cell(el, ch, "waiting"), c ? WB.fmtCount(c.waiting) : WB.DASH, c ? c.waiting : null, levels.waiting);
      setCell(cell(el, ch, "sl_window"), c ? WB.fmtPct(win.service_level) : WB.DASH,
              c ? win.service_level : null, (levels.window || {}).service_level);
      var since = c ? WB.parseTs(c.longest_wait_since) : null;
      if (!c || !WB.isNum(c.longest_wait_s) || since === null) {
        setCell(cell(el, ch, "longest_wait"), WB.DASH, null, null);
      } else {
        // Ticks on while the data is fresh; once stale it stays at the value as of the data.
        var wait = now === null ? c.longest_wait_s : Math.max(c.longest_wait_s, (now - since) / 1000);
        setCell(cell(el, ch, "longest_wait"), WB.fmtTicking(wait), c.longest_wait_s, WB.stepLevel(c.levels, now));
      }
    });
    var agents = !blank && row.agents ? row.agents.available : null;
    var agentLevels = (row.levels && row.levels.agents) || {};
    setCell(el.querySelector('.g-cell[data-metric="available"]'), WB.fmtCount(agents), agents,
            blank ? null : agentLevels.available);
  }

  function tick() {
    if (!board) return;
    var now = page.dataNow();
    var rows = board.rows.map(function (row) { return { row: row, level: rowLevel(row, now) }; });
    if (board.order === "worst_first" && !blank) {
      rows.sort(function (a, b) {
        return (RANK[WB.levelAttr(b.level)] - RANK[WB.levelAttr(a.level)]) || (a.row.position - b.row.position);
      });
    }
    var per = Math.max(1, board.rows_per_page || rows.length || 1);
    var pages = Math.max(1, Math.ceil(rows.length / per));
    var index = pages > 1 && board.rotate_s > 0 ? Math.floor(Date.now() / 1000 / board.rotate_s) % pages : 0;
    var shown = rows.slice(index * per, index * per + per);
    var label = document.getElementById("grid-page");
    label.hidden = pages < 2;
    WB.setText(label, pages < 2 ? "" : WB.t("grid_page", { i: index + 1, n: pages }));
    var box = document.getElementById("grid-rows");
    WB.setAttr(box, "data-page", index + 1);
    box.style.setProperty("--grid-rows", String(Math.min(per, Math.max(rows.length, 1))));
    while (box.children.length < shown.length) box.appendChild(makeRow());
    while (box.children.length > shown.length) box.removeChild(box.lastChild);
    shown.forEach(function (r, i) { fillRow(box.children[i], r.row, r.level, now); });
  }

  WB.tvGrid = { init: init, render: render, tick: tick };
})();
