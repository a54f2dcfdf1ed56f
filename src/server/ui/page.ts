/**
 * The operator status page (/ui): static HTML and a small script, embedded as strings so `tsc` carries
 * them into dist and nothing needs a build step or a file lookup at run time. The page holds no data:
 * it asks for the admin bearer token once (kept in sessionStorage, i.e. per browser tab, gone when the
 * tab closes) and polls /admin/status with it every second. The charts draw the server's own history
 * (the last five minutes, on the server's clock), so a page opened during an incident shows its start.
 * The script is served from /ui/app.js so the CSP can forbid inline script.
 */

export const UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const UI_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f7f8fa; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  h2 { font-size: 1rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; background: #fff; }
  th, td { padding: .3rem .7rem; border-bottom: 1px solid #e3e6eb; text-align: left; }
  .ok { color: #137333; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; } .drained { color: #8a5a00; font-weight: 600; }
  .chart { background: #fff; border: 1px solid #e3e6eb; }
  .why { color: #555; max-width: 22rem; }
  #login { background: #fff; padding: 1rem; border: 1px solid #e3e6eb; max-width: 28rem; }
  #status-line { color: #555; margin-bottom: .5rem; }
  .legend span { display: inline-block; margin-right: 1rem; }
  .swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
  button { font: inherit; }
</style>
</head>
<body>
<h1>Switchyard</h1>
<form id="login" hidden>
  <label for="token">Admin token (kept in this tab only)</label><br>
  <input id="token" type="password" autocomplete="off" size="40">
  <button type="submit">Open</button>
  <p id="login-error" class="bad"></p>
</form>
<main id="main" hidden>
  <div id="status-line"></div>
  <h2>CDNs</h2>
  <table id="cdns"><thead><tr><th>CDN</th><th>Health</th><th>Why</th><th title="Sessions that asked for a manifest in the last minute, by the CDN each was last given">Active sessions</th><th title="Decayed share of recent segment-placing decisions (new and reloading sessions), not of sessions">Share of recent decisions</th><th>Probe errors</th><th>Latency</th><th>Weight</th><th></th></tr></thead><tbody></tbody></table>
  <h2>Active sessions per CDN, last <span id="window-min">5</span> minutes</h2>
  <svg id="sessions-chart" class="chart" width="720" height="220" viewBox="0 0 720 220" role="img" aria-label="active sessions per CDN over time"></svg>
  <h2>Share of recent decisions per CDN (decayed), last <span id="window-min-2">5</span> minutes</h2>
  <svg id="chart" class="chart" width="720" height="220" viewBox="0 0 720 220" role="img" aria-label="share of recent decisions per CDN over time"></svg>
  <div id="legend" class="legend"></div>
  <h2>Rollout</h2>
  <div id="rollout-line">–</div>
  <table id="rollout-arms" hidden><thead><tr><th>Arm</th><th>Sessions</th><th>Segment errors</th><th>Rebuffering</th><th>Manifest errors</th></tr></thead><tbody></tbody></table>
  <ul id="rollout-guards"></ul>
  <p id="rollout-actions" hidden><button id="rollout-promote" type="button">Promote</button> <button id="rollout-abort" type="button">Abort</button></p>
  <h2>Manifest cache</h2>
  <div id="cache"></div>
  <h2>Origins</h2>
  <div id="origins"></div>
  <h2>Recent switches</h2>
  <table id="switches"><thead><tr><th>When</th><th>Session</th><th>Stream</th><th>From</th><th>To</th><th>Reason</th></tr></thead><tbody></tbody></table>
  <p><button id="logout" type="button">Forget token</button></p>
</main>
<script src="/ui/app.js"></script>
</body>
</html>
`;

export const UI_JS = `'use strict';
(function () {
  var KEY = 'switchyard.adminToken';
  var WINDOW_S = 300;
  var COLORS = ['#1a73e8', '#e8710a', '#188038', '#a142f4', '#d93025', '#12b5cb', '#f9ab00', '#5f6368'];
  var W = 720, H = 220, PAD = 30;
  var history = []; // { t: seconds, shares: { cdnId: share }, sessions: { cdnId: count } }
  var colorOf = {};
  var lastCache = null;
  var timer = null;
  var $ = function (id) { return document.getElementById(id); };
  var el = function (tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  };
  var pct = function (x) { return (Math.round(x * 1000) / 10).toFixed(1) + '%'; };

  function token() { return sessionStorage.getItem(KEY); }

  function showLogin(message) {
    if (timer) { clearInterval(timer); timer = null; }
    $('main').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
  }

  function start() {
    $('login').hidden = true;
    $('main').hidden = false;
    poll();
    timer = setInterval(poll, 1000);
  }

  function api(method, path, extra) {
    var headers = { authorization: 'Bearer ' + token() };
    Object.keys(extra || {}).forEach(function (k) { headers[k] = extra[k]; });
    return fetch(path, { method: method, headers: headers, cache: 'no-store' })
      .then(function (res) {
        if (res.status === 401) { sessionStorage.removeItem(KEY); showLogin('That token was refused.'); throw new Error('401'); }
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      });
  }

  function poll() {
    api('GET', '/admin/status').then(render, function (err) {
      $('status-line').textContent = 'Last poll failed: ' + err.message;
    });
  }

  function render(s) {
    $('status-line').textContent = 'Config v' + s.configVersion + ' · policy ' + s.policy + ' · server time ' + new Date(s.at).toLocaleTimeString();
    s.cdns.forEach(function (c) {
      if (!colorOf[c.id]) colorOf[c.id] = COLORS[Object.keys(colorOf).length % COLORS.length];
    });
    // The server's samples, then this poll's figures as the newest point.
    history = (s.history || []).map(function (h) {
      var shares = {}, sessions = {};
      h.cdns.forEach(function (c) { shares[c.id] = c.share; sessions[c.id] = c.sessions; });
      return { t: h.at / 1000, shares: shares, sessions: sessions };
    });
    var now = { t: s.at / 1000, shares: {}, sessions: {} };
    s.cdns.forEach(function (c) { now.shares[c.id] = c.share; now.sessions[c.id] = c.activeSessions; });
    if (!history.length || history[history.length - 1].t < now.t) history.push(now);
    while (history.length && history[0].t < s.at / 1000 - WINDOW_S) history.shift();
    var ids = s.cdns.map(function (c) { return c.id; });
    renderCdns(s.cdns);
    var maxSessions = 1;
    history.forEach(function (h) {
      var total = 0;
      ids.forEach(function (id) { total += h.sessions[id] || 0; });
      if (total > maxSessions) maxSessions = total;
    });
    renderChart($('sessions-chart'), ids, s.at / 1000, 'sessions', maxSessions);
    renderChart($('chart'), ids, s.at / 1000, 'shares', 1);
    renderLegend(ids);
    renderRollout(s.rollout);
    renderCache(s.cache);
    renderOrigins(s.origins);
    renderSwitches(s.recentSwitches);
  }

  function renderCdns(cdns) {
    var body = $('cdns').tBodies[0];
    body.textContent = '';
    cdns.forEach(function (c) {
      var tr = el('tr');
      tr.dataset.cdn = c.id;
      var name = el('td');
      var sw = el('span', undefined, 'swatch'); sw.style.background = colorOf[c.id];
      name.appendChild(sw); name.appendChild(document.createTextNode(c.id));
      tr.appendChild(name);
      var state = c.drained ? 'drained' : c.healthy ? 'healthy' : 'unhealthy';
      var h = el('td', state, c.drained ? 'drained' : c.healthy ? 'ok' : 'bad'); h.dataset.field = 'health'; tr.appendChild(h);
      var why = el('td', c.healthReason || '', 'why'); why.dataset.field = 'why'; tr.appendChild(why);
      var ss = el('td', c.activeSessions + ' (' + pct(c.sessionShare) + ')'); ss.dataset.field = 'sessions'; ss.dataset.value = String(c.activeSessions); tr.appendChild(ss);
      var sh = el('td', pct(c.share)); sh.dataset.field = 'share'; sh.dataset.value = String(c.share); tr.appendChild(sh);
      tr.appendChild(el('td', pct(c.errorRate)));
      tr.appendChild(el('td', c.latencyMs === null ? '–' : Math.round(c.latencyMs) + ' ms'));
      tr.appendChild(el('td', c.weight));
      var act = el('td');
      var b = el('button', c.drained ? 'Undrain' : 'Drain');
      b.type = 'button';
      b.addEventListener('click', function () {
        api('POST', '/admin/cdns/' + encodeURIComponent(c.id) + (c.drained ? '/undrain' : '/drain'), { 'x-switchyard-operator': 'status page' }).then(poll, function () {});
      });
      act.appendChild(b); tr.appendChild(act);
      body.appendChild(tr);
    });
  }

  var SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    return e;
  }

  function clock(t) { return new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }); }

  /** One chart: a polyline per CDN of history[i][field][id], y from 0 to top, a time axis below. */
  function renderChart(chart, ids, nowS, field, top) {
    chart.textContent = '';
    var x = function (t) { return PAD + ((t - (nowS - WINDOW_S)) / WINDOW_S) * (W - 2 * PAD); };
    var y = function (v) { return H - PAD - (v / top) * (H - 2 * PAD); };
    [0, 0.5, 1].forEach(function (f) {
      var v = f * top;
      chart.appendChild(svg('line', { x1: PAD, x2: W - PAD, y1: y(v), y2: y(v), stroke: '#e3e6eb' }));
      var label = svg('text', { x: 2, y: y(v) + 4, 'font-size': 10, fill: '#555' });
      label.textContent = field === 'shares' ? (f * 100) + '%' : String(Math.round(v));
      chart.appendChild(label);
    });
    // Time axis on the server's clock: a tick every minute over the window.
    for (var m = 0; m <= WINDOW_S / 60; m++) {
      var t = Math.floor(nowS / 60) * 60 - m * 60;
      if (t < nowS - WINDOW_S) break;
      chart.appendChild(svg('line', { x1: x(t), x2: x(t), y1: H - PAD, y2: H - PAD + 4, stroke: '#999' }));
      var tick = svg('text', { x: x(t) - 14, y: H - 8, 'font-size': 10, fill: '#555' });
      tick.textContent = clock(t);
      tick.setAttribute('data-axis', 'time');
      chart.appendChild(tick);
    }
    ids.forEach(function (id) {
      var points = history
        .filter(function (h) { return h[field][id] !== undefined; })
        .map(function (h) { return x(h.t).toFixed(1) + ',' + y(h[field][id]).toFixed(1); })
        .join(' ');
      var line = svg('polyline', { points: points, fill: 'none', stroke: colorOf[id], 'stroke-width': 2 });
      line.setAttribute('data-cdn', id);
      var latest = history.length ? history[history.length - 1][field][id] : undefined;
      line.setAttribute('data-latest', latest === undefined ? '' : String(latest));
      chart.appendChild(line);
    });
  }

  function renderLegend(ids) {
    var legend = $('legend');
    legend.textContent = '';
    ids.forEach(function (id) {
      var item = el('span');
      var sw = el('span', undefined, 'swatch'); sw.style.background = colorOf[id];
      item.appendChild(sw); item.appendChild(document.createTextNode(id));
      legend.appendChild(item);
    });
  }

  function rate(x) { return x === null || x === undefined ? '–' : (Math.round(x * 100000) / 1000).toFixed(3) + '%'; }

  function renderRollout(r) {
    var line = $('rollout-line');
    var arms = $('rollout-arms');
    var guards = $('rollout-guards');
    guards.textContent = '';
    if (!r) { line.textContent = 'No rollout configured.'; arms.hidden = true; $('rollout-actions').hidden = true; return; }
    var running = r.state === 'running' || r.state === 'failing';
    line.textContent = r.state + ' · canary ' + pct(r.share) + ' (step ' + (r.stage + 1) + ' of ' + r.stages.length + ') · verdict ' + r.verdict +
      ' · candidate ' + r.candidate + (r.last ? ' · last: ' + r.last.event + ' ' + r.last.detail : '');
    line.className = r.state === 'aborted' || r.state === 'failing' ? 'bad' : r.state === 'promoted' ? 'ok' : '';
    line.dataset.state = r.state;
    var body = arms.tBodies[0];
    body.textContent = '';
    ['control', 'canary'].forEach(function (name) {
      var a = r.arms[name];
      var tr = el('tr');
      tr.dataset.arm = name;
      [name, a.sessions, rate(a.segment_error_rate), rate(a.rebuffer_ratio), rate(a.manifest_error_rate)].forEach(function (v) { tr.appendChild(el('td', v)); });
      body.appendChild(tr);
    });
    arms.hidden = false;
    r.guards.forEach(function (g) { guards.appendChild(el('li', g.metric + ': ' + g.verdict + ' (' + g.why + ')', g.verdict === 'fail' ? 'bad' : g.verdict === 'pass' ? 'ok' : '')); });
    $('rollout-actions').hidden = !running;
  }

  function renderCache(c) {
    var total = c.hit + c.miss + c.coalesced + c.stale;
    var text = 'Hit ratio ' + (total ? pct((c.hit + c.coalesced) / total) : '–') + ' overall';
    if (lastCache) {
      var d = { hit: c.hit - lastCache.hit, miss: c.miss - lastCache.miss, coalesced: c.coalesced - lastCache.coalesced, stale: c.stale - lastCache.stale };
      var dt = d.hit + d.miss + d.coalesced + d.stale;
      text += ', ' + (dt ? pct((d.hit + d.coalesced) / dt) : '–') + ' in the last second';
    }
    text += ' · hits ' + c.hit + ', misses ' + c.miss + ', coalesced ' + c.coalesced + ', stale ' + c.stale;
    lastCache = c;
    $('cache').textContent = text;
  }

  function renderOrigins(origins) {
    $('origins').textContent = origins.map(function (o) { return o.origin + ': circuit ' + o.state; }).join(' · ') || '–';
  }

  function renderSwitches(list) {
    var body = $('switches').tBodies[0];
    body.textContent = '';
    list.forEach(function (s) {
      var tr = el('tr');
      [new Date(s.at).toLocaleTimeString(), s.session, s.stream, s.from, s.to, s.reason].forEach(function (v) { tr.appendChild(el('td', v)); });
      body.appendChild(tr);
    });
  }

  $('login').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var v = $('token').value.trim();
    if (!v) return;
    sessionStorage.setItem(KEY, v);
    $('token').value = '';
    start();
  });
  $('rollout-promote').addEventListener('click', function () { api('POST', '/admin/rollout/promote').then(poll, function () {}); });
  $('rollout-abort').addEventListener('click', function () { api('POST', '/admin/rollout/abort').then(poll, function () {}); });
  $('logout').addEventListener('click', function () { sessionStorage.removeItem(KEY); showLogin(''); });
  $('window-min').textContent = String(WINDOW_S / 60);
  $('window-min-2').textContent = String(WINDOW_S / 60);
  if (token()) start(); else showLogin('');
})();
`;
