// Draws the metric charts whose data the page embeds as JSON (<script class="chart-data">).
(function () {
  "use strict";

  var PALETTE = ["#2f6fde", "#e4572e", "#17a398", "#f2a541", "#7e52a0",
                 "#d1495b", "#3c8d2f", "#5c6b7a", "#c2185b", "#00838f"];

  // Plotly reads labels as pseudo-HTML; run names are user content, so escape them.
  function text(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function draw(grid, chart) {
    var figure = document.createElement("figure");
    figure.className = "chart";
    var plot = document.createElement("div");
    plot.className = "plot";
    plot.setAttribute("role", "img");
    plot.setAttribute("aria-label", "History of metric " + chart.key);
    plot.setAttribute("data-metric", chart.key);
    figure.appendChild(plot);
    grid.appendChild(figure);

    var several = chart.traces.length > 1;
    var traces = chart.traces.map(function (t, i) {
      var color = PALETTE[i % PALETTE.length];
      return {
        type: "scatter",
        mode: t.x.length > 1 ? "lines" : "markers",
        name: text(t.name),
        x: t.x,
        y: t.y,
        line: { color: color, width: 2 },
        marker: { color: color, size: 6 },
        hovertemplate: (several ? "%{fullData.name}<br>" : "") + "%{x}: %{y:.6g}<extra></extra>"
      };
    });
    var layout = {
      title: { text: text(chart.key), x: 0, xanchor: "left", font: { size: 14 } },
      height: 280,
      margin: { l: 56, r: 16, t: 40, b: several ? 72 : 44 },
      showlegend: several,
      legend: { orientation: "h", y: -0.3 },
      xaxis: { title: { text: chart.x_title, font: { size: 11 } }, zeroline: false, gridcolor: "#eef0f3" },
      yaxis: { zeroline: false, gridcolor: "#eef0f3", tickformat: "~g" },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", color: "#2b3340" }
    };
    var config = {
      displaylogo: false,
      responsive: true,
      modeBarButtonsToRemove: ["select2d", "lasso2d"],
      toImageButtonOptions: { filename: chart.key.replace(/[^\w.-]+/g, "_") }
    };
    window.Plotly.newPlot(plot, traces, layout, config);
  }

  document.querySelectorAll("script.chart-data").forEach(function (node) {
    var grid = document.getElementById(node.getAttribute("data-target"));
    if (!grid || !window.Plotly) { return; }
    JSON.parse(node.textContent).forEach(function (chart) { draw(grid, chart); });
  });
})();
