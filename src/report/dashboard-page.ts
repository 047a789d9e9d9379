/**
 * The dashboard's page and its script (served at /dashboard.js; no inline script, so the page can run under
 * a Content-Security-Policy of script-src 'self'). The script polls the JSON API and draws training curves
 * with vega-embed; it writes data into the page only through textContent and Vega, never as HTML.
 */
import { escapeHtml } from './html.ts';

export function dashboardHtml(workspaceName: string, pollMs: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>lmlab · ${escapeHtml(workspaceName)}</title>
<style>
body{font:14px/1.45 Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:baseline}
header h1{font-size:18px;margin:0}header .ws{font-family:ui-monospace,Menlo,monospace;font-size:12px;color:#cfd8dc}
#status{margin-left:auto;font-size:12px;color:#cfd8dc}
main{padding:12px 24px 40px;display:grid;grid-template-columns:minmax(0,1fr);gap:18px}
section{background:#fff;border:1px solid #e0e0e0;border-radius:4px;padding:10px 14px}
h2{font-size:16px;margin:2px 0 8px}
table{border-collapse:collapse;font-size:12px;width:100%}th,td{border-bottom:1px solid #eee;padding:3px 6px;text-align:right}
th{background:#f5f5f5;position:sticky;top:0}td.t,th.t{text-align:left;font-family:ui-monospace,Menlo,monospace}
.tablewrap{max-height:340px;overflow:auto}
.st-running{color:#1565c0;font-weight:bold}.st-failed{color:#c62828}.st-completed{color:#2e7d32}
#chart{min-height:200px}.filter{font-size:12px;font-weight:normal;margin-left:16px}#sweep-report{font-size:12px;font-weight:normal}td.live{font-style:italic;color:#1565c0}.empty{color:#999;font-style:italic}ul{margin:4px 0;padding-left:20px}
</style></head>
<body data-poll-ms="${Math.max(200, Math.round(pollMs))}">
<header><h1>lmlab dashboard</h1><span class="ws">${escapeHtml(workspaceName)}</span><span id="status">loading…</span></header>
<main>
<section id="runs-section"><h2>Runs <label class="filter">sweep <select id="sweep"><option value="">all</option></select></label> <a id="sweep-report" href="/report" hidden>report of this sweep</a></h2><div class="tablewrap"><table id="runs"><thead><tr>
<th class="t">plot</th><th class="t">run</th><th class="t">sweep</th><th class="t">status</th><th>N (non-emb.)</th><th>tokens</th><th>steps</th><th>loss</th><th>val loss</th><th class="t">updated</th>
</tr></thead><tbody id="runs-body"></tbody></table></div><p id="runs-empty" class="empty" hidden>No runs in this workspace's store yet.</p></section>
<section id="curves-section"><h2>Training curves <small id="curves-note"></small></h2><div id="chart"></div></section>
<section id="reports-section"><h2>Reports</h2><ul id="reports"><li><a href="/report">Live report from the store</a> (rendered on request)</li></ul></section>
</main>
<script src="/vendor/vega.min.js"></script><script src="/vendor/vega-lite.min.js"></script><script src="/vendor/vega-embed.min.js"></script>
<script src="/dashboard.js"></script>
</body></html>
`;
}

export const DASHBOARD_JS = String.raw`(() => {
  'use strict';
  const POLL = Number(document.body.dataset.pollMs) || 2000;
  const state = { runs: [], selected: new Set(), touched: false, curves: new Map(), view: null, polls: 0, drawing: false };
  const $ = (id) => document.getElementById(id);
  async function getJSON(url) {
    const r = await fetch(url, { cache: 'no-store' });
    if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
    return r.json();
  }
  function fmt(v, digits) {
    if (v === null || v === undefined) return '';
    if (digits !== undefined) return Number(v).toFixed(digits);
    const a = Math.abs(v);
    return a >= 1e5 ? Number(v).toExponential(2) : String(v);
  }
  function td(text, cls) {
    const c = document.createElement('td');
    c.textContent = text;
    if (cls) c.className = cls;
    return c;
  }
  function renderSweeps() {
    const sel = $('sweep');
    const have = new Set([...sel.options].map((o) => o.value));
    for (const id of new Set(state.runs.map((r) => r.sweep).filter(Boolean))) {
      if (have.has(id)) continue;
      const o = document.createElement('option');
      o.value = id;
      o.textContent = id;
      sel.appendChild(o);
    }
    const link = $('sweep-report');
    link.hidden = !sel.value;
    link.href = '/report?sweep=' + encodeURIComponent(sel.value);
  }
  function renderRuns() {
    const body = $('runs-body');
    body.replaceChildren();
    $('runs-empty').hidden = state.runs.length > 0;
    renderSweeps();
    const sweep = $('sweep').value;
    for (const r of state.runs) {
      if (sweep && r.sweep !== sweep) continue;
      const tr = document.createElement('tr');
      tr.dataset.run = r.id;
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = state.selected.has(r.id);
      box.addEventListener('change', () => {
        state.touched = true;
        if (box.checked) state.selected.add(r.id); else state.selected.delete(r.id);
        refresh();
      });
      const c0 = document.createElement('td');
      c0.className = 't';
      c0.appendChild(box);
      tr.appendChild(c0);
      tr.appendChild(td(r.id, 't'));
      tr.appendChild(td(r.sweep || '', 't'));
      tr.appendChild(td(r.status, 't st-' + r.status));
      tr.appendChild(td(fmt(r.non_embedding)));
      tr.appendChild(td(fmt(r.tokens)));
      // a running run's row in the store is filled in when it ends: show its last logged step meanwhile
      const c = state.curves.get(r.id);
      const last = r.status === 'running' && c && c.points.length ? c.points[c.points.length - 1] : null;
      tr.appendChild(td(fmt(last ? last.step : r.steps), last ? 'live' : ''));
      tr.appendChild(td(fmt(last ? last.loss : r.final_loss, 4), last ? 'live' : ''));
      tr.appendChild(td(fmt(r.final_val_loss, 4)));
      tr.appendChild(td((r.updated_at || '').replace('T', ' ').slice(0, 19), 't'));
      body.appendChild(tr);
    }
  }
  function defaultSelection() {
    if (state.touched) {
      for (const id of [...state.selected]) if (!state.runs.some((r) => r.id === id)) state.selected.delete(id);
      return;
    }
    const byTime = [...state.runs].sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
    state.selected = new Set([...byTime.filter((r) => r.status === 'running'), ...byTime.slice(0, 8)].map((r) => r.id));
  }
  async function refreshCurves() {
    for (const id of state.selected) {
      const run = state.runs.find((r) => r.id === id);
      if (!run) continue;
      const have = state.curves.get(id);
      if (have && run.status !== 'running' && have.status === run.status && have.updated === run.updated_at) continue;
      const incremental = have && run.status === 'running' && have.status === 'running' && have.source === 'metrics.jsonl';
      const url = '/api/runs/' + encodeURIComponent(id) + '/metrics' + (incremental ? '?since=' + have.last : '');
      const res = await getJSON(url);
      const points = incremental ? have.points.concat(res.points) : res.points;
      state.curves.set(id, { points, last: points.length ? points[points.length - 1].step : -1, status: run.status, updated: run.updated_at, source: res.source });
    }
  }
  function chartRows() {
    const rows = [];
    for (const id of state.selected) {
      const c = state.curves.get(id);
      if (!c) continue;
      for (const p of c.points) {
        if (typeof p.loss === 'number' && p.loss > 0) rows.push({ run: id, step: p.step, loss: p.loss, kind: 'train' });
        if (typeof p.val_loss === 'number' && p.val_loss > 0) rows.push({ run: id, step: p.step, loss: p.val_loss, kind: 'validation' });
      }
    }
    return rows;
  }
  function spec(rows) {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 'container', height: 320, autosize: { type: 'fit-x', contains: 'padding' },
      data: { name: 'curves', values: rows },
      mark: { type: 'line', strokeWidth: 1.4 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'loss', type: 'quantitative', title: 'loss (log scale)', scale: { type: 'log', nice: false, padding: 10 } },
        color: { field: 'run', type: 'nominal', title: 'run' },
        strokeDash: { field: 'kind', type: 'nominal', title: 'curve', scale: { domain: ['train', 'validation'], range: [[1, 0], [5, 3]] } },
        detail: { field: 'kind' },
        tooltip: [{ field: 'run' }, { field: 'kind' }, { field: 'step' }, { field: 'loss', format: '.4f' }],
      },
    };
  }
  async function drawChart() {
    const rows = chartRows();
    const chart = $('chart');
    if (!state.view) {
      const res = await vegaEmbed(chart, spec(rows), { renderer: 'svg', actions: false });
      state.view = res.view;
    } else {
      await state.view.data('curves', rows).runAsync();
    }
    chart.dataset.points = String(rows.length);
    chart.dataset.runs = String(new Set(rows.map((r) => r.run)).size);
    $('curves-note').textContent = rows.length ? '(' + chart.dataset.runs + ' runs, ' + rows.length + ' points; tick runs in the table to add them)' : '(no metrics yet for the selected runs)';
  }
  async function refreshReports() {
    const d = await getJSON('/api/reports');
    const ul = $('reports');
    ul.querySelectorAll('li.file').forEach((li) => li.remove());
    for (const r of d.reports) {
      const li = document.createElement('li');
      li.className = 'file';
      const a = document.createElement('a');
      a.href = r.url;
      a.textContent = r.path;
      li.appendChild(a);
      li.appendChild(document.createTextNode(' (' + r.modified.replace('T', ' ').slice(0, 19) + ')'));
      ul.appendChild(li);
    }
  }
  async function refresh() {
    if (state.drawing) return;
    state.drawing = true;
    try {
      const d = await getJSON('/api/runs');
      state.runs = d.runs;
      defaultSelection();
      await refreshCurves();
      renderRuns();
      await drawChart();
      if (state.polls++ % 10 === 0) await refreshReports();
      const running = state.runs.filter((r) => r.status === 'running').length;
      $('status').textContent = state.runs.length + ' runs, ' + running + ' running · updated ' + new Date().toLocaleTimeString();
      document.body.dataset.ready = 'true';
    } catch (e) {
      $('status').textContent = 'error: ' + (e && e.message ? e.message : String(e));
    } finally {
      state.drawing = false;
    }
  }
  $('sweep').addEventListener('change', () => renderRuns());
  async function loop() {
    await refresh();
    setTimeout(loop, POLL);
  }
  loop();
})();
`;
