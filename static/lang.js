/* wallboard: labels in the chosen language (the dictionaries are static/i18n.js).
 *
 *   WB.pickLang / WB.setLang   ?lang=, else the browser's languages, else the server's guess
 *   WB.t(key, vars)            one label, "{name}" replaced by vars.name
 *   WB.applyI18n(root)         fill every [data-i18n] element and [data-i18n-title|placeholder|aria-label]
 *   WB.slFormulaText           the service-level formula in words
 */
(function () {
  "use strict";
  var WB = window.WB;

  WB.LANGS = ["zh-CN", "en"];
  WB.lang = "en";
  WB.i18nVars = {};

  /** ?lang= if it names a language we have, else the browser's language, else the server's guess. */
  WB.pickLang = function (serverLang) {
    var asked = WB.normLang(WB.params.get("lang"));
    if (asked) return asked;
    var prefs = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language];
    for (var i = 0; i < prefs.length; i++) {
      var l = WB.normLang(prefs[i]);
      if (l) return l;
    }
    return WB.normLang(serverLang) || "en";
  };

  WB.normLang = function (tag) {
    if (!tag) return null;
    tag = String(tag).toLowerCase();
    if (tag === "zh" || tag.indexOf("zh-") === 0 || tag.indexOf("zh_") === 0) return "zh-CN";
    if (tag === "en" || tag.indexOf("en-") === 0 || tag.indexOf("en_") === 0) return "en";
    return null;
  };

  WB.setLang = function (lang) {
    WB.lang = WB.normLang(lang) || "en";
    document.documentElement.lang = WB.lang;
    document.body.dataset.lang = WB.lang;
    WB.applyI18n(document);
  };

  WB.t = function (key, vars) {
    var dict = window.WB_I18N || {};
    var text = (dict[WB.lang] && dict[WB.lang][key]);
    if (text === undefined) text = dict.en && dict.en[key];
    if (text === undefined) text = key;
    if (vars) {
      text = text.replace(/\{(\w+)\}/g, function (m, name) {
        return Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m;
      });
    }
    return text;
  };

  /** Fill every [data-i18n] element's text and every [data-i18n-title|placeholder|aria-label] attribute. */
  WB.applyI18n = function (root) {
    var vars = WB.i18nVars || {};
    root.querySelectorAll("[data-i18n]").forEach(function (el) {
      el.textContent = WB.t(el.getAttribute("data-i18n"), vars);
    });
    ["title", "placeholder", "aria-label"].forEach(function (attr) {
      root.querySelectorAll("[data-i18n-" + attr + "]").forEach(function (el) {
        el.setAttribute(attr, WB.t(el.getAttribute("data-i18n-" + attr), vars));
      });
    });
  };

  WB.slFormulaText = function (formula, threshold) {
    var key = "sl_formula_" + formula;
    var dict = (window.WB_I18N || {}).en || {};
    if (!dict[key]) return WB.t("sl_formula_unknown", { f: formula });
    return WB.t(key, { t: threshold });
  };
})();
