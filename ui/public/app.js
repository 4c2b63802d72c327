// The page's data layer: live graph over server-sent events (falling back to
// polling /api/graph if the stream stays silent), taps and status by polling.
// Layout comes from /graph.js (ui/graph, unit-tested); graph-view.js draws.
// The API needs the operator's session cookie (set by the ?token= link printed
// at start): on a 401 the page stops every request and says how to sign in.
// The URL fragment picks the view (/graph.js parseRoute): the mesh, the
// Reports page, or the taps around one stored tap a report links to.

import {
  formatInstant, formatRps, HEALTH_COLORS, layoutGraph, meshMarks, parseRoute, summarizeMeshStatus, tapContextPaths, tapContextRows,
} from '/graph.js';
import { drawGraph } from '/graph-view.js';
import { renderAlerts } from '/alerts-panel.js';
import { AlertActions } from '/alert-actions.js';
import { ActionsPanel } from '/actions-panel.js';
import { renderTaps } from '/taps-table.js';
import { ReportsPanel } from '/reports-panel.js';

const GRAPH_STALE_MS = 6000;
const TAPS_EVERY_MS = 3000;
const STATUS_EVERY_MS = 5000;
const TAPS_SHOWN = 25;

const $ = (id) => document.getElementById(id);
const els = {
  svg: $('service-graph'), empty: $('graph-empty'), error: $('graph-error'), tooltip: $('tooltip'),
  totals: $('graph-totals'), refreshed: $('last-refresh'), live: $('live'), status: $('mesh-status'),
  window: $('window'), taps: $('taps').tBodies[0], legend: $('legend'), tapsFilter: $('taps-filter'), tapsFlag: $('taps-flag'), alerts: $('alerts'),
  main: $('main'), signedOut: $('signed-out'), signedOutDetail: $('signed-out-detail'), isolation: $('isolation-warning'),
};

const asked = Number(new URLSearchParams(location.search).get('window'));
let windowS = Number.isInteger(asked) && asked >= 10 && asked <= 3600 ? asked : 60;
let events = null;
let lastGraphAt = 0;
let lastGraph = null;
/** The control plane's last status: its route weights and ejections mark the graph. */
let lastControl = null;
/** Service whose taps the table shows; null = all. Chosen by clicking a node. */
let selected = null;
/** The stored tap a link pointed the table at ({proxy, seq, ts}); null = the newest taps. */
let pointed = null;
/** The pointed tap whose context the table shows: it is history, read once. */
let pointedShown = null;
const timers = [];

function select(service) {
  selected = service;
  pointed = null;
  if (location.hash.startsWith('#taps')) history.replaceState(null, '', location.pathname + location.search);
  els.tapsFilter.hidden = service === null;
  els.tapsFilter.textContent = service === null ? '' : `${service} ✕`;
  if (lastGraph) showGraph(lastGraph);
  refreshTaps();
}

/** The table shows the taps of `tap.proxy` around `tap.ts`, that tap marked. */
function pointAt(tap) {
  selected = null;
  pointed = tap;
  pointedShown = null;
  els.tapsFilter.hidden = false;
  els.tapsFilter.textContent = `${tap.proxy} around ${formatInstant(tap.ts)} ✕`;
  if (lastGraph) showGraph(lastGraph);
  refreshTaps();
}

/** Shows the view the URL fragment names (on load and on every change of it). */
function route() {
  if (document.body.dataset.auth === 'signed-out') return;
  const r = parseRoute(location.hash);
  document.body.dataset.view = r.view === 'reports' ? 'reports' : 'mesh';
  for (const a of document.querySelectorAll('nav.views a')) {
    if (a.dataset.view === document.body.dataset.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (r.view === 'reports') reportsPanel.show(r.report);
  else if (r.view === 'taps') pointAt(r.tap);
  else if (pointed) select(null);
}

function showGraph(graph) {
  lastGraph = graph;
  lastGraphAt = Date.now();
  els.error.hidden = true;
  const layout = layoutGraph(graph);
  els.empty.hidden = layout.nodes.length > 0;
  drawGraph(els.svg, layout, els.tooltip, { selected, onSelect: select }, meshMarks(lastControl, Date.now()));
  const ingress = graph.edges.filter((e) => e.src === 'external').reduce((s, e) => s + e.rps, 0);
  els.totals.textContent = layout.nodes.length
    ? `${graph.nodes.length} services · ${graph.edges.length} calls · ${formatRps(ingress)} from outside`
    : '';
  els.refreshed.textContent = new Date(graph.until).toLocaleTimeString();
  els.refreshed.dateTime = new Date(graph.until).toISOString();
}

function showFailure(message) {
  els.error.textContent = message;
  els.error.hidden = false;
}

function connect() {
  events?.close();
  els.live.dataset.state = 'connecting';
  events = new EventSource(`/api/events?window=${windowS}`);
  events.addEventListener('graph', (ev) => {
    els.live.dataset.state = 'live';
    showGraph(JSON.parse(ev.data));
  });
  events.addEventListener('alerts', (ev) => {
    renderAlerts(els.alerts, JSON.parse(ev.data));
    alertActions.fill(els.alerts);
  });
  events.addEventListener('actions', (ev) => {
    const snapshot = JSON.parse(ev.data);
    actionsPanel.showActions(snapshot);
    alertActions.changed(snapshot, els.alerts);
  });
  events.addEventListener('failure', (ev) => {
    const { code, message } = JSON.parse(ev.data);
    showFailure(`store unavailable (${code}): ${message}`);
  });
  // EventSource reconnects by itself; the watchdog below covers the gap. It
  // gives up for good on an HTTP error (a 401): ask the API why.
  events.onerror = () => {
    els.live.dataset.state = 'down';
    if (events.readyState === EventSource.CLOSED) refreshStatus();
  };
}

/** `init`: a POST or DELETE of the Actions panel (same origin: the cookie and Origin go with it). */
async function getJson(path, init) {
  if (document.body.dataset.auth === 'signed-out') throw new Error('not signed in');
  const res = await fetch(path, init);
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) signOut(body);
  // `problems`: every one of a refused rollout (UI_ERR_BAD_ROLLOUT), for the start form to list.
  if (!res.ok) throw Object.assign(new Error(`${body.code ?? res.status}: ${body.message ?? res.statusText}`), { problems: body.problems });
  return body;
}

/** No (or a stale) session: stop asking, and show how to sign in instead of an empty graph. */
function signOut(body) {
  if (document.body.dataset.auth === 'signed-out') return;
  document.body.dataset.auth = 'signed-out';
  timers.splice(0).forEach(clearInterval);
  events?.close();
  els.live.dataset.state = 'down';
  els.status.textContent = 'not signed in';
  els.main.hidden = true;
  els.signedOut.hidden = false;
  els.signedOutDetail.textContent = `${body.code ?? 'UI_ERR_UNAUTHENTICATED'}: ${body.message ?? 'no operator credentials'}`;
}

/** The stream is silent (proxy buffering, server restart): poll until events flow again. */
async function watchdog() {
  if (Date.now() - lastGraphAt < GRAPH_STALE_MS) return;
  try {
    showGraph(await getJson(`/api/graph?window=${windowS}`));
    els.live.dataset.state = 'polling';
  } catch (e) {
    els.live.dataset.state = 'down';
    showFailure(`cannot load the graph: ${e.message}`);
  }
}

async function refreshTaps() {
  if (pointed) return refreshPointed();
  try {
    const asked = selected;
    const flag = els.tapsFlag.value;
    const filter = `${asked === null ? '' : `&service=${encodeURIComponent(asked)}`}${flag ? `&flag=${encodeURIComponent(flag)}` : ''}`;
    const { taps } = await getJson(`/api/taps?limit=${TAPS_SHOWN}${filter}`);
    // A slower answer for an earlier choice is dropped.
    if (asked === selected && flag === els.tapsFlag.value) renderTaps(els.taps, taps, null, flag ? `no taps with the decision “${flag}” yet` : undefined);

  } catch { /* the graph banner already reports an unreachable server */ }
}

async function refreshPointed() {
  const asked = pointed;
  if (pointedShown === asked) return;
  pointedShown = asked;
  try {
    const [before, after] = await Promise.all(tapContextPaths(asked).map((path) => getJson(path)));
    if (asked !== pointed) return;
    renderTaps(els.taps, tapContextRows(before.taps, after.taps), asked);
    (els.taps.querySelector('tr.pointed') ?? els.taps).scrollIntoView({ block: 'center' });
  } catch (e) {
    if (asked !== pointed) return;
    pointedShown = null;
    renderTaps(els.taps, [], asked);
    showFailure(`cannot load the taps around ${asked.proxy} #${asked.seq}: ${e.message}`);
  }
}

async function refreshStatus() {
  try {
    const { control, ui } = await getJson('/api/status');
    lastControl = control;
    actionsPanel.showControl(control);
    els.status.replaceChildren(...statusParts(control, ui));
    showIsolation(control?.isolation);
  } catch (e) {
    if (document.body.dataset.auth !== 'signed-out') els.status.textContent = `status unavailable: ${e.message}`;
  }
}

/** `meshlens up` without network namespaces: its sidecars' outbound listeners take anyone's traffic, and the page says so. */
function showIsolation(isolation) {
  const shared = isolation?.workloads === 'shared';
  els.isolation.hidden = !shared;
  els.isolation.textContent = shared
    ? 'Workloads share this host\'s network: any local process can send through a sidecar\'s outbound listener as that workload. ' +
      `Run meshlens up as root (--isolate auto, the default, or on) for a network namespace per workload; now: ${isolation.detail}.`
    : '';
}

/** Header line: the control plane summary (computed by /graph.js) plus UI uptime. */
function statusParts(control, ui) {
  const parts = [];
  const items = [...summarizeMeshStatus(control), { label: 'ui up', value: uptime(ui.uptime_s), tone: 'plain' }];
  for (const { label, value, tone } of items) {
    if (parts.length) parts.push(document.createTextNode(' · '));
    const b = document.createElement('b');
    b.textContent = value;
    if (tone === 'bad') b.className = 'bad';
    parts.push(document.createTextNode(`${label} `), b);
  }
  return parts;
}

function uptime(s) {
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function drawLegend() {
  const items = [['ok', '< 1% errors'], ['warn', '1–5%'], ['error', '≥ 5%'], ['idle', 'no requests']];
  els.legend.replaceChildren(...items.map(([level, text]) => {
    const li = document.createElement('li');
    const swatch = document.createElement('i');
    swatch.style.setProperty('--c', HEALTH_COLORS[level]);
    li.append(swatch, text);
    return li;
  }));
}

els.tapsFilter.addEventListener('click', () => select(null));
els.tapsFlag.addEventListener('change', () => select(selected)); // leaves a pointed tap's context for the newest taps with that decision
els.window.value = String(windowS);
els.window.addEventListener('change', () => {
  windowS = Number(els.window.value);
  lastGraphAt = 0;
  connect();
});

const alertActions = new AlertActions(getJson);
const actionsPanel = new ActionsPanel($('actions'), getJson);
const reportsPanel = new ReportsPanel($('reports'), getJson);

drawLegend();
connect();
route();
window.addEventListener('hashchange', route);
refreshTaps();
refreshStatus();
actionsPanel.refreshTuning();
timers.push(setInterval(watchdog, GRAPH_STALE_MS / 2), setInterval(refreshTaps, TAPS_EVERY_MS), setInterval(refreshStatus, STATUS_EVERY_MS));
timers.push(setInterval(() => actionsPanel.refreshTuning(), STATUS_EVERY_MS));
