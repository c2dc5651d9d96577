/* wallboard: the supervisor's chart of today's intervals (the `intraday` view), drawn with uPlot
 * (static/vendor/uplot): offered (bars), answered and abandoned (lines), service level (dashed,
 * right axis) and the SL target (dotted), for one queue or all queues (the view's totals) and
 * one channel.
 *
 *   WB.svChart.init(page)       page.channels, and the current page.settings, page.zone
 *   WB.svChart.render(view, d)  after an `intraday` message (d null), or an `intraday_delta` d
 *                               applied (static/deltas.js): redrawn only when d touches what it shows
 *   WB.svChart.relabel()        after a change of language (rebuilds the chart)
 */
(function () {
  "use strict";
  var WB = window.WB;
  var page = null;
  var view = null;
  var queueSelect, channelSelect, box, empty;
  var chart = null;
  var chartKey = "";

  function rebuildQueues() {
    var queues = view ? Object.keys(view.queues) : [];
    WB.table.fillSelect(queueSelect, WB.table.sortedUnique(queues), function (v) { return v; });
    if (queueSelect.options.length) queueSelect.options[0].textContent = WB.t("all_queues");
  }

  /** Unix seconds and the four series: one queue's intervals, or the view's totals for all queues. */
  function series(queue, channel) {
    var xs = [], offered = [], answered = [], abandoned = [], sl = [];
    if (!view) return [xs, offered, answered, abandoned, sl];
    var node = queue ? view.queues[queue] : view.totals;
    var periods = node ? node.channels[channel] || [] : [];
    // The interval in progress is drawn as a (partial) bar only: its lines would plunge
    // towards zero and look like a collapse.  Its numbers are in the table above.
    var asOf = WB.parseTs(view.as_of);
    var step = view.interval_s * 1000;
    periods.forEach(function (p, i) {
      var t = WB.parseTs(view.intervals[i].start);
      var partial = asOf !== null && t + step > asOf;
      xs.push(t / 1000);
      offered.push(p.offered);
      answered.push(partial ? null : p.answered);
      abandoned.push(partial ? null : p.abandoned);
      sl.push(!partial && WB.isNum(p.service_level) ? p.service_level * 100 : null);
    });
    return [xs, offered, answered, abandoned, sl];
  }

  function size() {
    var w = Math.max(300, box.clientWidth);
    return { width: w, height: Math.round(Math.min(340, Math.max(220, w * 0.36))) };
  }

  function draw(rebuild) {
    if (typeof window.uPlot !== "function") return;
    var queue = queueSelect.value || "";
    var channel = channelSelect.value || page.channels[0];
    var data = series(queue, channel);
    empty.hidden = data[0].length > 0;
    box.hidden = data[0].length === 0;
    var zone = page.zone;
    var key = WB.lang + "|" + queue + "|" + channel + "|" + (zone || "");
    if (chart && (rebuild || key !== chartKey)) { chart.destroy(); chart = null; }
    chartKey = key;
    if (data[0].length === 0) return;
    if (chart) { chart.setData(data); return; }
    var target = WB.settingsFor(page.settings, queue || null, channel).sl_target * 100;
    var dim = size();
    var axisStroke = "#9aa7b8", grid = { stroke: "#223044", width: 1 };
    var hhmm = function (ms) { return WB.fmtHHMM(ms, zone); };
    var opts = {
      width: dim.width,
      height: dim.height,
      tzDate: function (ts) { return zone ? window.uPlot.tzDate(new Date(ts * 1000), zone) : new Date(ts * 1000); },
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
          value: function (u, v) { return WB.fmtCount(v); } },
        { label: WB.t("chart_answered"), scale: "n", stroke: "#35d07f", width: 2,
          value: function (u, v) { return WB.fmtCount(v); } },
        { label: WB.t("chart_abandoned"), scale: "n", stroke: "#ff4d4f", width: 2,
          value: function (u, v) { return WB.fmtCount(v); } },
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
    chart = new window.uPlot(opts, data, box);
  }

  /** Does the delta change the series on show (new intervals, or a period of the queue or totals shown)? */
  function touches(delta) {
    if (delta.intervals && delta.intervals.length) return true;
    var queue = queueSelect.value || "";
    var channel = channelSelect.value || page.channels[0];
    var node = queue ? (Object.prototype.hasOwnProperty.call(delta.queues, queue) ? delta.queues[queue] : null)
                     : delta.totals;
    return !!(node && node[channel] && Object.keys(node[channel]).length);
  }

  function render(intraday, delta) {
    var queues = view ? Object.keys(view.queues).join("\n") : null;
    view = intraday;
    var listed = !delta || Object.keys(view.queues).join("\n") !== queues;
    if (listed) rebuildQueues();
    if (listed || touches(delta)) draw(false);
  }

  function relabel() {
    rebuildQueues();
    draw(true);
  }

  function init(p) {
    page = p;
    queueSelect = document.getElementById("chart-queue");
    channelSelect = document.getElementById("chart-channel");
    box = document.getElementById("intraday-chart");
    empty = document.getElementById("intraday-empty");
    queueSelect.addEventListener("change", function () { draw(true); });
    channelSelect.addEventListener("change", function () { draw(true); });
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(function () { if (chart) chart.setSize(size()); }, 150);
    });
  }

  WB.svChart = { init: init, render: render, relabel: relabel };
})();
