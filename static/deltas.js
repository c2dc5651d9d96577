/* wallboard: applying `agents_delta` and `intraday_delta` (docs/protocol.md "Deltas"), as
 * wallboard/deltas.py does on the server (tests/test_browser_deltas.py checks the two agree).
 *
 *   WB.deltas.Tracker(conn)          per view, the seq of the last message applied; a delta whose
 *                                    base_seq is not it is dropped and the full state asked for (resync)
 *   WB.deltas.applyAgents(rows, d)   rows: a Map agent_id -> row, changed in place; returns the ids changed
 *   WB.deltas.applyIntraday(view, d) a new intraday view (the unchanged series shared with the old one),
 *                                    or null when the delta is not of this view (then resync)
 */
(function () {
  "use strict";
  var WB = window.WB;

  function Tracker(conn) {
    this.conn = conn;
    this.seqs = {};
  }

  /** A new socket: nothing applied on it yet (the server starts it with the full views). */
  Tracker.prototype.reset = function () { this.seqs = {}; };

  /** A full message of `view`: everything after it builds on it. */
  Tracker.prototype.full = function (view, msg) { this.seqs[view] = msg.seq; };

  /** May this delta be applied? If not, it is dropped and the full state asked for. */
  Tracker.prototype.accepts = function (view, msg) {
    var have = Object.prototype.hasOwnProperty.call(this.seqs, view) ? this.seqs[view] : null;
    if (have === null || msg.base_seq !== have || !msg.data) {
      delete this.seqs[view]; // nothing more applies until a full view comes
      this.conn.resync();
      return false;
    }
    this.seqs[view] = msg.seq;
    return true;
  };

  function applyAgents(rows, delta) {
    var changed = [];
    (delta.removed || []).forEach(function (id) {
      id = String(id);
      if (rows.delete(id)) changed.push(id);
    });
    (delta.upserts || []).forEach(function (row) {
      var id = String(row.agent_id);
      rows.set(id, row);
      changed.push(id);
    });
    return changed;
  }

  /** obj[key] = value as JSON.parse makes it: an own property even for a queue named "__proto__". */
  function put(obj, key, value) {
    Object.defineProperty(obj, key, { value: value, enumerable: true, writable: true, configurable: true });
  }

  function patched(series, changes, count) {
    var channels = {};
    var before = series ? series.channels : {};
    var names = Object.keys(before);
    Object.keys(changes || {}).forEach(function (ch) { if (names.indexOf(ch) < 0) names.push(ch); });
    for (var n = 0; n < names.length; n++) {
      var ch = names[n];
      var periods = before[ch] || [];
      var upd = changes ? changes[ch] : null;
      if (upd) {
        periods = periods.slice();
        var idx = Object.keys(upd).map(Number).sort(function (a, b) { return a - b; });
        for (var k = 0; k < idx.length; k++) {
          var i = idx[k];
          if (i < periods.length) periods[i] = upd[String(i)];
          else if (i === periods.length) periods.push(upd[String(i)]);
          else return null;
        }
      }
      if (periods.length !== count) return null;
      channels[ch] = periods;
    }
    return { channels: channels };
  }

  function applyIntraday(view, delta) {
    if (!view || delta.day_start !== view.day_start || delta.intervals_from !== view.intervals.length) return null;
    var intervals = view.intervals.concat(delta.intervals || []);
    var queues = {};
    var order = delta.queue_order || [];
    var changes = delta.queues || {};
    for (var n = 0; n < order.length; n++) {
      var q = order[n];
      var s = patched(Object.prototype.hasOwnProperty.call(view.queues, q) ? view.queues[q] : null,
                      Object.prototype.hasOwnProperty.call(changes, q) ? changes[q] : null, intervals.length);
      if (s === null) return null;
      put(queues, q, s);
    }
    var totals = patched(view.totals, delta.totals, intervals.length);
    if (totals === null) return null;
    return Object.assign({}, view, { as_of: delta.as_of, intervals: intervals, queues: queues, totals: totals });
  }

  WB.deltas = { Tracker: Tracker, applyAgents: applyAgents, applyIntraday: applyIntraday };
})();
