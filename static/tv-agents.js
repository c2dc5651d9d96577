/* wallboard: the TV's strip of agents by state (shared by every channel panel).
 *
 *   WB.tvAgents.render(counts)   counts by state from the server (totals.agents, or the selection's
 *                                agents, where an agent serving several of the queues counts once); null -> dashes
 */
(function () {
  "use strict";
  var WB = window.WB;

  function render(counts) {
    document.querySelectorAll("#agents-strip .agent-count").forEach(function (el) {
      var state = el.getAttribute("data-agent-state");
      var v = counts ? counts[state] : null;
      var out = el.querySelector(".agent-value");
      var text = WB.fmtCount(v);
      if (out.textContent !== text) { out.textContent = text; WB.fitText(out); }
      WB.setAttr(out, "data-raw", WB.isNum(v) ? v : "null");
    });
  }

  WB.tvAgents = { init: function () {}, render: render };
})();
