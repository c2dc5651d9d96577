/* wallboard: the TV's strip of agents by state (shared by every channel panel).
 *
 *   WB.tvAgents.render(counts, levels, over)  counts by state from the server (totals.agents, or the selection's
 *                                agents, where an agent serving several of the queues counts once); null -> dashes.
 *                                levels: the same scope's levels (levels.agents.available: the available
 *                                agents against the customers waiting, wallboard/levels.py); null -> none
 *                                over: agents over their [agent_limits] by state (agents_over_limit): a state's
 *                                box shows "■ 3 too long" as an alarm (data-over) while its count is above 0,
 *                                nothing at 0 or without a limit (docs/board.md "Agents over their limit")
 */
(function () {
  "use strict";
  var WB = window.WB;

  function render(counts, levels, over) {
    var agentLevels = (levels && levels.agents) || {};
    document.querySelectorAll("#agents-strip .agent-count").forEach(function (el) {
      var state = el.getAttribute("data-agent-state");
      var v = counts ? counts[state] : null;
      var out = el.querySelector(".agent-value");
      var text = WB.fmtCount(v);
      if (out.textContent !== text) { out.textContent = text; WB.fitText(out); }
      WB.setAttr(out, "data-raw", WB.isNum(v) ? v : "null");
      WB.tvPanels.setLevel(el, WB.levelAttr(counts ? agentLevels[state] : null));
      var badge = el.querySelector(".agent-over");
      if (!badge) return;
      var n = over ? over[state] : null;
      var alarm = WB.isNum(n) && n > 0;
      badge.hidden = !alarm;
      WB.setText(badge, alarm ? WB.t("over_limit_short", { n: WB.fmtCount(n) }) : "");
      WB.setAttr(badge, "data-raw", WB.isNum(n) ? n : "null");
      WB.setAttr(badge, "title", alarm ? WB.t("over_limit_" + state, { n: WB.fmtCount(n) }) : "");
      WB.setAttr(badge, "aria-label", alarm ? WB.t("over_limit_" + state, { n: WB.fmtCount(n) }) : "");
      WB.setAttr(el, "data-over", alarm ? "alarm" : "");
    });
  }

  WB.tvAgents = { init: function () {}, render: render };
})();
