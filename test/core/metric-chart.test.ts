import { describe, expect, it } from 'vitest';
import { metricChartSvg } from '../../core/metric-chart';
import { metricRecordOf } from '../support/metric-records';
import { allElements, parseXml, type XmlElement } from '../support/xml';

function chart(...args: Parameters<typeof metricRecordOf>) {
  const svg = metricChartSvg(metricRecordOf(...args));
  const root = parseXml(svg);
  const all = allElements(root);
  const classed = (name: string) => all.filter((element) => (element.attributes.class ?? '').split(' ').includes(name));
  return { svg, root, all, classed };
}

const y = (element: XmlElement, attribute = 'cy') => Number(element.attributes[attribute]);

describe('metricChartSvg', () => {
  it('is a well-formed SVG document with one point per measurement', () => {
    const { root, classed } = chart('latency_p95', [0.21, 0.22, 0.61, null], { outcomes: ['success', 'success', 'failure', 'failure'], checks: [2, 5, 10, 15] });
    expect(root.name).toBe('svg');
    expect(root.attributes.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(classed('point')).toHaveLength(4);
    expect(classed('point').map((point) => point.children[0].text)).toEqual([
      'check 2: 0.21 (success)',
      'check 5: 0.22 (success)',
      'check 10: 0.61 (failure)',
      'check 15: no value (failure)',
    ]);
  });

  it('marks the failed points', () => {
    const { classed } = chart('latency_p95', [0.21, 0.61], { outcomes: ['success', 'failure'] });
    const [passed, failed] = classed('point');
    expect(failed.attributes.class).toBe('point failure');
    expect(failed.attributes.fill).toBe('#c62828');
    expect(passed.attributes.fill).not.toBe(failed.attributes.fill);
  });

  it('draws each threshold at the height of that value', () => {
    // Baseline 0.2, so the pass line is at 0.24; a point measured at exactly 0.24 sits on it.
    const { classed } = chart('latency_p95', [0.1, 0.24, 0.5], { condition: 'pass: result <= baseline * 1.2; fail: result > 0.5', outcomes: ['success', 'success', 'failure'] });
    const [pass] = classed('pass');
    const [fail] = classed('fail');
    const points = classed('point');
    expect(y(pass, 'y1')).toBe(y(pass, 'y2'));
    expect(y(pass, 'y1')).toBeCloseTo(y(points[1]), 0);
    expect(y(fail, 'y1')).toBeCloseTo(y(points[2]), 0);
    // Higher values are higher up.
    expect(y(points[0])).toBeGreaterThan(y(points[1]));
  });

  it('draws no threshold it cannot place, and no NaN, when the baseline had no data', () => {
    const { svg, classed } = chart('latency_p95', [0.3], { baseline: null, outcomes: ['inconclusive'] });
    expect(classed('threshold')).toHaveLength(0);
    expect(classed('baseline')).toHaveLength(0);
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('has no NaN with one value, equal values, or none at all', () => {
    for (const values of [[5], [5, 5, 5], [], [null, null], [0, 0]]) {
      const { svg, classed } = chart('cpu', values, { condition: 'fail: result > 5' });
      expect(svg).not.toMatch(/NaN|Infinity|undefined/);
      expect(classed('point')).toHaveLength(values.length);
    }
  });

  it('escapes a metric name with markup and controls, in text and attributes alike', () => {
    const { svg, root } = chart('a<b>&"c\'\u001b[2J', [1]);
    expect(root.attributes['aria-label']).toBe('a<b>&"c\'\\x1b[2J: passing');
    expect(root.children.find((child) => child.name === 'title')?.text).toBe('a<b>&"c\'\\x1b[2J: passing');
    expect(svg).not.toContain('<b>');
    expect(svg).not.toContain('\u001b');
  });
});

describe('parseXml (the check above)', () => {
  it.each(['<a>&</a>', '<a><b></a></b>', '<a x=1/>', '<a x="<"/>', '<a>\u001b</a>', '<a/><b/>', '<a>&foo;</a>', '<a x="1" x="2"/>'])('refuses %j', (source) => {
    expect(() => parseXml(source)).toThrow(SyntaxError);
  });
});
