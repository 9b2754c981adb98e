// Statistics for a chosen period (`GET /v1/issues/stats`): per month raised and closed
// out, by category and by station, overdue, the median days to close-out and the mean
// satisfaction, drawn with ECharts.

import { $, api, config, el, t } from './common.js';

const content = $('content');

function chart(id, option) {
  const box = el('div', { id, class: 'chart wide' });
  const draw = () => { const c = window.echarts.init(box); c.setOption(option); window.addEventListener('resize', () => c.resize()); };
  requestAnimationFrame(() => (window.echarts ? draw() : window.addEventListener('load', draw, { once: true })));
  return box;
}

async function load(from, to) {
  const q = new URLSearchParams();
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  const s = await api(`/v1/issues/stats?${q}`);
  const f = s.total;
  const tile = (key, value, id) => el('div', {}, el('dt', {}, t(key)), el('dd', { id }, value ?? '–'));
  const series = (name, data) => ({ name, type: 'bar', data });
  const label = (c) => (config.lang === 'zh' ? c.category_zh : c.category_en);
  content.replaceChildren(form(s.from, s.to),
    el('section', { class: 'counts' }, el('dl', { class: 'kpis' },
      tile('counts.visits', f.visits, 'stat-visits'), tile('counts.raised', f.raised, 'stat-raised'),
      tile('counts.closed_out', f.closed_out, 'stat-closed'), tile('stats.overdue', f.overdue, 'stat-overdue'),
      tile('stats.median_days', f.median_days_to_close_out?.toFixed(1), 'stat-median'),
      tile('stats.satisfaction', f.mean_satisfaction?.toFixed(2), 'stat-satisfaction'))),
    el('h2', {}, t('stats.by_month')),
    chart('chart-months', { tooltip: { trigger: 'axis' }, legend: {}, xAxis: { type: 'category', data: s.by_month.map((m) => m.month) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [series(t('counts.raised'), s.by_month.map((m) => m.raised)), series(t('counts.closed_out'), s.by_month.map((m) => m.closed_out))] }),
    el('h2', {}, t('stats.by_category')),
    chart('chart-categories', { tooltip: {}, xAxis: { type: 'category', data: s.by_category.map(label), axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: 'value', minInterval: 1 }, series: [series(t('counts.raised'), s.by_category.map((c) => c.raised))] }),
    el('h2', {}, t('stats.by_station')),
    chart('chart-stations', { tooltip: { trigger: 'axis' }, legend: {}, xAxis: { type: 'category', data: s.by_station.map((x) => x.station_name) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [series(t('counts.raised'), s.by_station.map((x) => x.raised)), series(t('counts.closed_out'), s.by_station.map((x) => x.closed_out)),
        series(t('stats.overdue'), s.by_station.map((x) => x.overdue))] }));
  document.body.dataset.loaded = `${s.from}..${s.to}`;
}

function form(from, to) {
  const f = el('form', { class: 'filters-row', id: 'stats-period' },
    el('label', {}, t('stats.from'), el('input', { type: 'month', name: 'from', value: from })),
    el('label', {}, t('stats.to'), el('input', { type: 'month', name: 'to', value: to })),
    el('button', { type: 'submit' }, t('ledger.filter')));
  f.addEventListener('submit', (e) => { e.preventDefault(); load(f.elements.from.value, f.elements.to.value).catch(failed); });
  return f;
}

const failed = (e) => { content.textContent = `${t('error.load')}: ${e.message}`; };
content.classList.remove('muted');
load(null, null).catch(failed);
