/* wallboard: the supervisor's agent list (the `agents` view and its deltas): name, ID, team, state and its
 * reason, time in state ticking from `since` (logged-in agents only: offline shows a dash and sorts last),
 * the limit in force (rows over it: class "over-limit" and a ■ before the limit, as the server says),
 * queues, handled today per channel; filters by queue, team, state and a search; sortable; only the rows
 * in sight are drawn.
 *
 *   WB.svAgents.init(page)     page.channels, page.conn, and the current page.snapshot, page.asOfMs
 *   WB.svAgents.render(view)   after an `agents` message: the whole list
 *   WB.svAgents.update(delta)  after an `agents_delta` message: only the rows it names change
 *   WB.svAgents.blank(b)       true: no numbers yet (WB.Connection.waiting), no rows shown
 *   WB.svAgents.filters()      the queue and team choices (after a snapshot: its queues count too)
 *   WB.svAgents.tick()         time in state, every second
 *   WB.svAgents.relabel()      after a change of language
 *
 * Sorting and filtering work over every agent; only the rows in sight are in the DOM (a
 * virtualised list: rows of one fixed height between two spacer rows, redrawn as the table
 * scrolls), so 14,000 agents cost what 40 do.  The list keeps each agent's sort key, and a
 * delta moves only the agents it names (binary insertion), never re-sorting them all.  The
 * table says how many rows it has (aria-rowcount) and where each shown row is (aria-rowindex);
 * its scroll box takes the keyboard focus (arrows, Page Up/Down).
 */
(function () {
  "use strict";
  var WB = window.WB;
  var OVERSCAN = 10;       // rows drawn beyond the visible ones, above and below
  var FALLBACK_ROW_PX = 30;
  var page = null;
  var asOf = null;
  var receivedAt = null;   // performance.now() when the newest agents message arrived
  var isBlank = false;
  var table, body, wrap, topPad, bottomPad, queueFilter, teamFilter, stateFilter, search;
  var rows = new Map();    // agent id -> the row as the server sent it
  var store = new Map();   // agent id -> rec {id, a (the row), sinceMs, k (its sort key), rank, v, ok}
  var order = [];          // the recs that pass the filters, in the sort order
  var ranked = [];         // every rec by name, then id: rec.rank, the tie-break of every sort
  var pool = [];           // the rows in the DOM: {tr, cells, rec, v}
  var rowPx = 0;
  var scheduled = false;
  var optionsDirty = true;
  var optionValues = { queues: [], teams: [] };
  var sort = { key: "state", dir: 1 };

  /** The time the agent list stands for, now (as Connection.dataNow, for the agents view). */
  function agentsNow() {
    var base = asOf !== null ? asOf : page.asOfMs;
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

  function makeRow() {
    var tr = WB.el("tr", { "class": "agent-row" });
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
    return { tr: tr, cells: cells, rec: null, v: -1 };
  }

  /** The one row renderer: an agent's row object -> the cells of a table row. */
  function fillRow(row, rec, now) {
    var a = rec.a;
    WB.setAttr(row.tr, "data-agent-id", rec.id);
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
    tickRow(row, now);
  }

  function tickRow(row, now) {
    var td = row.cells.time_in_state;
    var sinceMs = row.rec ? row.rec.sinceMs : null;
    if (sinceMs === null || now === null || row.rec.a.state === "offline") { WB.setText(td, WB.DASH); return; }
    WB.setText(td, WB.fmtClock(Math.max(0, Math.floor((now - sinceMs) / 1000))));
  }

  // ------------------------------------------------------------ order

  function byName(x, y) {
    return WB.table.compare(agentValue(x, "name"), agentValue(y, "name"), 1) ||
      WB.table.compare(x.id, y.id, 1);
  }

  function bySort(x, y) {
    return WB.table.compare(x.k, y.k, sort.dir) || x.rank - y.rank;
  }

  function sortKey(rec) {
    var k = agentValue(rec, sort.key);
    return sort.key === "name" && k !== null ? rec.rank : k; // the rank is the name's place: numbers compare faster
  }

  /** The filters' choices, read once for a pass over the agents. */
  function chosen() {
    return { q: queueFilter.value, team: teamFilter.value, state: stateFilter.value,
             needle: search.value.trim().toLowerCase() };
  }

  function passes(rec, f) {
    var a = rec.a;
    return (!f.q || a.queues.indexOf(f.q) >= 0) &&
           (!f.team || String(a.team || "") === f.team) &&
           (!f.state || a.state === f.state) &&
           (!f.needle || String(a.name || "").toLowerCase().indexOf(f.needle) >= 0 ||
            String(a.agent_id).toLowerCase().indexOf(f.needle) >= 0);
  }

  function nameOf(a) {
    return a.name === undefined || a.name === "" ? null : a.name;
  }

  function insertSorted(list, rec, cmp) {
    var lo = 0, hi = list.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (cmp(list[mid], rec) <= 0) lo = mid + 1; else hi = mid;
    }
    list.splice(lo, 0, rec);
  }

  function removeFrom(list, rec) {
    var i = list.indexOf(rec);
    if (i >= 0) list.splice(i, 1);
  }

  function renumber() {
    for (var i = 0; i < ranked.length; i++) ranked[i].rank = i;
  }

  /** Every agent again: the name ranks, the sort keys, the filters, the order (a full view, a new sort). */
  function reorderAll() {
    ranked = Array.from(store.values()).sort(byName);
    renumber();
    order = [];
    var f = chosen();
    store.forEach(function (rec) {
      rec.inRank = true;
      rec.k = sortKey(rec);
      rec.ok = passes(rec, f);
      if (rec.ok) order.push(rec);
    });
    order.sort(bySort);
    schedule(true);
  }

  function newRec(id) {
    return { id: id, a: null, sinceMs: null, k: null, rank: 0, v: 0, ok: false, inRank: false };
  }

  function setRow(rec, a) {
    rec.a = a;
    rec.sinceMs = WB.parseTs(a.since);
    rec.v += 1;
  }

  function render(view) {
    rows = new Map();
    store = new Map();
    asOf = WB.parseTs(view.as_of);
    receivedAt = performance.now();
    view.agents.forEach(function (a) {
      var id = String(a.agent_id);
      rows.set(id, a);
      var rec = newRec(id);
      setRow(rec, a);
      store.set(id, rec);
    });
    optionsDirty = true;
    filters();
    reorderAll();
  }

  /** An agents_delta: only the agents it names move in the order; the rows on screen are redrawn if theirs changed. */
  function update(delta) {
    asOf = WB.parseTs(delta.as_of);
    receivedAt = performance.now();
    var ids = WB.deltas.applyAgents(rows, delta);
    if (ids.length > 200 + store.size / 8) { // most of the list: sort it afresh
      var keep = store;
      store = new Map();
      rows.forEach(function (a, id) {
        var rec = keep.get(id) || newRec(id);
        if (rec.a !== a) setRow(rec, a);
        store.set(id, rec);
      });
      optionsDirty = true;
      filters();
      reorderAll();
      return;
    }
    var renamed = false;
    var moved = [];
    ids.forEach(function (id) {
      var a = rows.get(id);
      var rec = store.get(id);
      if (rec) {
        if (rec.ok) removeFrom(order, rec);
        if (!a || nameOf(rec.a) !== nameOf(a)) {
          removeFrom(ranked, rec);
          rec.inRank = false;
        }
        if (!a || rec.a.team !== a.team || rec.a.queues.join("\n") !== a.queues.join("\n")) optionsDirty = true;
      }
      if (!a) { store.delete(id); return; }
      if (!rec) {
        rec = newRec(id);
        store.set(id, rec);
        optionsDirty = true;
      }
      setRow(rec, a);
      if (!rec.inRank) { insertSorted(ranked, rec, byName); rec.inRank = true; renamed = true; }
      moved.push(rec);
    });
    if (renamed) {
      renumber(); // the relative order of the others is unchanged: `order` stays sorted
      if (sort.key === "name") store.forEach(function (rec) { rec.k = sortKey(rec); });
    }
    var f = chosen();
    moved.forEach(function (rec) {
      rec.k = sortKey(rec);
      rec.ok = passes(rec, f);
      if (rec.ok) insertSorted(order, rec, bySort);
    });
    if (optionsDirty) filters();
    schedule(false);
  }

  function blank(b) {
    if (b === isBlank) return;
    isBlank = b;
    schedule(true);
  }

  // ------------------------------------------------------------ the rows in sight

  function schedule(now) {
    if (now) { draw(); return; }
    if (scheduled) return;
    scheduled = true;
    window.requestAnimationFrame(draw);
  }

  function draw() {
    scheduled = false;
    var list = isBlank ? [] : order;
    var h = rowPx || FALLBACK_ROW_PX;
    var top = wrap.scrollTop;
    var height = wrap.clientHeight || 600;
    var to = Math.min(list.length, Math.ceil((top + height) / h) + OVERSCAN);
    var from = Math.max(0, Math.min(to, Math.floor(top / h) - OVERSCAN));
    // Rows keep the agent they show while it stays in sight: a scroll by a row refills one row and
    // moves it, not every row on screen.
    var byRec = new Map();
    pool.forEach(function (row) { if (row.rec) byRec.set(row.rec, row); });
    var next = [], free = [];
    for (var i = from; i < to; i++) {
      var kept = byRec.get(list[i]);
      next.push(kept || null);
      if (kept) byRec.delete(list[i]);
    }
    byRec.forEach(function (row) { free.push(row); });
    pool.forEach(function (row) { if (!row.rec) free.push(row); });
    // Out of the DOM first: the kept rows stay in order, and only the others are put back in place.
    free.forEach(function (row) { row.tr.remove(); });
    var now = agentsNow();
    for (var n = 0; n < next.length; n++) {
      var r = next[n], rec = list[from + n];
      if (!r) {
        r = free.pop() || makeRow();
        r.rec = null;
        next[n] = r;
      }
      if (r.rec !== rec || r.v !== rec.v) {
        r.rec = rec;
        r.v = rec.v;
        fillRow(r, rec, now);
      }
      WB.setAttr(r.tr, "aria-rowindex", from + n + 2); // the heading row is 1
    }
    pool = next;
    WB.table.reorder(body, [topPad].concat(pool.map(function (row) { return row.tr; }), [bottomPad]));
    topPad.firstChild.style.height = (from * h) + "px";
    bottomPad.firstChild.style.height = ((list.length - to) * h) + "px";
    WB.setAttr(table, "aria-rowcount", list.length + 1);
    WB.setText(document.getElementById("agents-count"),
               WB.t("agents_shown", { n: WB.fmtCount(list.length),
                                           total: WB.fmtCount(isBlank ? 0 : store.size) }));
    if (!rowPx && pool.length) {
      rowPx = pool[0].tr.getBoundingClientRect().height || FALLBACK_ROW_PX;
      if (rowPx !== h) draw(); // the spacers were sized with a guess
    }
  }

  // ------------------------------------------------------------ filters

  /** The queue and team filters: every queue and team of the agents, and the snapshot's queues. */
  function filters() {
    if (optionsDirty) {
      var queues = [], teams = [];
      store.forEach(function (rec) {
        rec.a.queues.forEach(function (q) { queues.push(q); });
        teams.push(rec.a.team);
      });
      optionValues = { queues: WB.table.sortedUnique(queues), teams: WB.table.sortedUnique(teams) };
      optionsDirty = false;
    }
    var all = optionValues.queues;
    if (page.snapshot) all = WB.table.sortedUnique(all.concat(Object.keys(page.snapshot.queues)));
    WB.table.fillSelect(queueFilter, all, function (v) { return v; });
    WB.table.fillSelect(teamFilter, optionValues.teams, function (v) { return v; });
  }

  function refilter() {
    order = [];
    var f = chosen();
    store.forEach(function (rec) {
      rec.ok = passes(rec, f);
      if (rec.ok) order.push(rec);
    });
    order.sort(bySort);
    schedule(true);
  }

  function resort() {
    store.forEach(function (rec) { rec.k = sortKey(rec); });
    order.sort(bySort);
    schedule(true);
  }

  function tick() {
    var now = agentsNow();
    pool.forEach(function (row) { tickRow(row, now); });
  }

  function relabel() {
    rowPx = 0; // the labels' font may change the rows' height
    optionsDirty = true;
    filters();
    reorderAll(); // names sort in the language's order
    var now = agentsNow();
    pool.forEach(function (row) { if (row.rec) fillRow(row, row.rec, now); });
  }

  function spacer() {
    var tr = WB.el("tr", { "class": "vpad", "aria-hidden": "true" });
    tr.appendChild(WB.el("td", { colspan: String(columns().length) }));
    return tr;
  }

  function init(p) {
    page = p;
    table = document.getElementById("agent-table");
    body = table.querySelector("tbody");
    wrap = table.closest(".agents-wrap");
    topPad = spacer();
    bottomPad = spacer();
    body.appendChild(topPad);
    body.appendChild(bottomPad);
    queueFilter = document.getElementById("agent-queue-filter");
    teamFilter = document.getElementById("agent-team-filter");
    stateFilter = document.getElementById("agent-state-filter");
    search = document.getElementById("agent-search");
    [queueFilter, teamFilter, stateFilter].forEach(function (s) { s.addEventListener("change", refilter); });
    search.addEventListener("input", refilter);
    wrap.addEventListener("scroll", function () { schedule(false); }, { passive: true });
    window.addEventListener("resize", function () { schedule(false); });
    WB.table.bindSort(table, sort, resort);
  }

  WB.svAgents = { init: init, render: render, update: update, blank: blank, filters: filters, tick: tick,
                  relabel: relabel };
})();
