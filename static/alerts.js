/* wallboard: the alerts on the pages (docs/alerts.md).  The server decides which alerts there are,
 * their words (row.text: label by language, the number and the threshold as the board writes them)
 * and who acknowledged them; this file only lays them out.  Plain text only (textContent).
 *
 *   WB.alerts.concerns(row, queues, groups)  whether a TV showing these queues (and groups) shows the row:
 *                                            a whole-centre TV (no queues) shows every alert; a TV of some
 *                                            queues, the centre's and its own queues' and groups'
 *   WB.alerts.banner(el, rows)               the TV's banner: the firing alerts, critical first, at most
 *                                            three lines and "+N more"; no alert, no banner (no room taken)
 *   WB.alerts.list(el, rows, onAck)          the supervisor's list: firing then pending, acknowledge buttons
 *   WB.alerts.Notifier(onEnable)             browser notification and an optional sound for each new firing
 */
(function () {
  "use strict";
  var WB = window.WB;
  var MAX_LINES = 3;

  function concerns(row, queues, groups) {
    if (!queues || !queues.length) return true;
    var kind = row.scope.split(":")[0], name = row.scope.slice(kind.length + 1);
    if (kind === "total") return true;
    if (kind === "queue") return queues.indexOf(name) >= 0;
    return !!groups && groups.indexOf(name) >= 0;
  }

  function words(row) {
    var text = row.text || {};
    var label = (text.label && (text.label[WB.lang] || text.label.en)) || row.rule + " " + row.scope;
    var relation = WB.t(row.when === "above" ? "alert_above" : "alert_below", { limit: text.limit || "" });
    return { label: label, now: text.shown || "", relation: relation };
  }

  /** "10:54": the server writes the times in the centre's zone (RFC 3339), so the wall clock is in the text. */
  function since(row) {
    return String(row.fired_at || row.since || "").slice(11, 16);
  }

  function line(row) {
    var w = words(row);
    var el = document.createElement("div");
    el.className = "alert-line";
    el.setAttribute("data-severity", row.severity);
    el.setAttribute("data-state", row.state);
    if (row.acknowledged_by) el.setAttribute("data-acked", "1");
    var mark = document.createElement("span");
    mark.className = "alert-mark";
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = row.severity === "critical" ? "■" : "▲"; // a shape as well as a colour
    var label = document.createElement("span");
    label.className = "alert-label";
    label.textContent = w.label;
    var value = document.createElement("span");
    value.className = "alert-value";
    value.textContent = w.now + " " + w.relation;
    var when = document.createElement("span");
    when.className = "alert-since";
    when.textContent = WB.t("alert_since", { t: since(row) });
    el.append(mark, label, value, when);
    if (row.acknowledged_by) {
      var ack = document.createElement("span");
      ack.className = "alert-ack";
      ack.textContent = WB.t("alert_acked_by", { who: row.acknowledged_by });
      el.append(ack);
    }
    el.title = w.label + " " + w.now + " " + w.relation;
    return el;
  }

  function firingFirst(rows) {
    return rows.slice().sort(function (a, b) {
      var rank = function (r) { return (r.state === "firing" ? 0 : 2) + (r.severity === "critical" ? 0 : 1); };
      return rank(a) - rank(b);
    });
  }

  function banner(el, rows) {
    var firing = firingFirst(rows.filter(function (r) { return r.state === "firing"; }));
    el.textContent = "";
    firing.slice(0, MAX_LINES).forEach(function (r) { el.append(line(r)); });
    if (firing.length > MAX_LINES) {
      var more = document.createElement("div");
      more.className = "alert-more";
      more.textContent = WB.t("alert_more", { n: firing.length - MAX_LINES });
      el.append(more);
    }
    el.setAttribute("data-active", firing.length ? "1" : "0");
    el.setAttribute("data-worst", firing.length ? firing[0].severity : "");
    document.body.classList.toggle("has-alerts", firing.length > 0);
  }

  function list(el, rows, onAck) {
    el.textContent = "";
    var shown = firingFirst(rows);
    if (!shown.length) {
      var none = document.createElement("p");
      none.className = "alerts-none";
      none.textContent = WB.t("alerts_none");
      el.append(none);
      return;
    }
    shown.forEach(function (r) {
      var item = line(r);
      if (r.state === "pending") {
        var pending = document.createElement("span");
        pending.className = "alert-pending";
        pending.textContent = WB.t("alert_pending");
        item.append(pending);
      } else if (!r.acknowledged_by && onAck) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "alert-ack-button";
        button.textContent = WB.t("alert_acknowledge");
        button.addEventListener("click", function () {
          button.disabled = true;
          onAck(r.idempotency_key, function (ok) { if (!ok) button.disabled = false; });
        });
        item.append(button);
      }
      el.append(item);
    });
  }

  /** Tells the supervisor of each new firing: a browser notification (once allowed) and, if on, a short tone. */
  function Notifier() {
    this.seen = null; // idempotency keys already told (null: the first list, told as it is, silently)
    this.sound = localStorage.getItem("wallboard.alertSound") === "1";
  }
  Notifier.prototype.setSound = function (on) {
    this.sound = !!on;
    localStorage.setItem("wallboard.alertSound", on ? "1" : "0");
  };
  Notifier.prototype.update = function (rows) {
    var firing = rows.filter(function (r) { return r.state === "firing" && r.idempotency_key; });
    var keys = firing.map(function (r) { return r.idempotency_key; });
    if (this.seen === null) { this.seen = keys; return []; }
    var seen = this.seen;
    var fresh = firing.filter(function (r) { return seen.indexOf(r.idempotency_key) < 0; });
    this.seen = keys;
    var self = this;
    fresh.forEach(function (r) {
      var w = words(r);
      if (window.Notification && Notification.permission === "granted") {
        try { new Notification(WB.t("alert_notification_title"), { body: w.label + " " + w.now + " " + w.relation, tag: r.idempotency_key }); } catch (e) { /* not allowed here */ }
      }
    });
    if (fresh.length && self.sound) beep();
    return fresh;
  };

  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      var ac = new Ctx(), osc = ac.createOscillator(), gain = ac.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.15;
      osc.connect(gain); gain.connect(ac.destination);
      osc.start(); osc.stop(ac.currentTime + 0.4);
      osc.onended = function () { ac.close(); };
    } catch (e) { /* no audio on this device */ }
  }

  WB.alerts = { concerns: concerns, banner: banner, list: list, Notifier: Notifier };
})();
