/* 控辍保学 dashboards: draw the charts of the school and county dashboards with ECharts (vendored).
 *
 * Each chart is a box  <div data-chart="KIND" data-source="ID">  whose data the page embeds with
 * Django's json_script as <script id="ID" type="application/json">. KIND is one of
 *   trend    {labels, series: [{name, data: [{value, url}]}]}      lines, percentages
 *   pie      {items: [{name, value, url, color}]}
 *   bar      {labels, values: [{value, url, itemStyle?}]}          vertical bars, counts
 *   hbar     {labels, values: [{value, url}]}                      horizontal bars (data-unit="%" for rates)
 *   dropout  {labels, rates: [{value, url}], met: [bool|null], targets: [number|null], target: number|null,
 *             names: {rate, target}}   target: the one target all schools share, else null (one mark each)
 * A data point with a url opens it on click: every number leads to the list behind it.
 */
(function () {
  "use strict";

  var COLOURS = ["#0d6efd", "#20c997", "#fd7e14", "#6f42c1", "#dc3545", "#0dcaf0"];
  var FONT = getComputedStyle(document.body).fontFamily;

  function readData(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function pct(value) {
    return value === null || value === undefined ? "—" : value.toFixed(2) + "%";
  }

  function base() {
    return {
      color: COLOURS,
      textStyle: { fontFamily: FONT },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", confine: true },
    };
  }

  var builders = {
    trend: function (data) {
      var option = base();
      option.legend = { top: 0 };
      option.tooltip.valueFormatter = pct;
      option.xAxis = { type: "category", data: data.labels, axisLabel: { hideOverlap: true } };
      option.yAxis = { type: "value", scale: true, max: 100, axisLabel: { formatter: "{value}%" } };
      option.series = data.series.map(function (series) {
        return { name: series.name, type: "line", data: series.data, symbolSize: 7, connectNulls: false };
      });
      return option;
    },

    pie: function (data) {
      var option = base();
      option.tooltip = { trigger: "item", formatter: "{b}:{c}({d}%)" };
      option.legend = { bottom: 0 };
      option.series = [
        {
          type: "pie",
          radius: ["35%", "68%"],
          center: ["50%", "45%"],
          label: { formatter: "{b} {c}" },
          data: data.items.map(function (item) {
            return { name: item.name, value: item.value, url: item.url, itemStyle: { color: item.color } };
          }),
        },
      ];
      return option;
    },

    bar: function (data) {
      var option = base();
      option.xAxis = { type: "category", data: data.labels, axisLabel: { interval: 0 } };
      option.yAxis = { type: "value", minInterval: 1 };
      option.series = [{ type: "bar", data: data.values, barMaxWidth: 36, label: { show: true, position: "top" } }];
      return option;
    },

    hbar: function (data, box) {
      var rate = box.dataset.unit === "%";
      var option = base();
      option.grid.right = 48;
      if (rate) option.tooltip.valueFormatter = pct;
      option.yAxis = {
        type: "category",
        data: data.labels,
        inverse: true,
        axisLabel: { interval: 0, width: 120, overflow: "truncate" },
      };
      option.xAxis = rate
        ? { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }
        : { type: "value", minInterval: 1 };
      option.series = [
        {
          type: "bar",
          data: data.values,
          barMaxWidth: 18,
          itemStyle: { color: rate ? "#fd7e14" : "#dc3545" },
          label: { show: true, position: "right", formatter: rate ? function (p) { return pct(p.value); } : "{c}" },
        },
      ];
      return option;
    },

    dropout: function (data) {
      var option = base();
      var varied = data.target === null && data.targets.some(function (t) { return t !== null; });
      var highest = Math.max.apply(null, data.rates.map(function (r) { return r.value || 0; }).concat(data.targets.map(function (t) { return t || 0; })));
      if (varied) option.legend = { top: 0, data: [data.names.target] };  // bars are coloured by 达标, not by series
      option.tooltip.valueFormatter = pct;
      var zoom = data.labels.length > 40;
      option.xAxis = {
        type: "category",
        data: data.labels,
        axisLabel: { interval: 0, rotate: data.labels.length > 8 ? 40 : 0, width: 90, overflow: "truncate" },
      };
      option.yAxis = { type: "value", max: highest > 0 ? Math.ceil(highest * 120) / 100 : 1, axisLabel: { formatter: "{value}%" } };
      if (zoom) {
        // Forty schools at a time; the slider under the names scrolls through the rest.
        option.grid.bottom = 40;
        option.dataZoom = [
          { type: "slider", start: 0, end: Math.round((40 / data.labels.length) * 100), height: 18, bottom: 6 },
          { type: "inside" },
        ];
      }
      var bars = {
        name: data.names.rate,
        type: "bar",
        barMaxWidth: 36,
        data: data.rates.map(function (point, index) {
          var met = data.met[index];
          var colour = met === false ? "#dc3545" : met === true ? "#198754" : "#6c757d";
          return { value: point.value, url: point.url, itemStyle: { color: colour } };
        }),
      };
      if (data.target !== null) {
        bars.markLine = {
          silent: true,
          symbol: "none",
          lineStyle: { color: "#dc3545", type: "dashed", width: 2 },
          label: { formatter: data.names.target + " ≤ {c}%", position: "insideEndTop" },
          data: [{ yAxis: data.target }],
        };
      }
      option.series = [bars];
      if (varied) {
        option.series.push({
          name: data.names.target,
          type: "scatter",
          symbol: "rect",
          symbolSize: [18, 3],
          itemStyle: { color: "#dc3545" },
          data: data.targets,
        });
      }
      return option;
    },
  };

  var charts = {};
  document.querySelectorAll("[data-chart]").forEach(function (box) {
    var build = builders[box.dataset.chart];
    var data = readData(box.dataset.source);
    if (!build || !data || typeof echarts === "undefined") return;
    var chart = echarts.init(box, null, { renderer: "canvas" });
    chart.setOption(build(data, box));
    chart.on("click", function (params) {
      var url = params.data && params.data.url;
      if (url) window.location.href = url;
    });
    chart.getZr().on("mousemove", function (event) {
      box.style.cursor = event.target ? "pointer" : "default";
    });
    charts[box.id] = chart;
  });
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) { charts[id].resize(); });
  });
  window.dashboardCharts = charts;
})();
