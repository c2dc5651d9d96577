/* wallboard: the supervisor's alerts panel (docs/alerts.md): the alerts breached now, firing first, each
 * firing one with an acknowledge button (POST /api/alerts/ack: who and when reach every instance); a browser
 * notification (once the supervisor allows it) and an optional tone for each new firing.
 *
 *   WB.svAlerts.init(page)     binds the panel (hidden until the first `alerts` message: no rules, no panel)
 *   WB.svAlerts.render(rows)   after every `alerts` message
 */
(function () {
  "use strict";
  var WB = window.WB;
  var section = null, listEl = null, statusEl = null;
  var notifier = null;

  function acknowledge(key, done) {
    // The session cookie signs it; the server wants JSON and our Origin (its CSRF defence), as for the broadcast.
    fetch(new URL("api/alerts/ack", window.location.href).toString(), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ idempotency_key: key }),
      credentials: "same-origin"
    }).then(function (resp) {
      WB.setText(statusEl, resp.ok ? "" : WB.t("alert_ack_failed", { status: resp.status }));
      done(resp.ok); // the `alerts` message that follows shows who acknowledged it
    }).catch(function () {
      WB.setText(statusEl, WB.t("alert_ack_failed", { status: "–" }));
      done(false);
    });
  }

  function render(rows) {
    section.hidden = false;
    WB.alerts.list(listEl, rows, acknowledge);
    notifier.update(rows);
    WB.setAttr(section, "data-firing", rows.filter(function (r) { return r.state === "firing"; }).length);
  }

  function init() {
    section = document.getElementById("alerts-section");
    listEl = document.getElementById("alerts-list");
    statusEl = document.getElementById("alerts-status");
    notifier = new WB.alerts.Notifier();
    var notify = document.getElementById("alerts-notify");
    var sound = document.getElementById("alerts-sound");
    sound.checked = notifier.sound;
    sound.addEventListener("change", function () { notifier.setSound(sound.checked); });
    if (!window.Notification) notify.hidden = true;
    else {
      notify.hidden = Notification.permission !== "default";
      notify.addEventListener("click", function () {
        Notification.requestPermission().then(function () { notify.hidden = Notification.permission !== "default"; });
      });
    }
  }

  WB.svAlerts = { init: init, render: render };
})();
