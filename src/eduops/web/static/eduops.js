// eduops console: the little JavaScript the pages need. No inline scripts (CSP script-src 'self').
"use strict";
// Plotly's own words (its toolbar, hints and date names) in Simplified Chinese: the plotly package ships no
// locale files, so the console registers this one; dates read 11月8日 / 2026年 on axes and in hover labels.
const PLOTLY_ZH_CN = {
  moduleType: "locale",
  name: "zh-CN",
  dictionary: {
    "Autoscale": "自动缩放",
    "Box Select": "框选",
    "Compare data on hover": "悬停时比较各条数据",
    "Double-click on legend to isolate one trace": "双击图例只看这一条",
    "Double-click to zoom back out": "双击恢复原来的范围",
    "Download plot": "下载图表",
    "Draw circle": "画圆",
    "Draw closed freeform": "画闭合的自由形状",
    "Draw line": "画线",
    "Draw open freeform": "画开放的自由形状",
    "Draw rectangle": "画矩形",
    "Erase active shape": "删除选中的形状",
    "Download plot as a PNG": "下载图表（PNG）",
    "Download plot as JSON": "下载图表（JSON）",
    "Image download succeeded": "图片已下载",
    "JSON download succeeded": "JSON 已下载",
    "Lasso Select": "套索选择",
    "Orbital rotation": "轨道旋转",
    "Pan": "平移",
    "Preparing image - this may take a few seconds": "正在生成图片，可能需要几秒钟",
    "Reset": "重置",
    "Reset axes": "重置坐标轴",
    "Reset camera to default": "视角恢复默认",
    "Reset camera to last save": "视角恢复到上次保存",
    "Reset view": "重置视图",
    "Reset views": "重置视图",
    "Show closest data on hover": "悬停时显示最近的数据",
    "Sorry, there was a problem downloading your image!": "抱歉，图片下载失败！",
    "Sorry, there was a problem downloading your JSON file!": "抱歉，JSON 文件下载失败！",
    "Toggle Spike Lines": "显示或隐藏参考线",
    "Toggle show closest data on hover": "切换悬停时显示最近的数据",
    "Turntable rotation": "转盘旋转",
    "Zoom": "缩放",
    "Zoom in": "放大",
    "Zoom out": "缩小",
  },
  format: {
    days: ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
    shortDays: ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
    months: ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"],
    shortMonths: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
    periods: ["上午", "下午"],
    dateTime: "%Y-%m-%d %H:%M:%S",
    date: "%Y-%m-%d",
    time: "%H:%M:%S",
    decimal: ".",
    thousands: ",",
    grouping: [3],
    currency: ["¥", ""],
    year: "%Y年",
    month: "%Y年%-m月",
    dayMonth: "%-m月%-d日",
    dayMonthYear: "%Y年%-m月%-d日",
  },
};
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
    window.Plotly.register(PLOTLY_ZH_CN);
    const locale = document.documentElement.lang === "zh-CN" ? "zh-CN" : "en";
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
      window.Plotly.newPlot(node.dataset.target, figure.data, layout, {
        displaylogo: false, responsive: true, locale: locale,
        showSendToCloud: false,  // Plotly's "share chart" would post the figure to cloud.plotly.com
      });
    });
  }
});
