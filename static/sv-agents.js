/* wallboard: the supervisor's agent list (the `agents` view): name, ID, team, state and its reason,
 * time in state ticking from `since` (logged-in agents only: offline shows a dash and sorts last),
 * the limit in force (rows over it: class "over-limit" and a ■ before the limit, as the server says),
 * queues, handled today per channel; filters by queue, team, state and a search; sortable.
 *
 *   WB.svAgents.init(page)   page.channels, page.conn, and the current page.snapshot, page.asOfMs
 *   WB.svAgents.render(view) after an `agents` message (null: before the first)
 *   WB.svAgents.filters()    the queue and team choices (after a snapshot: its queues count too)
 *   WB.svAgents.tick()       time in state, every second
 *   WB.svAgents.relabel()    after a change of language
 */
(function () {
  "use strict";
  var WB = window.WB;
  var page = null;
  var view = null;
  var receivedAt = null; // performance.now() when the view arrived
  var table, body, queueFilter, teamFilter, stateFilter, search;
  var rowsById = new Map();
  var sort = { key: "state", dir: 1 };

  /** The time the agent list stands for, now (as Connection.dataNow, for the agents view). */
  function agentsNow() {
    var base = view ? WB.parseTs(view.as_of) : page.asOfMs;
    if (base === null) return null;
    if (page.conn.state.state === "stale" || receivedAt === null) return base;
    return base + Math.max(0, performance.now() - receivedAt);
  }

  function agentValue(row, key) {
    var a = row.a;
    if (key === "time_in_state") {
      // Longer in state = larger; offline agents have no time in state (a roster's absentees sort last).
      return row.sinceMs === null || a.state === "offline" ? null : -row.sinceMs;
    }
    // Over their limit first (descending), then the others with a limit; no limit last.
    if (key === "over_limit") return WB.isNum(a.limit_s) ? (a.over_limit ? 1 : 0) : null;
    if (key === "queues") return a.queues.join(", ");
    if (key.indexOf("handled_") === 0) {
      var v = a.handled_today[key.slice(8)];
      return WB.isNum(v) ? v : null;
    }
    if (key === "state") {
      // Working states first, in their usual order (not alphabetically by label).
      var i = WB.AGENT_STATES.indexOf(a.state);
      return i < 0 ? WB.AGENT_STATES.length : i;
    }
    var s = a[key];
    return s === undefined || s === "" ? null : s;
  }

  function columns() {
    return ["name", "agent_id", "team", "state", "time_in_state", "over_limit", "queues"]
      .concat(page.channels.map(function (ch) { return "handled_" + ch; }));
  }

  function makeRow(id) {
    var tr = WB.el("tr", { "data-agent-id": id });
    var cells = {};
    columns().forEach(function (key) {
      var isNum = key === "time_in_state" || key === "over_limit" || key.indexOf("handled_") === 0;
      var td = WB.el("td", { "data-col": key, "class": isNum ? "num" : "text" });
      if (key === "state") {
        td.appendChild(WB.el("span", { "class": "state-badge" }));
        td.appendChild(WB.el("span", { "class": "state-reason" }));
      }
      cells[key] = td;
      tr.appendChild(td);
    });
    return { tr: tr, cells: cells, a: null, sinceMs: null };
  }

  function fillRow(row) {
    var a = row.a;
    WB.setText(row.cells.name, a.name || WB.DASH);
    WB.setText(row.cells.agent_id, String(a.agent_id));
    WB.setText(row.cells.team, a.team || WB.DASH);
    var badge = row.cells.state.firstChild;
    WB.setText(badge, WB.t("state_" + a.state));
    WB.setAttr(badge, "data-state", a.state);
    WB.setText(badge.nextSibling, a.reason || "");
    var limit = row.cells.over_limit;
    WB.setText(limit, WB.isNum(a.limit_s) ? (a.over_limit ? "\u25a0 " : "") + WB.fmtClock(a.limit_s) : WB.DASH);
    WB.setAttr(limit, "title", a.over_limit ? WB.t("over_limit_mark") : "");
    row.tr.classList.toggle("over-limit", a.over_limit === true);
    WB.setText(row.cells.queues, a.queues.join(", "));
    page.channels.forEach(function (ch) {
      var v = a.handled_today[ch];
      var td = row.cells["handled_" + ch];
      WB.setText(td, WB.fmtCount(v));
      WB.setAttr(td, "data-raw", WB.isNum(v) ? v : "null");
    });
    tickRow(row, agentsNow());
  }

  function tickRow(row, now) {
    var td = row.cells.time_in_state;
    if (row.sinceMs === null || now === null || row.a.state === "offline") { WB.setText(td, WB.DASH); return; }
    WB.setText(td, WB.fmtClock(Math.max(0, Math.floor((now - row.sinceMs) / 1000))));
  }

  function render(agentsView) {
    view = agentsView;
    receivedAt = performance.now();
    var seen = new Set(); // not {}: an id like "__proto__" is an id like any other
    view.agents.forEach(function (a) {
      var id = String(a.agent_id);
      seen.add(id);
      var row = rowsById.get(id);
      if (!row) {
        row = makeRow(id);
        rowsById.set(id, row);
        body.appendChild(row.tr);
      }
      row.a = a;
      row.sinceMs = WB.parseTs(a.since);
      fillRow(row);
    });
    rowsById.forEach(function (row, id) {
      if (!seen.has(id)) { row.tr.remove(); rowsById.delete(id); }
    });
    filters();
    sortRows();
    applyFilters();
  }

  /** The queue and team filters: every queue and team of the agents, and the snapshot's queues. */
  function filters() {
    var queues = [], teams = [];
    rowsById.forEach(function (row) {
      row.a.queues.forEach(function (q) { queues.push(q); });
      teams.push(row.a.team);
    });
    if (page.snapshot) Object.keys(page.snapshot.queues).forEach(function (q) { queues.push(q); });
    WB.table.fillSelect(queueFilter, WB.table.sortedUnique(queues), function (v) { return v; });
    WB.table.fillSelect(teamFilter, WB.table.sortedUnique(teams), function (v) { return v; });
  }

  function applyFilters() {
    var q = queueFilter.value, team = teamFilter.value, state = stateFilter.value;
    var needle = search.value.trim().toLowerCase();
    var shown = 0;
    rowsById.forEach(function (row) {
      var a = row.a;
      var ok = (!q || a.queues.indexOf(q) >= 0) &&
               (!team || String(a.team || "") === team) &&
               (!state || a.state === state) &&
               (!needle || String(a.name || "").toLowerCase().indexOf(needle) >= 0 ||
                String(a.agent_id).toLowerCase().indexOf(needle) >= 0);
      row.tr.hidden = !ok;
      if (ok) shown += 1;
    });
    WB.setText(document.getElementById("agents-count"),
               WB.t("agents_shown", { n: shown, total: rowsById.size }));
  }

  function sortRows() {
    var list = Array.from(rowsById.values());
    list.sort(function (x, y) {
      var c = WB.table.compare(agentValue(x, sort.key), agentValue(y, sort.key), sort.dir);
      if (c === 0 && sort.key !== "name") c = WB.table.compare(agentValue(x, "name"), agentValue(y, "name"), 1);
      if (c === 0) c = WB.table.compare(String(x.a.agent_id), String(y.a.agent_id), 1);
      return c;
    });
    WB.table.reorder(body, list.map(function (r) { return r.tr; }));
  }

  function tick() {
    var now = agentsNow();
    rowsById.forEach(function (row) { tickRow(row, now); });
  }

  function relabel() {
    rowsById.forEach(fillRow);
    filters();
    applyFilters();
  }

  function init(p) {
    page = p;
    table = document.getElementById("agent-table");
    body = table.querySelector("tbody");
    queueFilter = document.getElementById("agent-queue-filter");
    teamFilter = document.getElementById("agent-team-filter");
    stateFilter = document.getElementById("agent-state-filter");
    search = document.getElementById("agent-search");
    [queueFilter, teamFilter, stateFilter].forEach(function (s) { s.addEventListener("change", applyFilters); });
    search.addEventListener("input", applyFilters);
    WB.table.bindSort(table, sort, sortRows);
  }

  WB.svAgents = { init: init, render: render, filters: filters, tick: tick, relabel: relabel };
})();
