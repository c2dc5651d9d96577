/* wallboard: the supervisor page.
 *
 * Sortable queue table (every metric of metrics.md), agent list with time in state ticking,
 * today's intervals drawn with uPlot (static/vendor/uplot), and the broadcast form.
 * Staleness, languages and escaping follow the same rules as the TV page (static/common.js).
 */
(function () {
  "use strict";
  var ctx = WB.pageContext();
  var settings = ctx.settings;
  var snapshot = null, agentsView = null, intradayView = null;
  var zone = null, asOfMs = null;

  // ---------------------------------------------------------------- language

  var langSelect = document.getElementById("lang-select");
  WB.setLang(WB.pickLang(ctx.lang));
  langSelect.value = WB.lang;
  langSelect.addEventListener("change", function () {
    WB.setLang(langSelect.value);
    var u = new URL(window.location.href);
    u.searchParams.set("lang", WB.lang);
    window.history.replaceState(null, "", u.toString());
    updateTvLink();
    relabel();
  });

  function updateTvLink() {
    var link = document.getElementById("tv-link");
    link.setAttribute("href", "tv?lang=" + encodeURIComponent(WB.lang));
  }
  updateTvLink();

  /** Everything whose text depends on the language and is not a [data-i18n] element. */
  function relabel() {
    document.title = WB.t("title_supervisor");
    queueRows.forEach(function (row) { fillQueueRow(row); });
    if (totalRows) totalRows.forEach(function (row) { fillQueueRow(row); });
    agentRowsById.forEach(function (row) { fillAgentRow(row); });
    rebuildAgentFilters();
    rebuildChartQueues();
    renderFormulas();
    renderSource();
    renderBroadcastCurrent();
    drawChart(true);
    WB.renderState(conn, zone);
  }

  // ---------------------------------------------------------------- connection

  var conn = new WB.Connection({
    views: ["snapshot", "agents", "intraday"],
    pushInterval: ctx.pushInterval,
    staleAfter: ctx.staleAfter,
    onMessage: onMessage,
    onState: function () { WB.renderState(conn, zone); renderSource(); }
  });

  function onMessage(msg) {
    if (msg.type === "hello") {
      if (msg.settings && typeof msg.settings === "object") {
        settings = msg.settings;
        applyBroadcastSettings();
        if (snapshot) renderSnapshot();
      }
    } else if (msg.type === "snapshot" && msg.data) {
      snapshot = msg.data;
      renderSnapshot();
    } else if (msg.type === "agents" && msg.data) {
      agentsView = msg.data;
      agentsAt = performance.now();
      renderAgents();
    } else if (msg.type === "intraday" && msg.data) {
      intradayView = msg.data;
      rebuildChartQueues();
      drawChart(false);
    } else if (msg.type === "broadcast") {
      broadcast = { text: typeof msg.text === "string" ? msg.text : "", set_at: msg.set_at || null };
      renderBroadcastCurrent();
    }
  }

  // ---------------------------------------------------------------- queue table

  var PERIOD = WB.PERIOD_FIELDS;
  var COLUMNS = ["queue", "channel", "waiting", "longest_wait_s", "in_progress"]
    .concat(PERIOD.map(function (f) { return "window." + f; }))
    .concat(PERIOD.map(function (f) { return "today." + f; }))
    .concat(WB.AGENT_STATES.map(function (s) { return "agents." + s; }));

  var queueTable = document.getElementById("queue-table");
  var queueBody = queueTable.querySelector("tbody");
  var queueFoot = queueTable.querySelector("tfoot");
  var channelFilter = document.getElementById("queue-channel-filter");
  var queueRows = new Map();   // "queue\u0000channel" -> row
  var totalRows = null;        // [row for call, row for sms]
  var queueSort = { key: "queue", dir: 1 };

  channelFilter.addEventListener("change", function () { applyQueueFilter(); });

  function fieldValue(row, key) {
    if (key === "queue") return row.queue;
    if (key === "channel") return row.channel;
    var dot = key.indexOf(".");
    if (dot < 0) {
      if (key === "longest_wait_s") return row.data ? row.data.longest_wait_s : null;
      return row.data ? row.data[key] : null;
    }
    var group = key.slice(0, dot), f = key.slice(dot + 1);
    if (group === "agents") return row.agents ? row.agents[f] : null;
    var p = row.data ? row.data[group] : null;
    return p ? p[f] : null;
  }

  function formatField(key, v) {
    var f = key.slice(key.indexOf(".") + 1);
    if (f === "service_level" || f === "abandon_rate") return WB.fmtPct(v);
    if (f === "asa_s" || f === "longest_wait_s") return WB.fmtWait(v);
    if (f === "aht_s") return WB.fmtMSS(v);
    return WB.fmtCount(v);
  }

  function levelField(row, key, v) {
    var s = row.settings;
    if (!s) return "none";
    if (key === "waiting") return WB.levelAbove(v, s.waiting_warn, s.waiting_alarm);
    if (key === "longest_wait_s") return WB.levelAbove(v, s.longest_wait_warn, s.longest_wait_alarm);
    if (key === "window.service_level" || key === "today.service_level") return WB.levelSL(v, s.sl_target);
    return "none";
  }

  function makeQueueRow(queue, channel, isTotal) {
    var tr = WB.el("tr", { "data-channel": channel });
    if (isTotal) tr.setAttribute("data-total", "1");
    else tr.setAttribute("data-queue", queue);
    var cells = {};
    COLUMNS.forEach(function (key) {
      var text = key === "queue" || key === "channel";
      var td = WB.el(key === "queue" ? "th" : "td", { "data-col": key, "class": text ? "text" : "num" });
      if (key === "queue") td.setAttribute("scope", "row");
      if (key.indexOf("window.") === 0 && key === "window.offered") td.className += " grp-start";
      if (key === "today.offered" || key === "agents.available") td.className += " grp-start";
      cells[key] = td;
      tr.appendChild(td);
    });
    return { tr: tr, cells: cells, queue: queue, channel: channel, isTotal: isTotal, data: null, agents: null,
             settings: null, sinceMs: null };
  }

  function fillQueueRow(row) {
    COLUMNS.forEach(function (key) {
      var td = row.cells[key];
      if (key === "queue") { WB.setText(td, row.isTotal ? WB.t("total") : row.queue); return; }
      if (key === "channel") { WB.setText(td, WB.t("ch_" + row.channel)); return; }
      if (key === "longest_wait_s") { tickQueueRow(row); return; }
      var v = fieldValue(row, key);
      WB.setText(td, formatField(key, v));
      WB.setAttr(td, "data-raw", WB.isNum(v) ? v : "null");
      WB.setAttr(td, "data-level", levelField(row, key, v));
    });
  }

  /** The longest wait ticks in the browser from `since`, like on the TV, while the data is fresh. */
  function tickQueueRow(row) {
    var td = row.cells.longest_wait_s;
    var v = row.data ? row.data.longest_wait_s : null;
    var shown = v;
    var now = conn.dataNow(asOfMs);
    if (WB.isNum(v) && row.sinceMs !== null && now !== null) {
      shown = Math.max(v, (now - row.sinceMs) / 1000);
    }
    WB.setText(td, WB.isNum(shown) ? WB.fmtTicking(shown) : WB.DASH);
    WB.setAttr(td, "data-raw", WB.isNum(v) ? v : "null");
    WB.setAttr(td, "data-level", levelField(row, "longest_wait_s", WB.isNum(shown) ? Math.floor(shown) : null));
  }

  function renderQueues() {
    var queues = snapshot.queues || {};
    var seen = {};
    Object.keys(queues).forEach(function (q) {
      WB.CHANNELS.forEach(function (ch) {
        var key = q + "\u0000" + ch;
        seen[key] = true;
        var row = queueRows.get(key);
        if (!row) {
          row = makeQueueRow(q, ch, false);
          queueRows.set(key, row);
          queueBody.appendChild(row.tr);
        }
        row.data = ((queues[q] || {}).channels || {})[ch] || null;
        row.agents = (queues[q] || {}).agents || null;
        row.settings = WB.channelSettings(settings, q, ch);
        row.sinceMs = WB.waitSince(row.data, asOfMs);
        fillQueueRow(row);
      });
    });
    queueRows.forEach(function (row, key) {
      if (!seen[key]) { row.tr.remove(); queueRows.delete(key); }
    });
    if (!totalRows) {
      totalRows = WB.CHANNELS.map(function (ch) {
        var row = makeQueueRow(null, ch, true);
        queueFoot.appendChild(row.tr);
        return row;
      });
    }
    var totals = snapshot.totals || {};
    totalRows.forEach(function (row) {
      row.data = (totals.channels || {})[row.channel] || null;
      row.agents = totals.agents || null;
      row.settings = WB.channelSettings(settings, null, row.channel);
      row.sinceMs = WB.waitSince(row.data, asOfMs);
      fillQueueRow(row);
    });
    sortQueues();
    applyQueueFilter();
  }

  function applyQueueFilter() {
    var ch = channelFilter.value;
    queueRows.forEach(function (row) { row.tr.hidden = !!ch && row.channel !== ch; });
    if (totalRows) totalRows.forEach(function (row) { row.tr.hidden = !!ch && row.channel !== ch; });
  }

  function compareValues(a, b, dir) {
    var an = a === null || a === undefined, bn = b === null || b === undefined;
    if (an || bn) return an === bn ? 0 : (an ? 1 : -1); // undefined values last, either way
    if (typeof a === "number" && typeof b === "number") return (a - b) * dir;
    return String(a).localeCompare(String(b), WB.lang, { numeric: true }) * dir;
  }

  function sortQueues() {
    var rows = Array.from(queueRows.values());
    var key = queueSort.key, dir = queueSort.dir;
    rows.sort(function (x, y) {
      var c = compareValues(fieldValue(x, key), fieldValue(y, key), dir);
      if (c === 0) c = compareValues(x.queue, y.queue, 1);
      if (c === 0) c = WB.CHANNELS.indexOf(x.channel) - WB.CHANNELS.indexOf(y.channel);
      return c;
    });
    reorder(queueBody, rows.map(function (r) { return r.tr; }));
  }

  /** Put rows in order, touching the DOM only where the order changed. */
  function reorder(tbody, trs) {
    var current = tbody.firstElementChild;
    trs.forEach(function (tr) {
      if (tr === current) { current = current.nextElementSibling; return; }
      tbody.insertBefore(tr, current);
    });
  }

  function bindSort(table, state, onSort) {
    table.querySelectorAll("thead th[data-sort]").forEach(function (th) {
      th.tabIndex = 0;
      th.classList.add("sortable");
      var go = function () {
        var key = th.getAttribute("data-sort");
        if (state.key === key) state.dir = -state.dir;
        else { state.key = key; state.dir = th.classList.contains("text") ? 1 : -1; }
        table.querySelectorAll("thead th[data-sort]").forEach(function (o) {
          o.removeAttribute("aria-sort");
        });
        th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
        onSort();
      };
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); }
      });
    });
  }
  bindSort(queueTable, queueSort, sortQueues);
  queueTable.querySelector('thead th[data-sort="queue"]').setAttribute("aria-sort", "ascending");

  function renderFormulas() {
    var box = document.getElementById("sl-formulas");
    box.textContent = "";
    WB.CHANNELS.forEach(function (ch) {
      var s = WB.channelSettings(settings, null, ch);
      var line = WB.el("span", { "class": "formula", "data-channel": ch },
                       WB.t("ch_" + ch) + ": " + WB.slFormulaText(s.sl_formula, s.sl_threshold) +
                       " · " + WB.t("target", { p: WB.fmtPct(s.sl_target) }));
      box.appendChild(line);
    });
  }

  // ---------------------------------------------------------------- snapshot

  function renderSnapshot() {
    zone = snapshot.timezone || null;
    asOfMs = WB.parseTs(snapshot.as_of);
    document.body.setAttribute("data-as-of", snapshot.as_of || "");
    var w = WB.fmtWindow(snapshot.window_s);
    if (WB.i18nVars.w !== w) {
      WB.i18nVars.w = w;
      WB.applyI18n(document);
    }
    WB.setText(document.getElementById("as-of"),
               asOfMs === null ? WB.t("as_of_none") : WB.t("as_of", { t: WB.fmtTime(asOfMs, zone) }));
    renderQueues();
    renderFormulas();
    renderSource();
    rebuildAgentFilters();
  }

  function renderSource() {
    var box = document.getElementById("source-status");
    var parts = [];
    var src = conn.source || {};
    var label = WB.t("src_label") + (src.kind ? ": " + src.kind : "");
    parts.push(label);
    if (src.ready === true) parts.push(WB.t("src_ready"));
    if (src.ready === false) parts.push(WB.t("src_not_ready"));
    if (src.connected === false) parts.push(WB.t("src_disconnected"));
    if (WB.isNum(src.lag) && src.lag > 0) parts.push(WB.t("src_lag", { n: src.lag }));
    var st = (snapshot && snapshot.status) || null;
    if (st) {
      if (WB.isNum(st.events)) parts.push(WB.t("src_events", { n: st.events }));
      var rej = 0;
      Object.keys(st.rejected || {}).forEach(function (k) { if (WB.isNum(st.rejected[k])) rej += st.rejected[k]; });
      parts.push(WB.t("src_rejected", { n: rej }));
      if (WB.isNum(st.duplicates)) parts.push(WB.t("src_duplicates", { n: st.duplicates }));
      if (WB.isNum(st.orphans)) parts.push(WB.t("src_orphans", { n: st.orphans }));
      var last = WB.parseTs(st.last_event_ts);
      if (last !== null) parts.push(WB.t("src_last_event", { t: WB.fmtTime(last, zone) }));
    }
    WB.setText(box, parts.join(" · "));
  }

  // ---------------------------------------------------------------- agents

  var agentTable = document.getElementById("agent-table");
  var agentBody = agentTable.querySelector("tbody");
  var agentRowsById = new Map();
  var agentSort = { key: "state", dir: 1 };
  var queueFilter = document.getElementById("agent-queue-filter");
  var teamFilter = document.getElementById("agent-team-filter");
  var stateFilter = document.getElementById("agent-state-filter");
  var search = document.getElementById("agent-search");
  var AGENT_COLS = ["name", "agent_id", "team", "state", "time_in_state", "queues", "handled_call", "handled_sms"];

  [queueFilter, teamFilter, stateFilter].forEach(function (s) { s.addEventListener("change", filterAgents); });
  search.addEventListener("input", filterAgents);

  var agentsAt = null; // performance.now() when the agents view arrived

  function agentsAsOf() {
    var t = agentsView && !Array.isArray(agentsView) ? WB.parseTs(agentsView.as_of) : null;
    return t !== null ? t : asOfMs;
  }

  /** The time the agent list stands for, now (as dataNow, for the agents view). */
  function agentsNow() {
    var base = agentsAsOf();
    if (base === null) return null;
    if (conn.state.state === "stale" || agentsAt === null) return base;
    return base + Math.max(0, performance.now() - agentsAt);
  }

  function agentValue(row, key) {
    var a = row.a;
    if (key === "time_in_state") return row.sinceMs === null ? null : -row.sinceMs; // longer in state = larger
    if (key === "queues") return (a.queues || []).join(", ");
    if (key === "handled_call" || key === "handled_sms") {
      var h = a.handled_today || {};
      var v = h[key.slice(8)];
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

  function makeAgentRow(id) {
    var tr = WB.el("tr", { "data-agent-id": id });
    var cells = {};
    AGENT_COLS.forEach(function (key) {
      var isNum = key === "time_in_state" || key.indexOf("handled") === 0;
      var td = WB.el("td", { "data-col": key, "class": isNum ? "num" : "text" });
      if (key === "state") td.appendChild(WB.el("span", { "class": "state-badge" }));
      cells[key] = td;
      tr.appendChild(td);
    });
    return { tr: tr, cells: cells, a: null, sinceMs: null };
  }

  function fillAgentRow(row) {
    var a = row.a;
    WB.setText(row.cells.name, a.name || WB.DASH);
    WB.setText(row.cells.agent_id, String(a.agent_id));
    WB.setText(row.cells.team, a.team || WB.DASH);
    var badge = row.cells.state.firstChild;
    WB.setText(badge, WB.t("state_" + a.state));
    WB.setAttr(badge, "data-state", a.state);
    WB.setText(row.cells.queues, (a.queues || []).join(", "));
    ["call", "sms"].forEach(function (ch) {
      var v = (a.handled_today || {})[ch];
      var td = row.cells["handled_" + ch];
      WB.setText(td, WB.fmtCount(v));
      WB.setAttr(td, "data-raw", WB.isNum(v) ? v : "null");
    });
    tickAgentRow(row, agentsNow());
  }

  function tickAgentRow(row, now) {
    var td = row.cells.time_in_state;
    if (row.sinceMs === null || now === null) { WB.setText(td, WB.DASH); return; }
    WB.setText(td, WB.fmtClock(Math.max(0, Math.floor((now - row.sinceMs) / 1000))));
  }

  function renderAgents() {
    var rows = WB.agentRows(agentsView) || [];
    var seen = {};
    rows.forEach(function (a) {
      if (!a || a.agent_id === undefined || a.agent_id === null) return;
      var id = String(a.agent_id);
      seen[id] = true;
      var row = agentRowsById.get(id);
      if (!row) {
        row = makeAgentRow(id);
        agentRowsById.set(id, row);
        agentBody.appendChild(row.tr);
      }
      row.a = a;
      row.sinceMs = WB.parseTs(a.since);
      fillAgentRow(row);
    });
    agentRowsById.forEach(function (row, id) {
      if (!seen[id]) { row.tr.remove(); agentRowsById.delete(id); }
    });
    rebuildAgentFilters();
    sortAgents();
    filterAgents();
  }

  function fillSelect(select, values, labelOf) {
    var keep = select.value;
    var wanted = [""].concat(values);
    var current = Array.from(select.options).map(function (o) { return o.value; });
    var labels = wanted.map(function (v) { return v === "" ? WB.t("filter_all") : labelOf(v); });
    var same = current.length === wanted.length && current.every(function (v, i) {
      return v === wanted[i] && select.options[i].textContent === labels[i];
    });
    if (same) return;
    select.textContent = "";
    wanted.forEach(function (v, i) { select.appendChild(WB.el("option", { value: v }, labels[i])); });
    select.value = wanted.indexOf(keep) >= 0 ? keep : "";
  }

  function sortedUnique(list) {
    var seen = {}, out = [];
    list.forEach(function (v) {
      if (v === null || v === undefined || v === "") return;
      v = String(v);
      if (!seen[v]) { seen[v] = true; out.push(v); }
    });
    return out.sort(function (a, b) { return a.localeCompare(b, WB.lang); });
  }

  function rebuildAgentFilters() {
    var queues = [], teams = [];
    agentRowsById.forEach(function (row) {
      (row.a.queues || []).forEach(function (q) { queues.push(q); });
      teams.push(row.a.team);
    });
    if (snapshot) Object.keys(snapshot.queues || {}).forEach(function (q) { queues.push(q); });
    fillSelect(queueFilter, sortedUnique(queues), function (v) { return v; });
    fillSelect(teamFilter, sortedUnique(teams), function (v) { return v; });
  }

  function filterAgents() {
    var q = queueFilter.value, team = teamFilter.value, state = stateFilter.value;
    var needle = search.value.trim().toLowerCase();
    var shown = 0;
    agentRowsById.forEach(function (row) {
      var a = row.a;
      var ok = (!q || (a.queues || []).indexOf(q) >= 0) &&
               (!team || String(a.team || "") === team) &&
               (!state || a.state === state) &&
               (!needle || String(a.name || "").toLowerCase().indexOf(needle) >= 0 ||
                String(a.agent_id).toLowerCase().indexOf(needle) >= 0);
      row.tr.hidden = !ok;
      if (ok) shown += 1;
    });
    WB.setText(document.getElementById("agents-count"),
               WB.t("agents_shown", { n: shown, total: agentRowsById.size }));
  }

  function sortAgents() {
    var rows = Array.from(agentRowsById.values());
    rows.sort(function (x, y) {
      var c = compareValues(agentValue(x, agentSort.key), agentValue(y, agentSort.key), agentSort.dir);
      if (c === 0 && agentSort.key !== "name") c = compareValues(agentValue(x, "name"), agentValue(y, "name"), 1);
      if (c === 0) c = compareValues(String(x.a.agent_id), String(y.a.agent_id), 1);
      return c;
    });
    reorder(agentBody, rows.map(function (r) { return r.tr; }));
  }
  bindSort(agentTable, agentSort, sortAgents);
  agentTable.querySelector('thead th[data-sort="state"]').setAttribute("aria-sort", "ascending");

  // ---------------------------------------------------------------- intraday chart

  var chartQueue = document.getElementById("chart-queue");
  var chartChannel = document.getElementById("chart-channel");
  var chartBox = document.getElementById("intraday-chart");
  var chartEmpty = document.getElementById("intraday-empty");
  var chart = null;
  var chartKey = "";
  chartQueue.addEventListener("change", function () { drawChart(true); });
  chartChannel.addEventListener("change", function () { drawChart(true); });

  function intradayQueues() {
    if (!intradayView || typeof intradayView !== "object") return {};
    return intradayView.queues || {};
  }

  function rebuildChartQueues() {
    fillSelect(chartQueue, sortedUnique(Object.keys(intradayQueues())), function (v) { return v; });
    if (chartQueue.options.length) chartQueue.options[0].textContent = WB.t("all_queues");
  }

  /** The list of interval objects of one queue (or totals) and channel, whatever the nesting. */
  function intervalsOf(node, channel) {
    if (!node) return null;
    var ch = (node.channels && node.channels[channel]) || node[channel];
    if (!ch) return null;
    if (Array.isArray(ch)) return ch;
    if (Array.isArray(ch.intervals)) return ch.intervals;
    return null;
  }

  function intervalStart(iv) {
    var v = iv.start !== undefined ? iv.start : (iv.interval_start !== undefined ? iv.interval_start : iv.from);
    return WB.parseTs(v);
  }

  /** Unix seconds and the four series for the chart; "All queues" = totals, else summed over queues. */
  function chartSeries(queue, channel) {
    var lists = [];
    var formula = WB.channelSettings(settings, queue || null, channel).sl_formula;
    if (queue) {
      lists = [intervalsOf(intradayQueues()[queue], channel)];
    } else {
      var tot = intradayView && intradayView.totals ? intervalsOf(intradayView.totals, channel) : null;
      if (tot) lists = [tot];
      else {
        var qs = intradayQueues();
        lists = Object.keys(qs).map(function (q) { return intervalsOf(qs[q], channel); });
      }
    }
    var byStart = new Map();
    var single = lists.filter(function (l) { return !!l; }).length === 1;
    // The engine lists interval bounds once (view.intervals) and each series by index.
    var bounds = (intradayView && Array.isArray(intradayView.intervals)) ? intradayView.intervals : [];
    lists.forEach(function (list) {
      (list || []).forEach(function (iv, i) {
        var t = intervalStart(iv);
        if (t === null && bounds[i]) t = intervalStart(bounds[i]);
        if (t === null) return;
        if (!byStart.has(t)) byStart.set(t, []);
        byStart.get(t).push(iv.metrics || iv);
      });
    });
    var starts = Array.from(byStart.keys()).sort(function (a, b) { return a - b; });
    var xs = [], offered = [], answered = [], abandoned = [], sl = [];
    // The interval in progress is drawn as a (partial) bar only: its lines would plunge
    // towards zero and look like a collapse.  Its numbers are in the table above.
    var asOf = intradayView ? WB.parseTs(intradayView.as_of) : null;
    var step = intradayView && WB.isNum(intradayView.interval_s) ? intradayView.interval_s * 1000 : null;
    starts.forEach(function (t) {
      var parts = byStart.get(t);
      var p = single && parts.length === 1 ? parts[0] : WB.sumPeriods(parts, formula);
      var partial = asOf !== null && step !== null && t + step > asOf;
      xs.push(t / 1000);
      offered.push(WB.isNum(p.offered) ? p.offered : null);
      answered.push(!partial && WB.isNum(p.answered) ? p.answered : null);
      abandoned.push(!partial && WB.isNum(p.abandoned) ? p.abandoned : null);
      sl.push(!partial && WB.isNum(p.service_level) ? p.service_level * 100 : null);
    });
    return [xs, offered, answered, abandoned, sl];
  }

  var hhmmFormats = {};
  function hhmm(ms) {
    var key = zone || "";
    if (!hhmmFormats[key]) {
      var o = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
      try { if (zone) o.timeZone = zone; hhmmFormats[key] = new Intl.DateTimeFormat("en-GB", o); }
      catch (e) { delete o.timeZone; hhmmFormats[key] = new Intl.DateTimeFormat("en-GB", o); }
    }
    return hhmmFormats[key].format(new Date(ms));
  }

  function chartSize() {
    var w = Math.max(300, chartBox.clientWidth);
    return { width: w, height: Math.round(Math.min(340, Math.max(220, w * 0.36))) };
  }

  function drawChart(rebuild) {
    if (typeof window.uPlot !== "function") return;
    var queue = chartQueue.value || "";
    var channel = chartChannel.value || "call";
    var data = chartSeries(queue, channel);
    chartEmpty.hidden = data[0].length > 0;
    chartBox.hidden = data[0].length === 0;
    var key = WB.lang + "|" + queue + "|" + channel + "|" + (zone || "");
    if (chart && (rebuild || key !== chartKey)) { chart.destroy(); chart = null; }
    chartKey = key;
    if (data[0].length === 0) return;
    if (chart) { chart.setData(data); return; }
    var target = WB.channelSettings(settings, queue || null, channel).sl_target * 100;
    var size = chartSize();
    var axisStroke = "#9aa7b8", grid = { stroke: "#223044", width: 1 };
    var tz = zone;
    var opts = {
      width: size.width,
      height: size.height,
      tzDate: function (ts) { return tz ? window.uPlot.tzDate(new Date(ts * 1000), tz) : new Date(ts * 1000); },
      scales: { x: { time: true }, n: { auto: true, range: function (u, min, max) { return [0, Math.max(5, max * 1.1)]; } },
                pct: { auto: false, range: [0, 100] } },
      legend: { live: true },
      cursor: { points: { size: 6 } },
      axes: [
        { stroke: axisStroke, grid: grid, ticks: grid,
          values: function (u, splits) { return splits.map(function (v) { return hhmm(v * 1000); }); } },
        { scale: "n", stroke: axisStroke, grid: grid, ticks: grid, label: WB.t("chart_count"), size: 50 },
        { scale: "pct", side: 1, stroke: axisStroke, grid: { show: false },
          values: function (u, vals) { return vals.map(function (v) { return v + "%"; }); }, size: 50 }
      ],
      series: [
        { label: WB.t("chart_time"), value: function (u, v) { return v === null ? WB.DASH : hhmm(v * 1000); } },
        { label: WB.t("chart_offered"), scale: "n", stroke: "#4ea1ff", fill: "rgba(78,161,255,0.18)", width: 2,
          paths: window.uPlot.paths && window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.7, 40] }) : undefined,
          value: function (u, v) { return v === null ? WB.DASH : String(v); } },
        { label: WB.t("chart_answered"), scale: "n", stroke: "#35d07f", width: 2,
          value: function (u, v) { return v === null ? WB.DASH : String(v); } },
        { label: WB.t("chart_abandoned"), scale: "n", stroke: "#ff4d4f", width: 2,
          value: function (u, v) { return v === null ? WB.DASH : String(v); } },
        { label: WB.t("chart_sl"), scale: "pct", stroke: "#ffb224", width: 2, dash: [6, 4], spanGaps: false,
          value: function (u, v) { return v === null ? WB.DASH : Math.round(v) + "%"; } }
      ],
      hooks: {
        draw: [function (u) {
          // The service-level target as a thin line across the plot.
          if (!WB.isNum(target)) return;
          var y = u.valToPos(target, "pct", true);
          var c = u.ctx;
          c.save();
          c.strokeStyle = "rgba(255,178,36,0.55)";
          c.lineWidth = 1;
          c.setLineDash([2, 4]);
          c.beginPath();
          c.moveTo(u.bbox.left, y);
          c.lineTo(u.bbox.left + u.bbox.width, y);
          c.stroke();
          c.restore();
        }]
      }
    };
    chart = new window.uPlot(opts, data, chartBox);
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () { if (chart) chart.setSize(chartSize()); }, 150);
  });

  // ---------------------------------------------------------------- broadcast

  var broadcast = { text: "", set_at: null };
  var form = document.getElementById("broadcast-form");
  var textBox = document.getElementById("broadcast-text");
  var tokenBox = document.getElementById("broadcast-token");
  var statusBox = document.getElementById("broadcast-status");
  try { tokenBox.value = window.sessionStorage.getItem("wallboard.token") || ""; } catch (e) { /* private mode */ }

  /** The server says whether it wants a token and how long a message may be (settings_view). */
  function applyBroadcastSettings() {
    var needsToken = settings.broadcast_needs_token;
    var show = needsToken !== false; // unknown: show the field
    document.querySelectorAll(".bc-token").forEach(function (el) { el.hidden = !show; });
    if (WB.isNum(settings.broadcast_max_length)) textBox.setAttribute("maxlength", String(settings.broadcast_max_length));
  }
  applyBroadcastSettings();

  function renderBroadcastCurrent() {
    var cur = document.getElementById("broadcast-current");
    WB.setText(cur, broadcast.text ? broadcast.text : WB.t("bc_none"));
    cur.classList.toggle("muted", !broadcast.text);
    var at = WB.parseTs(broadcast.set_at);
    WB.setText(document.getElementById("broadcast-set-at"),
               broadcast.text && at !== null ? WB.t("bc_set_at", { t: WB.fmtTime(at, zone) }) : "");
  }

  function postBroadcast(text) {
    var token = tokenBox.value.trim();
    try { window.sessionStorage.setItem("wallboard.token", token); } catch (e) { /* private mode */ }
    var headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    statusBox.setAttribute("data-result", "pending");
    WB.setText(statusBox, WB.t("bc_sending"));
    return fetch(new URL("api/broadcast", window.location.href).toString(), {
      method: "POST", headers: headers, body: JSON.stringify({ text: text }), credentials: "same-origin"
    }).then(function (resp) {
      if (resp.ok) {
        statusBox.setAttribute("data-result", "ok");
        WB.setText(statusBox, text ? WB.t("bc_sent") : WB.t("bc_cleared"));
        if (!text) textBox.value = "";
        return resp.json().catch(function () { return null; }).then(function (body) {
          if (body && typeof body.text === "string") {
            broadcast = { text: body.text, set_at: body.set_at || null };
            renderBroadcastCurrent();
          }
        });
      }
      return resp.text().then(function (body) {
        var msg = resp.status + " " + (resp.statusText || "");
        if (resp.status === 401 || resp.status === 403) msg = WB.t("bc_unauthorized");
        else {
          try {
            var j = JSON.parse(body);
            msg = j.detail || j.error || j.message || msg;
          } catch (e) { if (body && body.length < 200) msg = body; }
        }
        statusBox.setAttribute("data-result", "error");
        WB.setText(statusBox, WB.t("bc_error", { msg: String(msg) }));
      });
    }).catch(function (err) {
      statusBox.setAttribute("data-result", "error");
      WB.setText(statusBox, WB.t("bc_error", { msg: String(err && err.message ? err.message : err) }));
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    postBroadcast(textBox.value.trim());
  });
  document.getElementById("broadcast-clear").addEventListener("click", function () { postBroadcast(""); });

  // ---------------------------------------------------------------- ticking

  function tick() {
    WB.setText(document.getElementById("clock"), WB.fmtTime(conn.serverNow(), zone));
    queueRows.forEach(tickQueueRow);
    if (totalRows) totalRows.forEach(tickQueueRow);
    var now = agentsNow();
    agentRowsById.forEach(function (row) { tickAgentRow(row, now); });
  }

  relabel();
  window.setInterval(tick, 1000);
  conn.start();
  WB.supervisor = { conn: conn }; // for debugging from the console
})();
