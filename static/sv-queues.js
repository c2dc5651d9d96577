/* wallboard: the supervisor's queue table: one row per queue and channel, grouped by queue (a <tbody>
 * per queue: a heading row that folds the group, then its channel rows); with [groups] in the settings,
 * the queues come under their department (queue group): a section per group with its own numbers (the
 * server's, exact: the snapshot's `groups`), which folds its queues, then the queues in no group; an "All queues" row per
 * channel (the snapshot's totals), every metric of metrics.md, sortable, filtered by channel;
 * above it, the formula, threshold and target of each channel.  The queue and channel columns and
 * the heading stay in view while the table scrolls (static/supervisor.css); names cut short have
 * their full text in `title`.
 *
 *   WB.svQueues.init(page)   page.channels, page.conn, and the current page.snapshot, page.settings,
 *                            page.asOfMs (read at each render)
 *   WB.svQueues.render()     after a snapshot (or new settings)
 *   WB.svQueues.tick()       the longest waits, every second
 *   WB.svQueues.relabel()    after a change of language
 *
 * Cells are coloured with the levels the server put in each channel view, and the agent columns with those
 * of the queue or the totals (wallboard/levels.py).
 */
(function () {
  "use strict";
  var WB = window.WB;
  var page = null;
  var table, head, foot, channelFilter;
  var rows = new Map(); // "queue\u0000channel" -> row
  var groups = new Map(); // queue -> {queue, tbody, head (tr), toggle (button), rows: [row]}
  var folded = new Set(); // queues whose channel rows are hidden
  var depts = new Map(); // group name -> {name, tbody, head, toggle, rows: [row], queues: [queue]} ([groups])
  var foldedDepts = new Set(); // groups whose queues are hidden
  var deptOf = new Map(); // queue -> the first group that lists it
  var totalRows = null; // one per channel
  var sort = { key: "queue", dir: 1 };

  var PERIOD = WB.PERIOD_FIELDS;
  var COLUMNS = ["queue", "channel", "waiting", "longest_wait_s", "in_progress"]
    .concat(PERIOD.map(function (f) { return "window." + f; }))
    .concat(PERIOD.map(function (f) { return "today." + f; }))
    .concat(WB.AGENT_STATES.map(function (s) { return "agents." + s; }));

  /** A column's value, by its key: "waiting", "window.service_level", "agents.busy"... */
  function fieldValue(row, key) {
    if (key === "queue") return row.queue;
    if (key === "channel") return row.channel;
    var dot = key.indexOf(".");
    if (dot < 0) return row.data ? row.data[key] : null;
    var group = key.slice(0, dot), f = key.slice(dot + 1);
    if (group === "agents") return row.agents ? row.agents[f] : null;
    var p = row.data ? row.data[group] : null;
    return p ? p[f] : null;
  }

  /** The server's level of a cell: its levels object has the same keys as the view it colours (the channel
   *  view's; for the agent columns, the queue's or the totals', whose levels.agents.available weighs the
   *  agents available against the customers waiting in every channel). */
  function levelOf(row, key) {
    var agentCol = key.indexOf("agents.") === 0;
    var levels = agentCol ? row.queueLevels : row.data ? row.data.levels : null;
    if (!levels) return null;
    var dot = key.indexOf(".");
    if (dot < 0) return levels[key] === undefined ? null : levels[key];
    var group = levels[key.slice(0, dot)];
    return group ? group[key.slice(dot + 1)] : null;
  }

  function formatField(key, v) {
    var f = key.slice(key.indexOf(".") + 1);
    if (f === "service_level" || f === "abandon_rate") return WB.fmtPct(v);
    if (f === "asa_s" || f === "longest_wait_s") return WB.fmtWait(v);
    if (f === "aht_s") return WB.fmtMSS(v);
    return WB.fmtCount(v);
  }

  function makeRow(queue, channel, isTotal) {
    var tr = WB.el("tr", { "data-channel": channel });
    if (isTotal) tr.setAttribute("data-total", "1");
    else tr.setAttribute("data-queue", queue);
    var cells = {};
    COLUMNS.forEach(function (key) {
      var text = key === "queue" || key === "channel";
      var td = WB.el(key === "queue" ? "th" : "td", { "data-col": key, "class": text ? "text" : "num" });
      if (key === "queue") td.setAttribute("scope", "row");
      if (key === "queue" && !isTotal) td.setAttribute("title", queue); // the full name when it is cut
      if (key === "window.offered" || key === "today.offered" || key === "agents.available") {
        td.className += " grp-start";
      }
      cells[key] = td;
      tr.appendChild(td);
    });
    return { tr: tr, cells: cells, queue: queue, channel: channel, isTotal: isTotal, data: null, agents: null,
             queueLevels: null, sinceMs: null };
  }

  function fillRow(row) {
    COLUMNS.forEach(function (key) {
      var td = row.cells[key];
      if (key === "queue") { WB.setText(td, row.isTotal ? WB.t("total") : row.queue); return; }
      if (key === "channel") { WB.setText(td, WB.t("ch_" + row.channel)); return; }
      if (key === "longest_wait_s") { tickRow(row); return; }
      var v = fieldValue(row, key);
      WB.setText(td, formatField(key, v));
      WB.setAttr(td, "data-raw", WB.isNum(v) ? v : "null");
      WB.setAttr(td, "data-level", WB.levelAttr(levelOf(row, key)));
    });
  }

  /** The longest wait ticks in the browser from `since`, like on the TV, while the data is fresh. */
  function tickRow(row) {
    var td = row.cells.longest_wait_s;
    var v = row.data ? row.data.longest_wait_s : null;
    var shown = v;
    var now = page.conn.dataNow(page.asOfMs);
    if (WB.isNum(v) && row.sinceMs !== null && now !== null) {
      shown = Math.max(v, (now - row.sinceMs) / 1000);
    }
    WB.setText(td, WB.isNum(shown) ? WB.fmtTicking(shown) : WB.DASH);
    WB.setAttr(td, "data-raw", WB.isNum(v) ? v : "null");
    WB.setAttr(td, "data-level", WB.levelAttr(row.data ? WB.stepLevel(row.data.levels, now) : null));
  }

  function setData(row, chan, node) {
    row.data = chan || null;
    row.agents = node ? node.agents : null;
    row.queueLevels = node ? node.levels || null : null;
    row.sinceMs = chan ? WB.parseTs(chan.longest_wait_since) : null;
    fillRow(row);
  }

  /** A queue's group: its own <tbody>, a heading row (the name, a button that folds the group), its rows. */
  function makeGroup(queue) {
    var toggle = WB.el("button", { type: "button", "class": "group-toggle", "aria-expanded": "true" });
    var name = WB.el("span", { "class": "group-name" }, queue);
    var th = WB.el("th", { scope: "rowgroup", colspan: "2", "class": "text", title: queue });
    th.appendChild(toggle);
    th.appendChild(name);
    var tr = WB.el("tr", { "class": "group-head", "data-group": queue });
    tr.appendChild(th);
    tr.appendChild(WB.el("td", { colspan: String(COLUMNS.length - 2) }));
    var tbody = WB.el("tbody", { "class": "queue-group", "data-group": queue });
    tbody.appendChild(tr);
    var group = { queue: queue, tbody: tbody, head: tr, toggle: toggle, rows: [] };
    toggle.addEventListener("click", function () {
      if (folded.has(queue)) folded.delete(queue);
      else folded.add(queue);
      applyFilter();
    });
    labelToggle(group);
    table.insertBefore(tbody, foot);
    return group;
  }

  function labelToggle(group) {
    var open = !folded.has(group.queue);
    WB.setAttr(group.toggle, "aria-expanded", open ? "true" : "false");
    WB.setText(group.toggle, open ? "\u25BE" : "\u25B8");
    WB.setAttr(group.toggle, "aria-label", WB.t(open ? "group_fold" : "group_unfold", { q: group.queue }));
  }

  function render() {
    var snapshot = page.snapshot;
    var queues = snapshot.queues;
    var seen = new Set(); // not {}: a queue named "__proto__" is a queue like any other
    Object.keys(queues).forEach(function (q) {
      var group = groups.get(q);
      if (!group) { group = makeGroup(q); groups.set(q, group); }
      page.channels.forEach(function (ch) {
        var key = q + "\u0000" + ch;
        seen.add(key);
        var row = rows.get(key);
        if (!row) {
          row = makeRow(q, ch, false);
          rows.set(key, row);
          group.rows.push(row);
          group.tbody.appendChild(row.tr);
        }
        setData(row, queues[q].channels[ch], queues[q]);
      });
    });
    rows.forEach(function (row, key) {
      if (!seen.has(key)) { row.tr.remove(); rows.delete(key); }
    });
    groups.forEach(function (group, q) {
      group.rows = group.rows.filter(function (row) { return rows.has(q + "\u0000" + row.channel); });
      if (!group.rows.length) { group.tbody.remove(); groups.delete(q); folded.delete(q); }
    });
    if (!totalRows) {
      totalRows = page.channels.map(function (ch) {
        var row = makeRow(null, ch, true);
        foot.appendChild(row.tr);
        return row;
      });
    }
    totalRows.forEach(function (row) {
      setData(row, snapshot.totals.channels[row.channel], snapshot.totals);
    });
    renderDepts(snapshot.groups || {});
    sortRows();
    applyFilter();
    renderFormulas();
  }

  /** The departments ([groups]): a section each, with the group's numbers per channel, folding its queues. */
  function renderDepts(blocks) {
    var names = Object.keys(blocks);
    deptOf = new Map();
    names.forEach(function (name) {
      var block = blocks[name];
      var dept = depts.get(name);
      if (!dept) {
        var toggle = WB.el("button", { type: "button", "class": "group-toggle", "aria-expanded": "true" });
        var th = WB.el("th", { scope: "rowgroup", colspan: "2", "class": "text", title: name });
        th.appendChild(toggle);
        th.appendChild(WB.el("span", { "class": "group-name" }, name));
        var tr = WB.el("tr", { "class": "dept-head", "data-dept": name });
        tr.appendChild(th);
        var count = WB.el("td", { colspan: String(COLUMNS.length - 2), "class": "text dept-count" });
        tr.appendChild(count);
        var tbody = WB.el("tbody", { "class": "dept-group", "data-dept": name });
        tbody.appendChild(tr);
        dept = { name: name, tbody: tbody, head: tr, toggle: toggle, count: count, rows: [], queues: [] };
        page.channels.forEach(function (ch) {
          var row = makeRow(name, ch, false);
          row.tr.removeAttribute("data-queue");
          row.tr.setAttribute("data-dept", name);
          row.dept = true;
          dept.rows.push(row);
          tbody.appendChild(row.tr);
        });
        toggle.addEventListener("click", function () {
          if (foldedDepts.has(name)) foldedDepts.delete(name);
          else foldedDepts.add(name);
          applyFilter();
        });
        depts.set(name, dept);
      }
      dept.queues = (block.queues || []).slice();
      dept.queues.forEach(function (q) { if (!deptOf.has(q)) deptOf.set(q, name); });
      WB.setText(dept.count, WB.t("dept_queues", { n: dept.queues.length }));
      dept.rows.forEach(function (row) {
        setData(row, block.channels ? block.channels[row.channel] : null, block);
      });
    });
    depts.forEach(function (dept, name) {
      if (names.indexOf(name) < 0) { dept.tbody.remove(); depts.delete(name); foldedDepts.delete(name); }
    });
  }

  function shownByFilter(row) {
    var ch = channelFilter.value;
    return !ch || row.channel === ch;
  }

  function applyFilter() {
    rows.forEach(function (row) { row.tr.hidden = !shownByFilter(row) || folded.has(row.queue); });
    if (totalRows) totalRows.forEach(function (row) { row.tr.hidden = !shownByFilter(row); });
    groups.forEach(function (group, q) {
      group.tbody.hidden = deptOf.has(q) && foldedDepts.has(deptOf.get(q));
      labelToggle(group);
    });
    depts.forEach(function (dept) {
      dept.rows.forEach(function (row) { row.tr.hidden = !shownByFilter(row); });
      var open = !foldedDepts.has(dept.name);
      WB.setAttr(dept.toggle, "aria-expanded", open ? "true" : "false");
      WB.setText(dept.toggle, open ? "\u25BE" : "\u25B8");
      WB.setAttr(dept.toggle, "aria-label", WB.t(open ? "group_fold" : "group_unfold", { q: dept.name }));
    });
  }

  /** Groups stay whole: rows sort inside their queue's group, and the groups by their first row. */
  function sortRows() {
    var key = sort.key, dir = sort.dir;
    var byRow = function (x, y) {
      var c = WB.table.compare(fieldValue(x, key), fieldValue(y, key), dir);
      if (c === 0) c = page.channels.indexOf(x.channel) - page.channels.indexOf(y.channel);
      return c;
    };
    var list = Array.from(groups.values());
    list.forEach(function (g) {
      g.rows.sort(byRow);
      // The group's place: its best row among those the channel filter shows.
      g.lead = g.rows.filter(shownByFilter)[0] || g.rows[0];
      WB.table.reorder(g.tbody, [g.head].concat(g.rows.map(function (r) { return r.tr; })));
    });
    list.sort(function (x, y) {
      var c = key === "queue" || key === "channel" ? 0 : byRow(x.lead, y.lead);
      if (c === 0) c = WB.table.compare(x.queue, y.queue, key === "queue" ? dir : 1);
      return c;
    });
    depts.forEach(function (dept) { dept.rows.sort(byRow); });
    // With departments: each department's section, then its queues (in the order just sorted), then the
    // queues in no department.  Without: the queues as sorted.
    var order = [];
    depts.forEach(function (dept, name) {
      order.push(dept.tbody);
      list.forEach(function (g) { if (deptOf.get(g.queue) === name) order.push(g.tbody); });
    });
    list.forEach(function (g) { if (!deptOf.has(g.queue)) order.push(g.tbody); });
    var before = head.nextElementSibling;
    order.forEach(function (tbody) {
      if (tbody === before) before = before.nextElementSibling;
      else table.insertBefore(tbody, before);
    });
  }

  /** Above the table: each channel's formula, threshold and target. */
  function renderFormulas() {
    var box = document.getElementById("sl-formulas");
    box.textContent = "";
    page.channels.forEach(function (ch) {
      var s = WB.settingsFor(page.settings, null, ch);
      box.appendChild(WB.el("span", { "class": "formula", "data-channel": ch },
                            WB.t("ch_" + ch) + ": " + WB.slFormulaText(s.sl_formula, s.sl_threshold) +
                            " · " + WB.t("target", { p: WB.fmtPct(s.sl_target) })));
    });
  }

  function tick() {
    rows.forEach(tickRow);
    if (totalRows) totalRows.forEach(tickRow);
    depts.forEach(function (dept) { dept.rows.forEach(tickRow); });
  }

  function relabel() {
    rows.forEach(fillRow);
    if (totalRows) totalRows.forEach(fillRow);
    depts.forEach(function (dept) {
      dept.rows.forEach(fillRow);
      WB.setText(dept.count, WB.t("dept_queues", { n: dept.queues.length }));
    });
    applyFilter();
    renderFormulas();
  }

  function init(p) {
    page = p;
    table = document.getElementById("queue-table");
    head = table.querySelector("thead");
    foot = table.querySelector("tfoot");
    channelFilter = document.getElementById("queue-channel-filter");
    channelFilter.addEventListener("change", function () { sortRows(); applyFilter(); });
    WB.table.bindSort(table, sort, sortRows);
  }

  WB.svQueues = { init: init, render: render, tick: tick, relabel: relabel };
})();
