// The portal's behaviour, from data- attributes only (no inline scripts: a strict CSP is coming).
"use strict";

function portalSelectAll() {
  document.querySelectorAll("[data-select-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      var name = box.getAttribute("data-select-all");
      box.form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (other) {
        other.checked = box.checked;
      });
    });
  });
}

function portalCharts() {
  document.querySelectorAll("canvas[data-chart-source]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart-source"));
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    canvas.chart = new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: [{ label: "Hours AVAILABLE", data: data.hours }] },
      options: {
        maintainAspectRatio: false,
        animation: false,
        plugins: { title: { display: true, text: data.title } },
        scales: { y: { beginAtZero: true, title: { display: true, text: "hours" } } },
      },
    });
    canvas.setAttribute("data-chart-ready", "yes");
  });
}

document.addEventListener("DOMContentLoaded", function () {
  portalSelectAll();
  portalCharts();
});
