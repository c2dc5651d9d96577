/* wallboard: the supervisor's broadcast panel: what the boards show now, and the form that posts
 * a new message or clears it (POST /api/broadcast, docs/api.md).
 *
 *   WB.svBroadcast.init(page)        page.settings (longest message), page.zone
 *   WB.svBroadcast.render(broadcast) {text, set_at}: after a `broadcast` message or a post
 *   WB.svBroadcast.settings()        after new settings (hello)
 *   WB.svBroadcast.relabel()         after a change of language
 */
(function () {
  "use strict";
  var WB = window.WB;
  var page = null;
  var current = { text: "", set_at: null };
  var textBox, statusBox;

  /** The server says how long a message may be. */
  function settings() {
    textBox.setAttribute("maxlength", String(page.settings.broadcast_max_length));
  }

  function render(broadcast) {
    if (broadcast) current = { text: broadcast.text, set_at: broadcast.set_at };
    var cur = document.getElementById("broadcast-current");
    WB.setText(cur, current.text ? current.text : WB.t("bc_none"));
    cur.classList.toggle("muted", !current.text);
    var at = WB.parseTs(current.set_at);
    WB.setText(document.getElementById("broadcast-set-at"),
               current.text && at !== null ? WB.t("bc_set_at", { t: WB.fmtTime(at, page.zone) }) : "");
  }

  function post(text) {
    // The session cookie signs it; the server wants JSON and our Origin (its CSRF defence).
    var headers = { "Content-Type": "application/json" };
    statusBox.setAttribute("data-result", "pending");
    WB.setText(statusBox, WB.t("bc_sending"));
    return fetch(new URL("api/broadcast", window.location.href).toString(), {
      method: "POST", headers: headers, body: JSON.stringify({ text: text }), credentials: "same-origin"
    }).then(function (resp) {
      if (resp.ok) {
        statusBox.setAttribute("data-result", "ok");
        WB.setText(statusBox, text ? WB.t("bc_sent") : WB.t("bc_cleared"));
        if (!text) textBox.value = "";
        return resp.json().then(render);
      }
      return resp.json().catch(function () { return null; }).then(function (body) {
        // Every error answer is {"error", "detail"} (docs/api.md); a proxy's page may be anything.
        var msg = resp.status + " " + (resp.statusText || "");
        if (resp.status === 401 || resp.status === 403) msg = WB.t("bc_unauthorized");
        if (resp.status === 401) WB.checkSession();
        else if (body && typeof body.detail === "string") msg = body.detail;
        statusBox.setAttribute("data-result", "error");
        WB.setText(statusBox, WB.t("bc_error", { msg: msg }));
      });
    }).catch(function (err) {
      statusBox.setAttribute("data-result", "error");
      WB.setText(statusBox, WB.t("bc_error", { msg: String(err && err.message ? err.message : err) }));
    });
  }

  function init(p) {
    page = p;
    var form = document.getElementById("broadcast-form");
    textBox = document.getElementById("broadcast-text");
    statusBox = document.getElementById("broadcast-status");
    var signOut = document.getElementById("sign-out");
    if (signOut) {
      signOut.addEventListener("click", function () {
        fetch(new URL("api/logout", window.location.href).toString(), {
          method: "POST", headers: { "Content-Type": "application/json" }, body: "{}", credentials: "same-origin"
        }).then(function () { window.location.assign(new URL("login", window.location.href).toString()); });
      });
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      post(textBox.value.trim());
    });
    document.getElementById("broadcast-clear").addEventListener("click", function () { post(""); });
    settings();
  }

  WB.svBroadcast = { init: init, render: render, settings: settings, relabel: function () { render(null); } };
})();
