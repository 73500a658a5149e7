// The dashboard's charts: Apache ECharts (vendored, /static/vendor/echarts.min.js) drawn
// from the JSON block #dashboard-data that the server renders, because the pages' CSP
// refuses inline scripts. Labels come already in the page's language and digits; numbers
// on the axes and in tooltips are formatted here, in Persian digits on a Persian page.
(function () {
  'use strict';

  function start() {
    var block = document.getElementById('dashboard-data');
    if (!block || typeof window.echarts === 'undefined') return;
    var data;
    try {
      data = JSON.parse(block.textContent);
    } catch (e) {
      return;
    }
    var rtl = document.documentElement.dir === 'rtl';
    var fmt = new Intl.NumberFormat(data.lang === 'fa' ? 'fa-IR' : 'en-US', { maximumFractionDigits: 3 });
    var number = function (v) {
      return v === null || v === undefined || v === '-' ? '—' : fmt.format(v);
    };
    var font = 'Vazirmatn, system-ui, sans-serif';
    var charts = [];

    document.querySelectorAll('[data-chart]').forEach(function (el) {
      var spec = data.charts[el.getAttribute('data-chart')];
      if (!spec) return;
      var chart = window.echarts.init(el, null, { renderer: 'svg' });
      chart.setOption(option(spec, rtl, number, font));
      charts.push(chart);
    });

    var pending = null;
    window.addEventListener('resize', function () {
      if (pending) window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        charts.forEach(function (c) { c.resize(); });
      }, 100);
    });
  }

  function option(spec, rtl, number, font) {
    var base = {
      textStyle: { fontFamily: font },
      tooltip: { trigger: spec.kind === 'pie' ? 'item' : 'axis', valueFormatter: number },
      // A long legend pages; its page count ("1/2") in the page's digits too.
      legend: {
        top: 0,
        type: 'scroll',
        pageFormatter: function (p) { return number(p.current) + '/' + number(p.total); }
      },
      animation: false
    };
    if (spec.kind === 'pie') {
      base.series = [{
        type: 'pie',
        radius: ['35%', '65%'],
        top: 30,
        label: { formatter: function (p) { return p.name + ': ' + number(p.value); } },
        data: spec.labels.map(function (name, i) { return { name: name, value: spec.series[0].data[i] }; })
      }];
      return base;
    }
    var horizontal = spec.kind === 'hbar';
    var valueAxis = function (extra) {
      var axis = { type: 'value', axisLabel: { formatter: number } };
      if (spec.max !== undefined) axis.max = spec.max;
      return Object.assign(axis, extra || {});
    };
    var categoryAxis = {
      type: 'category',
      data: spec.labels,
      axisLabel: horizontal ? { width: 140, overflow: 'truncate' } : { hideOverlap: true }
    };
    base.grid = { left: 12, right: 12, top: 36, bottom: 8, containLabel: true };
    if (horizontal) {
      // Highest first at the top, and the bars grow from the reading side.
      categoryAxis.inverse = true;
      categoryAxis.position = rtl ? 'right' : 'left';
      base.xAxis = valueAxis({ inverse: rtl });
      base.yAxis = categoryAxis;
    } else {
      categoryAxis.inverse = rtl;
      base.xAxis = categoryAxis;
      var second = spec.series.some(function (s) { return s.axis === 1; });
      base.yAxis = second
        ? [valueAxis({ position: rtl ? 'right' : 'left' }), valueAxis({ position: rtl ? 'left' : 'right' })]
        : valueAxis({ position: rtl ? 'right' : 'left' });
    }
    base.series = spec.series.map(function (s) {
      var kind = s.kind || spec.kind;
      return {
        name: s.name,
        type: kind === 'line' ? 'line' : 'bar',
        yAxisIndex: !horizontal && s.axis === 1 ? 1 : 0,
        stack: spec.stack ? 'total' : undefined,
        data: s.data,
        connectNulls: false
      };
    });
    if (horizontal && spec.labels.length > 12) {
      base.dataZoom = [{ type: 'inside', yAxisIndex: 0, startValue: 0, endValue: 11 }];
    }
    return base;
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
