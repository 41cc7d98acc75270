// eduops console: the little JavaScript the pages need. No inline scripts (CSP script-src 'self').
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // pages of a run still in progress reload themselves until it finishes
  const refresh = document.querySelector("[data-refresh-seconds]");
  if (refresh) {
    setTimeout(() => window.location.reload(), 1000 * Number(refresh.dataset.refreshSeconds));
  }
  // one navigation menu open at a time
  const menus = document.querySelectorAll("details.navgroup");
  menus.forEach((menu) => menu.addEventListener("toggle", () => {
    if (menu.open) menus.forEach((other) => { if (other !== menu) other.open = false; });
  }));
  // buttons that need a second thought
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (event) => {
      if (!window.confirm(el.dataset.confirm)) event.preventDefault();
    });
  });
  // charts: a <script type="application/json" class="chart-data" data-target="id"> holds the figure
  if (window.Plotly) {
    document.querySelectorAll("script.chart-data").forEach((node) => {
      const figure = JSON.parse(node.textContent);
      const layout = Object.assign({margin: {t: 24, r: 12, b: 40, l: 48}, height: 280}, figure.layout || {});
      // every axis makes room for its labels (nothing clipped) and shows its title (plotly.js 3+ wants {text})
      ["xaxis", "yaxis"].forEach((name) => { layout[name] = layout[name] || {}; });
      Object.keys(layout).filter((key) => /^[xy]axis\d*$/.test(key)).forEach((key) => {
        const axis = layout[key];
        if (axis.automargin === undefined) axis.automargin = true;
        if (typeof axis.title === "string") axis.title = {text: axis.title};
      });
      window.Plotly.newPlot(node.dataset.target, figure.data, layout, {displaylogo: false, responsive: true});
    });
  }
});
