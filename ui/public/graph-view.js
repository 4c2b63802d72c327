// Draws a GraphLayout (computed by /graph.js, the tested ui/graph module) into
// the SVG with d3. No placement decisions here: positions, paths, widths and
// colours all come from the layout. Elements are keyed by service and by
// src→dst so a refresh moves and updates them instead of redrawing.
//
// What the control plane did to a service (./mesh-marks.ts: its route split
// by weight, its instances ejected for now) is drawn just above and below the
// node's box, inside the layout's padding and row gap, so no box moves for it.
//
// Test hooks: <g class="node" data-service>, <g class="edge" data-src data-dst data-rps> (the exact rate the label is formatted from),
// text.split and text.ejected in a node (data-ejected: the instances).

import { ejectedLine, formatErrorRate, formatLatency, formatLeft, formatRps, healthLevel } from '/graph.js';

/* global d3 */

const MS = 400;

/**
 * @param {SVGSVGElement} svgEl
 * @param {import('../graph/layout.ts').GraphLayout} layout
 * @param {HTMLElement} tooltip
 * @param {{ selected: string | null, onSelect: (service: string | null) => void }} selection
 * @param {Record<string, import('../graph/mesh-marks.ts').ServiceMarks>} [marks] by service
 */
export function drawGraph(svgEl, layout, tooltip, selection, marks = {}) {
  const none = { split: null, ejected: [] };
  const markOf = (n) => marks[n.service] ?? none;
  const svg = d3.select(svgEl)
    .attr('viewBox', `0 0 ${Math.max(layout.width, 1)} ${Math.max(layout.height, 1)}`)
    .attr('width', layout.width)
    .attr('height', layout.height);
  const edgeLayer = layerGroup(svg, 'edges');
  const nodeLayer = layerGroup(svg, 'nodes');
  const t = svg.transition().duration(MS);

  edgeLayer.selectAll('g.edge')
    .data(layout.edges, (e) => `${e.src}\u2192${e.dst}`)
    .join((enter) => {
      const g = enter.append('g').attr('class', 'edge').attr('opacity', 0);
      g.append('path').attr('class', 'line');
      g.append('path').attr('class', 'arrow');
      const label = g.append('text').attr('text-anchor', 'middle');
      label.append('tspan').attr('class', 'rps');
      label.append('tspan').attr('class', 'err');
      return g;
    })
    .attr('data-src', (e) => e.src)
    .attr('data-dst', (e) => e.dst)
    .attr('data-rps', (e) => String(e.rps))
    .on('mouseenter mousemove', (ev, e) => showTip(tooltip, ev, `${e.src} → ${e.dst}`, statsRows(e)))
    .on('mouseleave', () => { tooltip.hidden = true; })
    .call((g) => g.transition(t).attr('opacity', 1))
    .call((g) => {
      g.select('path.line').transition(t).attr('d', (e) => e.path).attr('stroke', (e) => e.color).attr('stroke-width', (e) => e.width);
      g.select('path.arrow').transition(t).attr('d', (e) => e.arrow).attr('fill', (e) => e.color);
      g.select('text').transition(t).attr('x', (e) => e.labelX).attr('y', (e) => e.labelY - e.width / 2 - 5);
      g.select('tspan.rps').text((e) => formatRps(e.rps));
      g.select('tspan.err').text((e) => (e.errors > 0 ? ` · ${formatErrorRate(e.error_rate)}` : ''));
    });

  nodeLayer.selectAll('g.node')
    .data(layout.nodes, (n) => n.service)
    .join((enter) => {
      const g = enter.append('g').attr('class', 'node').attr('opacity', 0)
        .attr('transform', (n) => `translate(${n.x},${n.y})`);
      g.append('rect').attr('class', 'box').attr('rx', 10);
      g.append('circle').attr('class', 'health').attr('r', 5).attr('cy', 21);
      g.append('text').attr('class', 'name').attr('x', 14).attr('y', 26);
      g.append('text').attr('class', 'stat line1').attr('x', 14).attr('y', 48);
      g.append('text').attr('class', 'stat line2').attr('x', 14).attr('y', 66);
      g.append('text').attr('class', 'split').attr('x', 4).attr('y', -6);
      g.append('text').attr('class', 'ejected').attr('x', 4);
      return g;
    })
    .attr('data-service', (n) => n.service)
    .classed('selected', (n) => n.service === selection.selected)
    .on('click', (_ev, n) => selection.onSelect(n.service === selection.selected ? null : n.service))
    .on('mouseenter mousemove', (ev, n) => showTip(tooltip, ev, n.service, [...nodeRows(n), ...markRows(markOf(n))]))
    .on('mouseleave', () => { tooltip.hidden = true; })
    .call((g) => g.transition(t).attr('opacity', 1).attr('transform', (n) => `translate(${n.x},${n.y})`))
    .call((g) => {
      g.select('rect.box').attr('width', (n) => n.width).attr('height', (n) => n.height);
      g.select('circle.health').attr('cx', (n) => n.width - 16).transition(t).attr('fill', (n) => n.color);
      g.select('text.name').text((n) => n.service);
      g.select('text.line1').each(function (n) { nodeLine1(d3.select(this), n); });
      g.select('text.line2').text((n) => (n.requests > 0
        ? `p50 ${formatLatency(n.p50_ms)} · p99 ${formatLatency(n.p99_ms)}`
        : n.out_rps > 0 ? 'outside the mesh' : 'no requests'));
      g.classed('has-ejected', (n) => markOf(n).ejected.length > 0);
      g.select('text.split').text((n) => markOf(n).split ?? '');
      g.select('text.ejected').attr('y', (n) => n.height + 14)
        .attr('data-ejected', (n) => markOf(n).ejected.map((e) => e.instance).join(' '))
        .text((n) => ejectedLine(markOf(n).ejected));
    });
}

function layerGroup(svg, name) {
  let g = svg.select(`g.${name}`);
  if (g.empty()) g = svg.append('g').attr('class', name);
  return g;
}

/** "12.3/s · 1.2% err", the error part coloured by health; callers only show what they send. */
function nodeLine1(text, n) {
  text.selectAll('tspan').remove();
  if (n.requests === 0) {
    text.append('tspan').text(n.out_rps > 0 ? `sends ${formatRps(n.out_rps)}` : '–');
    return;
  }
  text.append('tspan').text(`${formatRps(n.rps)} · `);
  const level = healthLevel(n);
  text.append('tspan').attr('class', level === 'error' ? 'bad' : level === 'warn' ? 'warn' : null)
    .text(`${formatErrorRate(n.error_rate)} err`);
}

function statsRows(s) {
  return [
    ['rate', formatRps(s.rps)],
    ['requests', String(s.requests)],
    ['errors', `${s.errors} (${formatErrorRate(s.error_rate)})`],
    ['p50', formatLatency(s.p50_ms)],
    ['p99', formatLatency(s.p99_ms)],
  ];
}

function markRows(m) {
  const rows = m.split ? [['route', m.split]] : [];
  for (const e of m.ejected) rows.push([`ejected ${e.instance}`, `${formatLeft(e.left_s)} left${e.reason ? ` · ${e.reason.slice(0, 60)}` : ''}`]);
  return rows;
}

function nodeRows(n) {
  const rows = n.requests > 0 ? statsRows(n) : [['served', 'no requests']];
  if (n.out_rps > 0) rows.push(['calls out', formatRps(n.out_rps)]);
  return rows;
}

/** The tooltip is position: fixed, so the scrolling graph box never clips it; it flips to stay on screen. */
function showTip(tooltip, ev, title, rows) {
  tooltip.replaceChildren();
  const b = document.createElement('b');
  b.textContent = title;
  const dl = document.createElement('dl');
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dl.append(dt, dd);
  }
  tooltip.append(b, dl);
  tooltip.hidden = false;
  const gap = 14;
  const x = ev.clientX + gap + tooltip.offsetWidth > window.innerWidth ? ev.clientX - gap - tooltip.offsetWidth : ev.clientX + gap;
  const y = ev.clientY + gap + tooltip.offsetHeight > window.innerHeight ? ev.clientY - gap - tooltip.offsetHeight : ev.clientY + gap;
  tooltip.style.left = `${Math.max(4, x)}px`;
  tooltip.style.top = `${Math.max(4, y)}px`;
}
