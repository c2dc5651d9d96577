/* wallboard: the TV's broadcast ticker: the supervisor's message scrolling at a constant
 * reading speed; an empty message clears it and gives its room back to the tiles.  Plain text only (textContent).
 *
 *   WB.ticker.init()        binds the element and re-measures on resize
 *   WB.ticker.render(text)  after every `broadcast` message
 */
(function () {
  "use strict";
  var WB = window.WB;
  var ticker = null, tickerText = null;

  function render(text) {
    text = text.replace(/\s+/g, " ").trim();
    if (tickerText.textContent === text) return;
    tickerText.textContent = text;
    ticker.setAttribute("data-active", text ? "1" : "0");
    // Without a message the band takes no room at all: the tiles get it (static/board.css).
    document.body.classList.toggle("has-ticker", !!text);
    if (!text) return;
    // Constant reading speed whatever the length: the distance is the band plus the text.
    var band = ticker.clientWidth;
    var width = tickerText.scrollWidth;
    var remPx = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    var speed = 9 * remPx; // px per second
    tickerText.style.setProperty("--ticker-from", band + "px");
    tickerText.style.setProperty("--ticker-to", -width + "px");
    tickerText.style.animationDuration = Math.max(8, (band + width) / speed) + "s";
    // Restart the animation from the right edge for the new text.
    tickerText.classList.remove("run");
    void tickerText.offsetWidth;
    tickerText.classList.add("run");
  }

  function init() {
    ticker = document.getElementById("ticker");
    tickerText = ticker.querySelector(".ticker-text");
    window.addEventListener("resize", function () {
      if (tickerText.textContent) { var t = tickerText.textContent; tickerText.textContent = ""; render(t); }
    });
  }

  WB.ticker = { init: init, render: render };
})();
