// Draws one small chart per headline metric across a model's versions, from the JSON the page
// embeds (<script type="application/json" id="version-chart-data">): the value of each version,
// its bootstrap interval as error bars, and the baseline trained beside it as a dashed line.
(function () {
  "use strict";

  var MODEL = "#2f6fde";
  var BASELINE = "#8a94a3";

  // Plotly reads labels as pseudo-HTML; metric names are user content, so escape them.
  function text(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function present(values) {
    return values.some(function (v) { return v !== null && v !== undefined; });
  }

  function draw(grid, chart) {
    var figure = document.createElement("figure");
    figure.className = "chart";
    var plot = document.createElement("div");
    plot.className = "plot";
    plot.setAttribute("role", "img");
    plot.setAttribute("aria-label", "Metric " + chart.key + " across versions");
    plot.setAttribute("data-metric", chart.key);
    figure.appendChild(plot);
    grid.appendChild(figure);

    var withInterval = chart.values.map(function (v, i) {
      return v !== null && chart.lower[i] !== null && chart.upper[i] !== null;
    });
    var model = {
      type: "scatter",
      mode: chart.versions.length > 1 ? "lines+markers" : "markers",
      name: "model",
      x: chart.versions,
      y: chart.values,
      line: { color: MODEL, width: 2 },
      marker: { color: MODEL, size: 8 },
      customdata: chart.values.map(function (v, i) {
        return withInterval[i] ? "[" + chart.lower[i].toPrecision(4) + ", " + chart.upper[i].toPrecision(4) + "]" : "";
      }),
      hovertemplate: "%{x}: %{y:.4g} %{customdata}<extra></extra>"
    };
    if (withInterval.some(Boolean)) {
      model.error_y = {
        type: "data",
        symmetric: false,
        array: chart.values.map(function (v, i) { return withInterval[i] ? chart.upper[i] - v : 0; }),
        arrayminus: chart.values.map(function (v, i) { return withInterval[i] ? v - chart.lower[i] : 0; }),
        color: MODEL,
        thickness: 1.5,
        width: 5
      };
    }
    var traces = [model];
    if (present(chart.baseline)) {
      traces.push({
        type: "scatter",
        mode: "lines+markers",
        name: "baseline",
        x: chart.versions,
        y: chart.baseline,
        line: { color: BASELINE, width: 1.5, dash: "dash" },
        marker: { color: BASELINE, size: 5 },
        hovertemplate: "baseline %{x}: %{y:.4g}<extra></extra>"
      });
    }
    var layout = {
      title: { text: text(chart.key), x: 0, xanchor: "left", font: { size: 14 } },
      height: 260,
      margin: { l: 56, r: 16, t: 40, b: 36 },
      showlegend: traces.length > 1,
      legend: { orientation: "h", x: 1, xanchor: "right", y: 1.12 },
      xaxis: { type: "category", zeroline: false, gridcolor: "#eef0f3" },
      yaxis: { zeroline: false, gridcolor: "#eef0f3", tickformat: "~g" },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", color: "#2b3340" }
    };
    var config = {
      displaylogo: false,
      responsive: true,
      modeBarButtonsToRemove: ["select2d", "lasso2d"],
      toImageButtonOptions: { filename: chart.key.replace(/[^\w.-]+/g, "_") + "_by_version" }
    };
    window.Plotly.newPlot(plot, traces, layout, config);
  }

  var node = document.getElementById("version-chart-data");
  var grid = document.getElementById("version-charts");
  if (!node || !grid || !window.Plotly) { return; }
  JSON.parse(node.textContent).forEach(function (chart) {
    if (chart.versions.length) { draw(grid, chart); }
  });
})();
