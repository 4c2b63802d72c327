// Draws a control's evidence as small horizontal bars with d3: the layout
// (lengths, rows) comes from /graph.js evidenceBars, which is unit-tested.
// Names are evidence keys from a pack, set as text.

import { BAR_ROW, evidenceBars } from '/graph.js';

/* global d3 */

/** @param {SVGSVGElement} svgEl @param {unknown} evidence {name: number} */
export function drawEvidenceBars(svgEl, evidence) {
  const layout = evidenceBars(evidence);
  const svg = d3.select(svgEl)
    .attr('width', layout.width).attr('height', Math.max(layout.height, 1))
    .attr('viewBox', `0 0 ${layout.width} ${Math.max(layout.height, 1)}`)
    .attr('role', 'img').attr('aria-label', 'evidence counts');
  const g = svg.selectAll('g.bar').data(layout.bars, (b) => b.name).join((enter) => {
    const bar = enter.append('g').attr('class', 'bar');
    bar.append('text').attr('class', 'name');
    bar.append('rect');
    bar.append('text').attr('class', 'value');
    return bar;
  });
  g.attr('data-name', (b) => b.name).attr('transform', (b) => `translate(0,${b.y})`);
  g.select('text.name').attr('x', layout.labelWidth - 6).attr('y', BAR_ROW / 2).attr('text-anchor', 'end').attr('dominant-baseline', 'central').text((b) => b.name);
  g.select('rect').attr('x', layout.labelWidth).attr('y', 3).attr('height', BAR_ROW - 6).attr('rx', 2).attr('width', (b) => b.width);
  g.select('text.value').attr('x', (b) => layout.labelWidth + b.width + 5).attr('y', BAR_ROW / 2).attr('dominant-baseline', 'central').text((b) => b.label);
}
