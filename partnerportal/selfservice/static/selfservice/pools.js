// Pools' 24-hour chart, from data- attributes only (no inline script; the page's CSP forbids it).
"use strict";

function poolCharts() {
  document.querySelectorAll("canvas[data-pool-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-pool-chart"));
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    canvas.chart = new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Desktops", data: data.size, stepped: true },
          { label: "Assigned", data: data.assigned, stepped: true },
          { label: "Warm", data: data.warm, stepped: true },
        ],
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        plugins: { title: { display: true, text: data.title } },
        scales: { y: { beginAtZero: true, title: { display: true, text: "desktops" } } },
      },
    });
    canvas.setAttribute("data-chart-ready", "yes");
  });
}

document.addEventListener("DOMContentLoaded", poolCharts);
