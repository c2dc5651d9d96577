/* wallboard: the sign-in form.  Posts JSON to /api/login (the server refuses forms: CSRF), then goes to
 * ?next= when it is a path of this board, else to the supervisor page. */
(function () {
  "use strict";
  var form = document.getElementById("login-form");
  var status = document.getElementById("login-status");

  function nextPath() {
    var next = new URLSearchParams(window.location.search).get("next") || "";
    // Only a path of this board: "//evil.example" or "https://..." would make this an open redirect.
    return /^\/(?![\/\\])/.test(next) ? next : "/supervisor";
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    status.textContent = "…";
    fetch(new URL("api/login", window.location.href).toString(), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ user: form.user.value, password: form.password.value })
    }).then(function (resp) {
      if (resp.ok) {
        window.location.assign(nextPath());
        return null;
      }
      return resp.json().catch(function () { return null; }).then(function (body) {
        status.textContent = body && typeof body.detail === "string" ? body.detail : resp.status + " " + resp.statusText;
        form.password.value = "";
      });
    }).catch(function (err) {
      status.textContent = String(err && err.message ? err.message : err);
    });
  });
})();
