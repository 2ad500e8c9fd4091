// The script that draws an HTML report page (see html.hpp): vanilla JS, no
// libraries, inline SVG charts and tables built with createElement(NS) and
// textContent only, so no string from a report is ever parsed as markup.
#include "html_renderer.hpp"

namespace droplab::harness {

// Kept in a C++ raw string so the page needs no file beside the binary.
const std::string_view kHtmlRendererScript = R"js(
'use strict';
// Draws the document in #droplab-data. Every string from the document enters
// the page through textContent or setAttribute, never as markup.
const SVGNS = document.getElementById('droplab-svg-ns').namespaceURI;
// In the waterfall's order (profile.cpp stage_names()).
const STAGE_COLORS = {
  gen: '#6d4c41', qdisc: '#8e24aa', tx_device: '#3949ab', nic_ring: '#00acc1', rx_device: '#1e88e5',
  backlog: '#00897b', ip: '#7cb342', netfilter: '#f4511e', udp: '#fb8c00',
  socket: '#d81b60', app: '#546e7a', total: '#263238',
};
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const ARM_COLORS = {baseline: '#90a4ae', candidate: '#1e88e5'};
const color = (name, i) => STAGE_COLORS[name] || PALETTE[i % PALETTE.length];
const STAGE_ORDER = Object.keys(STAGE_COLORS).filter((k) => k !== 'total');
// Stage names in waterfall order; names this page does not know follow, sorted.
function inStageOrder(names) {
  const rank = (n) => (STAGE_ORDER.includes(n) ? STAGE_ORDER.indexOf(n) : STAGE_ORDER.length);
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}
// "socket 79,995, backlog 14": the stages of a {stage: dropped} map that dropped.
const dropsByStage = (st) => inStageOrder(Object.keys(st || {}).filter((k) => st[k] > 0)).map((k) => `${k} ${int(st[k])}`).join(', ') || 'none';

// --- DOM -------------------------------------------------------------------
function build(el, attrs, kids) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null && v !== false) el.setAttribute(k, String(v));
  }
  for (const k of kids.flat(Infinity)) {
    if (k === undefined || k === null || k === false) continue;
    el.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}
const h = (tag, attrs, ...kids) => build(document.createElement(tag), attrs, kids);
const s = (tag, attrs, ...kids) => build(document.createElementNS(SVGNS, tag), attrs, kids);

// Columns: {label, num}; a cell is text, a node, or {v, cls}; a row is an
// array of cells or {cells, cls}.
function table(cols, rows) {
  const head = h('tr', null, cols.map((c) => h('th', {class: c.num ? 'num' : null}, c.label)));
  const body = rows.map((r) => {
    const cells = Array.isArray(r) ? r : r.cells;
    return h('tr', {class: Array.isArray(r) ? null : r.cls}, cells.map((c, i) => {
      const cell = c !== null && typeof c === 'object' && !(c instanceof Node) ? c : {v: c};
      const cls = [cols[i] && cols[i].num ? 'num' : '', cell.cls || ''].join(' ').trim();
      return h('td', {class: cls || null, rowspan: cell.rowspan}, cell.v);
    }));
  });
  return h('div', {class: 'scroll'}, h('table', null, h('thead', null, head), h('tbody', null, body)));
}

function section(parent, title, fn) {
  const sec = parent.appendChild(h('section', {class: 'card'}, h('h2', null, title)));
  try {
    fn(sec);
  } catch (e) {
    // Draw the rest of the page, but make the failure visible and testable.
    sec.appendChild(h('p', {class: 'bad'}, 'This section could not be drawn: ' + e));
    window.droplabError('section "' + title + '": ' + ((e && e.stack) || e));
  }
  return sec;
}

// --- numbers ---------------------------------------------------------------
const num = (v) => typeof v === 'number' && Number.isFinite(v);
const NA = 'n/a';
function int(v) {
  if (!num(v)) return NA;
  const digits = String(Math.round(Math.abs(v))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (v < 0 ? '\u2212' : '') + digits;
}
function pct(f) {
  if (!num(f)) return NA;
  const p = f * 100, a = Math.abs(p);
  if (a === 0) return '0%';
  return (a >= 10 ? p.toFixed(1) : a >= 1 ? p.toFixed(2) : p.toPrecision(2)) + '%';
}
function dur(ns) {
  if (!num(ns)) return NA;
  const a = Math.abs(ns);
  if (a >= 1e9) return (ns / 1e9).toPrecision(3) + ' s';
  if (a >= 1e6) return (ns / 1e6).toPrecision(3) + ' ms';
  if (a >= 1e3) return (ns / 1e3).toPrecision(3) + ' \u00b5s';
  return Math.round(ns) + ' ns';
}
const secs = (v) => (num(v) ? v.toFixed(3) + ' s' : NA);
const pval = (p) => (!num(p) ? NA : p === 0 ? '0' : p < 0.001 ? p.toExponential(1) : p.toPrecision(2));
const fixed = (v, d) => (num(v) ? v.toFixed(d) : NA);

// Round axis steps (1, 2, 2.5, 5 × 10^k) covering [lo, hi].
function ticks(lo, hi, count) {
  if (!(hi > lo)) hi = lo + (lo === 0 ? 1 : Math.abs(lo));
  const raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  const first = Math.floor(lo / step + 1e-9), last = Math.ceil(hi / step - 1e-9);
  const out = [];
  for (let i = first; i <= last; i++) out.push(i * step);
  return out;
}

// A plot area with a y axis of round ticks and x positions given by the caller.
function plot(o) {
  const W = o.width || 1100, H = o.height || 300;
  const m = {l: o.left || 80, r: o.right || 24, t: 20, b: o.bottom || 50};
  const lo = Math.min(0, o.yMin || 0);
  // A bound a little below zero (a CI's lower end) stretches the axis a little,
  // not by a whole tick step.
  const slight = lo < 0 && -lo < 0.1 * (o.yMax - lo);
  const yt = ticks(slight ? 0 : lo, o.yMax, o.yTicks || 5);
  const y0 = slight ? lo : yt[0], y1 = yt[yt.length - 1];
  const y = (v) => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  const svg = s('svg', {id: o.id, class: 'chart ' + (o.cls || ''), width: W, height: H,
                        viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': o.title});
  for (const v of yt) {
    svg.append(s('line', {class: 'grid', x1: m.l, x2: W - m.r, y1: y(v), y2: y(v)}),
               s('text', {x: m.l - 8, y: y(v) + 4, 'text-anchor': 'end'}, o.yFmt(v)));
  }
  svg.append(s('line', {class: 'axis', x1: m.l, x2: m.l, y1: m.t, y2: H - m.b}),
             s('line', {class: 'axis', x1: m.l, x2: W - m.r, y1: y(Math.max(0, y0)), y2: y(Math.max(0, y0))}));
  if (o.yTitle) {
    svg.append(s('text', {class: 'axis-title', transform: `translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)`,
                          'text-anchor': 'middle'}, o.yTitle));
  }
  if (o.xTitle) {
    svg.append(s('text', {class: 'axis-title', x: (m.l + W - m.r) / 2, y: H - 8, 'text-anchor': 'middle'}, o.xTitle));
  }
  return {svg, y, m, W, H};
}

function xLabel(p, x, text, rotate) {
  const yy = p.H - p.m.b + 18;
  p.svg.append(s('line', {class: 'axis', x1: x, x2: x, y1: p.H - p.m.b, y2: p.H - p.m.b + 5}));
  p.svg.append(rotate ? s('text', {x, y: yy, 'text-anchor': 'end', transform: `rotate(-30 ${x} ${yy})`}, text)
                      : s('text', {x, y: yy, 'text-anchor': 'middle'}, text));
}

function legend(items) {
  return h('div', {class: 'legend'}, items.map(([name, col, extra]) =>
    h('span', null, h('i', {style: `background:${col}`}), name, extra ? h('small', null, ' ' + extra) : null)));
}

function polyline(p, pts, col, series, dashed) {
  const xy = pts.map(([x, v]) => `${x.toFixed(1)},${p.y(v).toFixed(1)}`).join(' ');
  return s('polyline', {class: 'series-line', 'data-series': series, points: xy, stroke: col,
                        'stroke-dasharray': dashed ? '6 4' : null});
}

// --- run report ------------------------------------------------------------
function renderRun(doc, main) {
  const ctx = doc.context || {}, prof = ctx.profile || {}, acc = doc.accounting || {};
  const stages = Array.isArray(doc.stages) ? doc.stages : [];
  document.title = 'droplab run: ' + (prof.name || 'report');
  main.append(h('h1', null, 'droplab run: ', prof.name || '(unnamed profile)'),
              prof.description ? h('p', {class: 'lead'}, prof.description) : null,
              h('p', {class: 'meta'}, [
                ['kernel ', ctx.kernel], ['', num(ctx.cpus) ? ctx.cpus + ' CPUs' : null],
                ['started ', ctx.started_at], ['', prof.path]].filter(([, v]) => v).map(([k, v]) => k + v).join(' \u00b7 ')));

  const unexplained = num(acc.unexplained) ? acc.unexplained : null;
  const idCard = h('section', {class: 'card identity-card'},
    h('div', {class: 'identity', id: 'identity'},
      'sent ', h('b', null, int(acc.sent)), ' = delivered ', h('b', null, int(acc.delivered)),
      ' + dropped ', h('b', {class: acc.dropped > 0 ? 'drop' : null}, int(acc.dropped)),
      ' + unexplained ', h('b', {class: unexplained ? 'bad' : null}, int(unexplained))),
    h('p', {class: 'meta'}, 'loss ', pct(acc.sent > 0 ? (acc.sent - acc.delivered) / acc.sent : null),
      num(acc.sequence_lost) ? ' \u00b7 the sink saw ' + int(acc.sequence_lost) + ' sequence numbers missing' : ''));
  if (Array.isArray(acc.unavailable_counters) && acc.unavailable_counters.length) {
    idCard.append(h('p', {class: 'bad'}, 'Counters that could not be read (drops behind them are unexplained): ',
                    acc.unavailable_counters.join(', ')));
  }
  if (doc.expect && typeof doc.expect === 'object') {
    const ok = doc.expect.passed === true;
    idCard.append(h('p', {class: ok ? 'good' : 'bad'}, h('b', null, ok ? 'Expectation met' : 'Expectation FAILED')),
                  h('ul', null, (doc.expect.reasons || []).map((r) => h('li', null, r))));
  }
  main.append(idCard);

  section(main, 'Where the packets went', (sec) => {
    if (!stages.length) return sec.append(h('p', null, 'No stages in this report.'));
    sec.append(waterfallChart(stages), legend([['passed on', '#90a4ae'], ['dropped at this stage', '#d32f2f']]));
    advice(sec, stages);
  });
  section(main, 'Drops over time', (sec) => timelineChart(sec, doc.timeline, stages));
  section(main, 'Latency', (sec) => latencyChart(sec, doc.sink && doc.sink.summary));
  section(main, 'Evidence per stage', (sec) => evidenceTables(sec, stages));
  section(main, 'Kernel drop reasons', (sec) => {
    const dr = doc.drop_reasons || {};
    sec.append(h('p', {class: 'meta'}, 'mode ', dr.mode || NA, dr.mode_reason ? ': ' + dr.mode_reason : '',
                 num(dr.lost_events) && dr.lost_events ? ' \u00b7 ' + int(dr.lost_events) + ' events lost' : ''));
    const counts = Array.isArray(dr.counts) ? dr.counts : [];
    if (!counts.length) return sec.append(h('p', null, 'No drop reasons recorded.'));
    sec.append(table([{label: 'Reason'}, {label: 'Id', num: true}, {label: 'Stage'}, {label: 'Location'},
                      {label: 'Count', num: true}, {label: 'Note'}],
      counts.map((c) => [c.reason, c.reason_id, c.stage, {v: c.location, cls: 'mono'}, int(c.count),
                         [c.not_a_drop ? 'not a drop' : '', c.host_wide ? 'host-wide' : ''].filter(Boolean).join(', ')])));
  });
  section(main, 'Settings applied', (sec) => {
    const set = Array.isArray(ctx.settings) ? ctx.settings : [];
    sec.append(set.length ? table([{label: 'Key'}, {label: 'Scope'}, {label: 'Was'}, {label: 'Applied'}],
                                  set.map((x) => [{v: x.key, cls: 'mono'}, x.scope, x.old, x.applied]))
                          : h('p', null, 'None: the run changed no setting.'));
    if (Array.isArray(ctx.restored) && ctx.restored.length) {
      sec.append(h('h3', null, 'Put back after the run'), h('ul', null, ctx.restored.map((r) => h('li', null, r))));
    }
  });
  section(main, 'Run context', (sec) => {
    const lab = ctx.lab || {}, harness = ctx.harness || {};
    const gen = (doc.gen && doc.gen.context) || {}, sink = (doc.sink && doc.sink.context) || {};
    sec.append(table([{label: 'What'}, {label: 'Value'}], [
      [{v: 'lab', cls: 'nowrap'}, [lab.tx_netns, lab.tx_dev, lab.tx_addr].join(' ') + ' \u2192 ' + [lab.rx_netns, lab.rx_dev, lab.rx_addr].join(' ') +
              (num(lab.mtu) ? ' (MTU ' + lab.mtu + ')' : '')],
      [{v: 'generator', cls: 'nowrap'}, [gen.backend, gen.backend_reason].filter(Boolean).join(': ')],
      [{v: 'sink', cls: 'nowrap'}, [sink.backend, sink.backend_reason].filter(Boolean).join(': ')],
      [{v: 'CPU used', cls: 'nowrap'}, doc.cost && typeof doc.cost === 'object'
        ? `${secs(doc.cost.cpu_s)} in all: generator ${secs(doc.cost.gen_cpu_s)}, sink ${secs(doc.cost.sink_cpu_s)}, harness ${secs(doc.cost.harness_cpu_s)}`
        : 'not recorded'],
      [{v: 'harness CPU', cls: 'nowrap'}, secs(harness.cpu_s) + ' over ' + secs(harness.wall_s) + ' (' + fixed(harness.cpu_percent, 1) + '%)'],
    ]));
  });
}

function waterfallChart(stages) {
  const rowH = 34, labelW = 300, valueW = 290, W = 1100;
  const H = stages.length * rowH + 10, barW = W - labelW - valueW;
  const max = Math.max(1, ...stages.map((st) => (num(st.in) ? st.in : 0)));
  const svg = s('svg', {id: 'chart-waterfall', class: 'chart', width: W, height: H, viewBox: `0 0 ${W} ${H}`,
                        role: 'img', 'aria-label': 'packets into each stage and dropped there'});
  stages.forEach((st, i) => {
    const y = 5 + i * rowH, inN = num(st.in) ? st.in : 0, dropped = num(st.dropped) ? st.dropped : 0;
    const wIn = (inN / max) * barW, wDrop = (Math.min(dropped, inN) / max) * barW;
    const atLeast = st.dropped_complete === false ? '\u2265 ' : '';
    svg.append(s('text', {x: 0, y: y + 20, class: 'stage-name'}, st.name || '?'),
               s('text', {x: 92, y: y + 20, class: 'muted'}, st.label || ''),
               s('rect', {class: 'bar-in', 'data-stage': st.name, x: labelW, y: y + 5, width: Math.max(1, wIn - wDrop),
                          height: rowH - 12, fill: '#90a4ae'}, s('title', null, `${st.name}: ${int(inN)} in`)));
    if (dropped > 0) {
      svg.append(s('rect', {class: 'bar-dropped', 'data-stage': st.name, x: labelW + wIn - wDrop, y: y + 5,
                            width: Math.max(2, wDrop), height: rowH - 12, fill: '#d32f2f'},
                   s('title', null, `${st.name}: ${atLeast}${int(dropped)} dropped`)));
    }
    svg.append(s('text', {x: labelW + barW + 10, y: y + 20},
                 s('tspan', null, int(inN) + ' in'),
                 dropped > 0 || atLeast ? s('tspan', {class: 'drop'}, `  ${atLeast}${int(dropped)} dropped (${pct(dropped / (inN || 1))})`)
                                        : s('tspan', {class: 'muted'}, '  0 dropped')));
  });
  return svg;
}

// The counters that matter, as in the terminal waterfall: drop counters
// that moved or could not be read (all of them where the stage dropped), and
// other counters that moved. `all` lists every counter.
function evidenceRows(stages, all) {
  const rows = [];
  for (const st of stages) {
    const ev = (Array.isArray(st.evidence) ? st.evidence : []).filter((e) => all ||
      (e.is_drop ? e.delta !== 0 || st.dropped > 0 : num(e.delta) && e.delta !== 0));
    if (!ev.length) {
      rows.push([h('b', null, st.name), {v: all ? '(no counters)' : 'nothing moved', cls: 'muted'}, '', '', '']);
      continue;
    }
    ev.forEach((e, j) => {
      const cells = j === 0 ? [{v: h('b', null, st.name), rowspan: ev.length}] : [];
      const value = e.delta === null || e.delta === undefined
        ? {v: 'unavailable: ' + (e.unavailable_reason || 'no reason given'), cls: 'bad wrap'} : int(e.delta);
      rows.push({cls: e.is_drop && e.delta !== 0 ? 'drop-row' : null,
                 cells: cells.concat([{v: e.counter, cls: 'mono'}, value, e.source, e.note || (e.is_drop ? 'counts drops' : '')])});
    });
  }
  return rows;
}

function evidenceTables(sec, stages) {
  const cols = [{label: 'Stage'}, {label: 'Counter'}, {label: 'Delta', num: true}, {label: 'Source'}, {label: 'Note'}];
  sec.append(table(cols, evidenceRows(stages, false)));
  const n = stages.reduce((a, st) => a + (Array.isArray(st.evidence) ? st.evidence.length : 0), 0);
  sec.append(h('details', null, h('summary', null, `All ${n} counters behind the waterfall`), table(cols, evidenceRows(stages, true))));

  const checks = [];
  for (const st of stages) {
    for (const c of st.checks || []) {
      const off = !num(c.difference) || c.difference !== 0;
      checks.push({cls: off ? 'drop-row' : null, cells: [st.name, c.what, {v: c.counter, cls: 'mono'}, int(c.expected),
                   num(c.observed) ? int(c.observed) : 'unavailable', int(c.difference)]});
    }
  }
  if (checks.length) {
    sec.append(h('h3', null, 'Cross-checks'),
               table([{label: 'Stage'}, {label: 'Check'}, {label: 'Counter'}, {label: 'Expected', num: true},
                      {label: 'Observed', num: true}, {label: 'Difference', num: true}], checks));
  }
}

function advice(sec, stages) {
  const advised = stages.filter((st) => st.hint || (st.knobs || []).length || (st.notes || []).length);
  if (advised.length) sec.append(h('h3', null, 'Hints and knobs'));
  for (const st of advised) {
    sec.append(h('div', {class: 'stage-advice'}, h('h4', null, st.name, ' \u2014 ', st.label || ''),
      st.hint ? h('p', {class: 'hint'}, st.hint) : null,
      (st.knobs || []).length ? h('ul', {class: 'knobs'}, st.knobs.map((k) => h('li', {class: 'mono'}, k))) : null,
      (st.notes || []).length ? h('ul', {class: 'notes'}, st.notes.map((n) => h('li', null, n))) : null));
  }
}

function timelineChart(sec, tl, stages) {
  const points = tl && Array.isArray(tl.points) ? tl.points.filter((p) => p && num(p.t_s)) : [];
  if (!points.length) return sec.append(h('p', null, 'No timeline recorded (the run took no samples in between).'));
  const order = stages.map((st) => st.name);
  for (const p of points) for (const k of Object.keys(p.dropped || {})) if (!order.includes(k)) order.push(k);
  const series = order.map((name, i) => {
    const pts = points.map((p) => [p.t_s, num((p.dropped || {})[name]) ? p.dropped[name] : 0]);
    return {name, col: color(name, i), pts, total: pts.reduce((a, [, v]) => a + v, 0), peak: Math.max(...pts.map(([, v]) => v))};
  }).filter((x) => x.total > 0);
  const interval = num(tl.interval_s) ? tl.interval_s : null;
  sec.append(h('p', {class: 'meta'}, int(points.length) + ' intervals',
               interval ? ' of ' + interval + ' s' : '', ' over ' + points[points.length - 1].t_s.toFixed(1) + ' s'));
  if (!series.length) return sec.append(h('p', null, 'No stage dropped anything during the run.'));
  const tMax = points[points.length - 1].t_s;
  const p = plot({id: 'chart-timeline', height: 300, yMax: Math.max(...series.map((x) => x.peak)), yFmt: int,
                  yTitle: interval ? `drops per ${interval} s` : 'drops per interval', xTitle: 'seconds since the first sample',
                  title: 'drops per interval over time, per stage'});
  const xt = ticks(0, tMax, 10);
  const x = (t) => p.m.l + (t / (xt[xt.length - 1] || 1)) * (p.W - p.m.l - p.m.r);
  for (const t of xt) xLabel(p, x(t), Number(t.toFixed(3)) + ' s');
  for (const sr of series) {
    const xy = sr.pts.map(([t, v]) => [x(t), v]);
    const area = [[xy[0][0], 0], ...xy, [xy[xy.length - 1][0], 0]];
    p.svg.append(s('polygon', {class: 'series-area', points: area.map(([a, v]) => `${a.toFixed(1)},${p.y(v).toFixed(1)}`).join(' '),
                               fill: sr.col}));
    p.svg.append(polyline(p, xy, sr.col, sr.name));
    if (xy.length === 1) p.svg.append(s('circle', {cx: xy[0][0], cy: p.y(xy[0][1]), r: 4, fill: sr.col}));
  }
  sec.append(p.svg, legend(series.map((sr) => [sr.name, sr.col, `${int(sr.total)} in all, peak ${int(sr.peak)} in one interval`])));
}

const PERCENTILES = [['p50', 'p50'], ['p90', 'p90'], ['p99', 'p99'], ['p99_9', 'p99.9'], ['max', 'max']];
function latencyChart(sec, summary) {
  const hists = [['latency_ns', 'send \u2192 read (latency)', '#1e88e5'],
                 ['queue_ns', 'kernel receive \u2192 read (time queued)', '#ef6c00']]
    .map(([key, label, col]) => ({key, label, col, d: summary && summary[key]}))
    .filter((x) => x.d && num(x.d.count) && x.d.count > 0);
  if (!hists.length) return sec.append(h('p', {id: 'no-latency'}, 'No latency recorded.'));
  const vals = hists.flatMap((x) => PERCENTILES.map(([k]) => x.d[k]).filter(num));
  const p = plot({id: 'chart-latency', height: 300, yMax: Math.max(1, ...vals), yFmt: dur, left: 90,
                  yTitle: 'time', xTitle: 'percentile', title: 'latency percentiles'});
  const band = (p.W - p.m.l - p.m.r) / PERCENTILES.length;
  const x = (i) => p.m.l + band * (i + 0.5);
  PERCENTILES.forEach(([, label], i) => xLabel(p, x(i), label));
  // The two are often close: the second is dashed with hollow points so the first shows through.
  hists.forEach((hs, j) => {
    const pts = PERCENTILES.map(([k], i) => [x(i), hs.d[k]]).filter(([, v]) => num(v));
    p.svg.append(polyline(p, pts, hs.col, hs.key, j > 0));
    for (const [px, v] of pts) {
      p.svg.append(s('circle', {class: 'point', cx: px, cy: p.y(v), r: j > 0 ? 5 : 4, fill: j > 0 ? 'none' : hs.col,
                                stroke: j > 0 ? hs.col : null, 'stroke-width': 2}),
                   s('text', {x: px + 6, y: p.y(v) + (j === 0 ? -8 : 16), style: 'fill:' + hs.col}, dur(v)));
    }
  });
  sec.append(p.svg, legend(hists.map((x) => [x.label, x.col])));
  sec.append(table([{label: 'What'}, {label: 'Count', num: true}, {label: 'Mean', num: true}]
                     .concat(PERCENTILES.map(([, l]) => ({label: l, num: true}))),
                   hists.map((x) => [x.label, int(x.d.count), dur(x.d.mean)].concat(PERCENTILES.map(([k]) => dur(x.d[k]))))));
}

// --- compare ---------------------------------------------------------------
const metricFmt = (name) => (name === 'cpu_s' ? secs : /_ns$/.test(name) ? dur : pct);
const verdictCls = (v) => (v === 'improved' ? 'good' : v === 'regressed' ? 'bad' : 'muted');
const ci = (o, f) => (o && num(o.ci95_low) && num(o.ci95_high) ? `${f(o.ci95_low)} \u2026 ${f(o.ci95_high)}` : NA);

function renderCompare(doc, main) {
  const prof = doc.profile || {}, v = doc.verdict || {};
  const metrics = Array.isArray(doc.metrics) ? doc.metrics : [], cost = Array.isArray(doc.cost) ? doc.cost : [];
  const arms = Array.isArray(doc.arms) ? doc.arms : [];
  document.title = 'droplab compare: ' + (prof.name || '');
  const total = metrics.find((m) => m.name === (v.metric || 'total'));
  const p = num(v.p) ? v.p : null;
  main.append(h('h1', null, 'droplab compare: ', prof.name || '(unnamed profile)'));
  main.append(h('section', {class: 'card verdict-card'},
    h('div', {class: 'verdict result ' + verdictCls(v.result), id: 'verdict'}, v.result || 'no verdict'),
    h('p', {class: 'verdict-line'}, 'candidate vs baseline on ', h('b', null, v.metric || 'total'),
      total ? ` loss: ${metricFmt(total.name)(total.baseline && total.baseline.mean)} \u2192 ${metricFmt(total.name)(total.candidate && total.candidate.mean)}` : ''),
    h('p', {class: 'meta'}, (v.test || 'no test') + ', p = ' + pval(p) +
      (p === null ? ' (not measurable: each arm needs at least 2 runs)' : p < v.alpha ? ' < ' : ' \u2265 ') +
      (p === null ? '' : '\u03b1 = ' + v.alpha)),
    Array.isArray(doc.notes) && doc.notes.length
      ? [h('h3', null, 'Notes'), h('ul', {class: 'notes', id: 'notes'}, doc.notes.map((n) => h('li', null, n)))] : null));
  main.append(prof.description ? h('p', {class: 'lead'}, prof.description) : null,
              h('p', {class: 'meta'}, int(doc.repeat), ' runs per arm, \u03b1 = ', String(doc.alpha), prof.path ? ' \u00b7 ' + prof.path : ''));
  main.append(h('ul', {class: 'arms'}, arms.map((a) => h('li', null, h('i', {style: `background:${ARM_COLORS[a.name] || '#777'}`}),
    h('b', null, a.name), ': ', (a.settings || []).length ? a.settings.join(', ') : 'the profile as it is'))));

  section(main, 'Loss fraction per stage (mean, 95% CI)', (sec) => {
    sec.append(h('div', {class: 'panels'}, metrics.map((m) => metricPanel(m, 'chart-metric'))));
    sec.append(statsTable(metrics));
  });
  section(main, 'Cost', (sec) => {
    if (!cost.length) return sec.append(h('p', null, 'No cost measured.'));
    sec.append(h('div', {class: 'panels'}, cost.map((m) => metricPanel(m, 'chart-cost'))), statsTable(cost));
  });
  section(main, 'Runs', (sec) => {
    const rows = [];
    for (const a of arms) {
      for (const r of a.runs || []) {
        rows.push({cls: r.exit_code ? 'warn-row' : null, cells: [a.name, r.index, r.order, r.exit_code, int(r.sent), int(r.delivered),
                   int(r.dropped), int(r.unexplained), pct(r.loss_fraction), dropsByStage(r.stages), secs(r.cpu_s), dur(r.latency_p99_ns)]});
      }
    }
    sec.append(h('p', {class: 'meta'}, 'Runs alternate between the arms (order). Exit 3: the profile\'s expectation did not hold in that run.'));
    sec.append(table([{label: 'Arm'}, {label: 'Run', num: true}, {label: 'Order', num: true}, {label: 'Exit', num: true},
                      {label: 'Sent', num: true}, {label: 'Delivered', num: true}, {label: 'Dropped', num: true},
                      {label: 'Unexplained', num: true}, {label: 'Loss', num: true}, {label: 'Drops by stage'},
                      {label: 'CPU', num: true}, {label: 'Latency p99', num: true}], rows));
  });
}

// Baseline and candidate means with 95% CI error bars, on the metric's own scale.
function metricPanel(m, cls) {
  const f = metricFmt(m.name), arms = ['baseline', 'candidate'];
  const vals = arms.flatMap((a) => [m[a] && m[a].mean, m[a] && m[a].ci95_low, m[a] && m[a].ci95_high]).filter(num);
  const p = plot({cls, width: 260, height: 230, left: 70, right: 10, bottom: 30, yMax: Math.max(...vals, 0) || 1,
                  yMin: Math.min(...vals, 0), yFmt: f, yTicks: 4, title: m.name});
  p.svg.setAttribute('data-metric', m.name);
  const band = (p.W - p.m.l - p.m.r) / 2;
  arms.forEach((a, i) => {
    const st = m[a] || {}, cx = p.m.l + band * (i + 0.5);
    xLabel(p, cx, a);
    if (!num(st.mean)) return;
    const top = p.y(Math.max(st.mean, 0)), base = p.y(Math.min(st.mean, 0));
    p.svg.append(s('rect', {class: 'bar-mean', 'data-arm': a, x: cx - band * 0.3, y: top, width: band * 0.6,
                            height: Math.max(1, base - top), fill: ARM_COLORS[a]}, s('title', null, `${a}: ${f(st.mean)}`)));
    if (num(st.ci95_low) && num(st.ci95_high)) {
      const lo = p.y(st.ci95_low), hi = p.y(st.ci95_high);
      p.svg.append(s('path', {class: 'ci-bar', d: `M${cx},${lo}V${hi}M${cx - 8},${lo}H${cx + 8}M${cx - 8},${hi}H${cx + 8}`}));
    }
    p.svg.append(s('text', {x: cx, y: Math.min(top, num(st.ci95_high) ? p.y(st.ci95_high) : top) - 6,
                            'text-anchor': 'middle', class: 'value'}, f(st.mean)));
  });
  return h('figure', {class: 'panel'}, p.svg,
           h('figcaption', null, h('b', null, m.name), ' \u00b7 ', h('span', {class: verdictCls(m.verdict)}, m.verdict || NA),
             ', p = ', pval(m.test && m.test.p)));
}

// Mean ± standard deviation (n), with the 95% CI under it.
function statCell(x, f) {
  const sd = num(x.stddev) ? ' \u00b1 ' + f(x.stddev) : '';
  return h('div', null, h('div', null, f(x.mean) + sd, num(x.n) ? h('small', {class: 'muted'}, ` (n=${x.n})`) : null),
           h('div', {class: 'sub'}, 'CI ' + ci(x, f)));
}

function statsTable(metrics) {
  return table([{label: 'Metric'}, {label: 'Baseline', num: true}, {label: 'Candidate', num: true},
                {label: 'Difference (candidate \u2212 baseline)', num: true},
                {label: 't', num: true}, {label: 'df', num: true}, {label: 'p', num: true}, {label: 'Verdict'}],
    metrics.map((m) => {
      const f = metricFmt(m.name), d = m.difference || {}, t = m.test || {};
      return [{v: h('div', null, h('b', null, m.name), h('div', {class: 'sub'}, m.what || ''))},
              statCell(m.baseline || {}, f), statCell(m.candidate || {}, f),
              h('div', null, h('div', null, f(d.mean)), h('div', {class: 'sub'}, 'CI ' + ci(d, f))),
              fixed(t.t, 2), fixed(t.df, 1), pval(t.p), {v: m.verdict || NA, cls: verdictCls(m.verdict)}];
    }));
}

// --- sweep -----------------------------------------------------------------
// `droplab sweep` writes points (--vary) or throughput trials (--throughput).
function renderSweep(doc, main) {
  const prof = doc.profile || {}, vary = Array.isArray(doc.vary) ? doc.vary : [];
  const points = Array.isArray(doc.points) ? doc.points : [];
  const tp = doc.throughput && typeof doc.throughput === 'object' ? doc.throughput : null;
  document.title = 'droplab sweep: ' + (prof.name || '');
  main.append(h('h1', null, 'droplab sweep: ', prof.name || '(unnamed profile)'),
              prof.description ? h('p', {class: 'lead'}, prof.description) : null);
  if (tp) {
    section(main, 'Highest rate without loss', (sec) => throughputChart(sec, tp));
    if (!points.length) return;
  }
  const keys = vary.map((v) => v.key);
  const label = (pt) => (keys.length === 1 ? String((pt.values || {})[keys[0]])
                                           : keys.map((k) => `${k}=${(pt.values || {})[k]}`).join(', '));
  main.append(h('ul', {class: 'arms'}, vary.map((v) => h('li', null, h('b', {class: 'mono'}, v.key), ': ', (v.values || []).join(', ')))));
  const knee = doc.knee && typeof doc.knee === 'object' ? doc.knee : null;
  main.append(h('section', {class: 'card verdict-card'}, knee
    ? [h('div', {class: 'verdict', id: 'knee'}, 'knee at ', label(knee)), h('p', null, knee.why || 'loss ' + pct(knee.loss_fraction))]
    : h('div', {class: 'verdict muted', id: 'knee'}, keys.length === 1 ? 'no knee: every point lost packets, or none did'
                                                                         : 'no knee (looked for only when one key is varied)')));

  section(main, 'Loss fraction per stage across the sweep', (sec) => {
    if (!points.length) return sec.append(h('p', null, 'No points.'));
    const dropping = new Set();
    for (const pt of points) for (const [k, n] of Object.entries(pt.stages || {})) if (n > 0) dropping.add(k);
    const frac = (pt, n) => (pt.sent > 0 && num(n) ? n / pt.sent : null);
    const series = [{name: 'total', col: '#b0bec5', halo: true, f: (pt) => (num(pt.loss_fraction) ? pt.loss_fraction : null)}]
      .concat(inStageOrder(dropping).map((k, i) => ({name: k, col: color(k, i), f: (pt) => frac(pt, (pt.stages || {})[k])})));
    const all = points.flatMap((pt) => series.map((sr) => sr.f(pt))).filter(num);
    const labels = points.map(label), rotate = labels.some((l) => l.length * 7.5 > 1000 / points.length);
    const p = plot({id: 'chart-sweep', height: rotate ? 360 : 320, bottom: rotate ? 110 : 50, yMax: Math.max(...all, 0) || 0.01,
                    yFmt: pct, yTitle: 'loss fraction (lost / sent)', xTitle: keys.join(', '), title: 'loss per stage across the sweep'});
    const band = (p.W - p.m.l - p.m.r) / points.length, x = (i) => p.m.l + band * (i + 0.5);
    labels.forEach((l, i) => xLabel(p, x(i), l, rotate));
    const ki = knee ? points.findIndex((pt) => pt.index === knee.index) : -1;
    if (ki >= 0) {
      p.svg.append(s('line', {class: 'knee', x1: x(ki), x2: x(ki), y1: p.m.t, y2: p.H - p.m.b}),
                   s('text', {x: x(ki) + 6, y: p.m.t + 12, class: 'knee-label'}, 'knee'));
    }
    for (const sr of series) {
      const pts = points.map((pt, i) => [x(i), sr.f(pt)]).filter(([, v]) => num(v));
      const line = p.svg.appendChild(polyline(p, pts, sr.col, sr.name));
      if (sr.halo) line.style.strokeWidth = '8'; // a style: the stylesheet's width beats an attribute
      else for (const [px, v] of pts) p.svg.append(s('circle', {class: 'point', cx: px, cy: p.y(v), r: 3.5, fill: sr.col}));
    }
    sec.append(p.svg, legend(series.map((sr) => [sr.name, sr.col, sr.halo ? '(everything lost, drawn under the stages)' : ''])));
    sec.append(table([{label: 'Point', num: true}].concat(keys.map((k) => ({label: k}))).concat([
                      {label: 'Exit', num: true}, {label: 'Sent', num: true}, {label: 'Delivered', num: true},
                      {label: 'Dropped', num: true}, {label: 'Unexplained', num: true}, {label: 'Loss', num: true},
                      {label: 'Drops by stage'}]),
      points.map((pt, i) => ({cls: i === ki ? 'knee-row' : null, cells: [pt.index].concat(keys.map((k) => (pt.values || {})[k])).concat([
        pt.exit_code, int(pt.sent), int(pt.delivered), int(pt.dropped), int(pt.unexplained), pct(pt.loss_fraction),
        dropsByStage(pt.stages)])}))));
  });
}

function throughputChart(sec, tp) {
  const trials = Array.isArray(tp.trials) ? tp.trials : [];
  const max = num(tp.max_zero_loss_pps) ? tp.max_zero_loss_pps : null;
  sec.append(h('div', {class: 'verdict', id: 'max-rate'}, max === null ? 'No trial rate passed.' : int(max) + ' pps'),
    h('p', {class: 'verdict-line'}, max === null ? 'not even the lowest rate tried lost nothing'
      : tp.at_upper_bound ? 'the highest rate tried lost nothing: the limit may be higher (raise --max)'
      : 'the highest rate that lost no more than the tolerance'),
    h('p', {class: 'meta'}, `binary search on ${tp.key || 'gen.rate'}`,
      num(tp.min_pps) && num(tp.max_pps) ? ` from ${int(tp.min_pps)} to ${int(tp.max_pps)} pps` : '',
      `, resolution ${int(tp.resolution_pps)} pps, loss tolerance ${pct(tp.loss_tolerance)}; trials numbered in the order they ran`));
  if (!trials.length) return;
  const rates = trials.map((t) => t.rate_pps).filter(num), losses = trials.map((t) => t.loss_fraction).filter(num);
  const p = plot({id: 'chart-throughput', height: 300, yMax: Math.max(...losses, num(tp.loss_tolerance) ? tp.loss_tolerance : 0) || 0.01,
                  yFmt: pct, yTitle: 'loss fraction', xTitle: 'offered rate (packets/s)', title: 'trials: rate vs loss'});
  const rmin = Math.min(...rates), rmax = Math.max(...rates), pad = Math.max((rmax - rmin) * 0.05, 1);
  const xt = ticks(Math.max(0, rmin - pad), rmax + pad, 10), x0 = xt[0], x1 = xt[xt.length - 1];
  const x = (r) => p.m.l + ((r - x0) / (x1 - x0)) * (p.W - p.m.l - p.m.r);
  for (const t of xt) xLabel(p, x(t), int(t));
  if (num(tp.loss_tolerance) && tp.loss_tolerance > 0) {
    p.svg.append(s('line', {class: 'knee', x1: p.m.l, x2: p.W - p.m.r, y1: p.y(tp.loss_tolerance), y2: p.y(tp.loss_tolerance)}));
  }
  if (max !== null) {
    p.svg.append(s('line', {class: 'max-rate', x1: x(max), x2: x(max), y1: p.m.t, y2: p.H - p.m.b}),
                 s('text', {x: x(max) - 6, y: p.m.t + 12, 'text-anchor': 'end', class: 'max-label'}, 'max zero-loss ' + int(max) + ' pps'));
  }
  // The search closes in on the limit, so late trials sit close together:
  // a label that would touch an earlier one goes a line higher.
  const placed = [];
  trials.forEach((t, i) => {
    if (!num(t.rate_pps) || !num(t.loss_fraction)) return;
    const col = t.passed ? '#2e7d32' : '#d32f2f', cx = x(t.rate_pps), cy = p.y(t.loss_fraction);
    let level = 0;
    while (placed.some((q) => q.level === level && Math.abs(q.x - cx) < 16 && Math.abs(q.y - cy) < 14)) level++;
    placed.push({x: cx, y: cy, level});
    p.svg.append(s('circle', {class: 'trial', cx, cy, r: 5, fill: col},
                   s('title', null, `trial ${i + 1}: ${int(t.rate_pps)} pps, loss ${pct(t.loss_fraction)}`)),
                 s('text', {x: cx, y: cy - 9 - 13 * level, 'text-anchor': 'middle', class: 'muted'}, String(i + 1)));
  });
  sec.append(p.svg, legend([['passed', '#2e7d32'], ['lost more than the tolerance', '#d32f2f']]));
  sec.append(table([{label: 'Trial', num: true}, {label: 'Rate (pps)', num: true}, {label: 'Sent', num: true},
                    {label: 'Delivered', num: true}, {label: 'Dropped', num: true}, {label: 'Loss', num: true},
                    {label: 'Drops by stage'}, {label: 'Passed'}],
    trials.map((t, i) => ({cls: t.passed ? null : 'drop-row',
                           cells: [i + 1, int(t.rate_pps), int(t.sent), int(t.delivered), int(t.dropped), pct(t.loss_fraction),
                                   dropsByStage(t.stages), t.passed ? 'yes' : 'no']}))));
}

// --- main ------------------------------------------------------------------
{
  const doc = JSON.parse(document.getElementById('droplab-data').textContent);
  const main = document.getElementById('droplab-main');
  main.textContent = '';
  const kind = doc && doc.kind;
  (kind === 'compare' ? renderCompare : kind === 'sweep' ? renderSweep : renderRun)(doc || {}, main);
  main.append(h('footer', {class: 'meta'}, 'droplab', doc && doc.schema_version ? ' \u00b7 schema ' + doc.schema_version : '',
                ' \u00b7 the data behind this page is in the droplab-data element of this file'));
  if (document.body.dataset.rendered !== 'error') document.body.dataset.rendered = 'ok';
}
)js";

} // namespace droplab::harness
