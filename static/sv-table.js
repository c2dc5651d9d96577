/* wallboard: what the supervisor's tables share: sorting by column, stable row order, filters.
 *
 *   WB.table.compare(a, b, dir)          undefined values last in both directions; numbers, then text
 *   WB.table.reorder(tbody, trs)         put rows in order, touching the DOM only where it changed
 *   WB.table.bindSort(table, state, fn)  click or Enter on a heading sorts by it; again reverses
 *   WB.table.fillSelect(select, values, labelOf)   the options of a filter ("" = all), keeping the choice
 *   WB.table.sortedUnique(list)          distinct non-empty values in the language's order
 */
(function () {
  "use strict";
  var WB = window.WB;

  // One collator per language: String.localeCompare with a locale builds one per call, which made
  // sorting 14,000 agents take seconds.  The same order (ECMA-402 defines both the same way).
  var collators = {};
  function collator() {
    var c = collators[WB.lang];
    if (!c) c = collators[WB.lang] = new Intl.Collator(WB.lang, { numeric: true });
    return c;
  }

  function compare(a, b, dir) {
    var an = a === null || a === undefined, bn = b === null || b === undefined;
    if (an || bn) return an === bn ? 0 : (an ? 1 : -1); // undefined values last, either way
    if (typeof a === "number" && typeof b === "number") return (a - b) * dir;
    return collator().compare(String(a), String(b)) * dir;
  }

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
    var first = table.querySelector('thead th[data-sort="' + state.key + '"]');
    if (first) first.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
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
    // A Set, not {}: a queue named "__proto__" or "constructor" is a name like any other.
    var seen = new Set(), out = [];
    list.forEach(function (v) {
      if (v === null || v === undefined || v === "") return;
      v = String(v);
      if (!seen.has(v)) { seen.add(v); out.push(v); }
    });
    return out.sort(function (a, b) { return a.localeCompare(b, WB.lang); });
  }

  WB.table = { compare: compare, reorder: reorder, bindSort: bindSort, fillSelect: fillSelect,
               sortedUnique: sortedUnique };
})();
