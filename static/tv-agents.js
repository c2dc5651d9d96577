/* wallboard: the TV's strip of agents by state (shared by every channel panel).
 *
 *   WB.tvAgents.render(counts, levels)  counts by state from the server (totals.agents, or the selection's
 *                                agents, where an agent serving several of the queues counts once); null -> dashes.
 *                                levels: the same scope's levels (levels.agents.available: the available
 *                                agents against the customers waiting, wallboard/levels.py); null -> none
 */
(function () {
  "use strict";
  var WB = window.WB;

  function render(counts, levels) {
    var agentLevels = (levels && levels.agents) || {};
    document.querySelectorAll("#agents-strip .agent-count").forEach(function (el) {
      var state = el.getAttribute("data-agent-state");
      var v = counts ? counts[state] : null;
      var out = el.querySelector(".agent-value");
      var text = WB.fmtCount(v);
      if (out.textContent !== text) { out.textContent = text; WB.fitText(out); }
      WB.setAttr(out, "data-raw", WB.isNum(v) ? v : "null");
      WB.tvPanels.setLevel(el, WB.levelAttr(counts ? agentLevels[state] : null));
    });
  }

  WB.tvAgents = { init: function () {}, render: render };
})();
