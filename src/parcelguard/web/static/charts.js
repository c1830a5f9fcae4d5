/* Draws the overview charts (web/overview.py): each .plot names the JSON data block
   holding its Plotly figure. No inline script: the portals' CSP stays strict. */
(function () {
  "use strict";
  if (typeof Plotly === "undefined") { return; }
  var config = { displayModeBar: false, responsive: true, staticPlot: false };
  document.querySelectorAll(".plot[data-spec]").forEach(function (el) {
    var block = document.getElementById(el.getAttribute("data-spec"));
    if (!block) { return; }
    var fig = JSON.parse(block.textContent);
    Plotly.newPlot(el, fig.data, fig.layout, config).then(function () {
      el.setAttribute("data-drawn", "1");
    });
  });
})();
