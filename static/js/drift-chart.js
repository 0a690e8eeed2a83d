// The drift overview's chart: observations per day (bars) and new drift findings per day (line).
// The figures come from the page itself (Django's json_script), so no inline script is needed and
// the strict Content-Security-Policy holds.
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("drift-chart-data");
    var canvas = document.getElementById("drift-chart");
    if (!source || !canvas || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var style = getComputedStyle(document.documentElement);
    var accent = style.getPropertyValue("--accent").trim() || "#1f5fbf";
    var danger = style.getPropertyValue("--danger").trim() || "#b42318";

    new window.Chart(canvas, {
      data: {
        labels: data.labels,
        datasets: [
          {
            type: "bar",
            label: "Observations",
            data: data.observed,
            yAxisID: "observations",
            backgroundColor: accent + "59",
            borderColor: accent,
            borderWidth: 1,
            order: 2
          },
          {
            type: "line",
            label: "New drift findings",
            data: data.new_findings,
            yAxisID: "findings",
            borderColor: danger,
            backgroundColor: danger,
            pointRadius: 2,
            cubicInterpolationMode: "monotone",
            order: 1
          }
        ]
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          observations: {
            type: "linear",
            position: "left",
            beginAtZero: true,
            title: { display: true, text: "observations" }
          },
          findings: {
            type: "linear",
            position: "right",
            beginAtZero: true,
            ticks: { precision: 0 },
            grid: { drawOnChartArea: false },
            title: { display: true, text: "new findings" }
          }
        }
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
