import { formatNumber } from './analysis';
import { metricVerdict, type Threshold, thresholdText, verdictText } from './metric-evidence';
import type { MetricRecord } from './model';
import { terminalText } from './untrusted-text';

/**
 * A small SVG chart of one analysis metric over the bake, written by hand so that the Lambda that writes the
 * report needs no library: the baseline at the left (`before`), one point per measurement at its bake
 * evaluation, the line through the values, each threshold the conditions came to as a dashed line, and the
 * points that failed in red. GitHub shows it where the Markdown links it, and so does a browser.
 */

const WIDTH = 560;
const HEIGHT = 220;
const PLOT = { left: 64, right: WIDTH - 24, top: 40, bottom: HEIGHT - 36 };
const COLOURS = { line: '#1f5fa8', pass: '#2e7d32', fail: '#c62828', baseline: '#757575', grid: '#e0e0e0', text: '#333333', muted: '#757575' };

/** Where a chart puts one number: the pixel row, and the range of the numbers it was made for. */
interface Scale {
  readonly min: number;
  readonly max: number;
  y(value: number): number;
}

/** The metric as an SVG document (UTF-8, no external references). */
export function metricChartSvg(record: MetricRecord): string {
  const verdict = metricVerdict(record);
  const finite = (value: number | null): value is number => value !== null && Number.isFinite(value);
  const thresholds = verdict.thresholds.filter((threshold): threshold is Threshold & { bound: number } => finite(threshold.bound));
  const values = record.measurements.map((measurement) => measurement.value).filter(finite);
  const baseline = finite(record.baseline) ? record.baseline : null;
  const scale = scaleOf([...values, ...(baseline === null ? [] : [baseline]), ...thresholds.map((threshold) => threshold.bound)]);
  const lastCheck = Math.max(1, ...record.measurements.map((measurement) => measurement.check));
  const x = (check: number) => PLOT.left + ((PLOT.right - PLOT.left) * check) / lastCheck;

  const title = `${record.name}: ${verdictText(verdict)}`;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11" role="img" aria-label="${xml(title)}">`,
    `<title>${xml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${PLOT.left}" y="18" font-size="13" font-weight="bold" fill="${verdict.verdict === 'failed' ? COLOURS.fail : COLOURS.text}">${xml(title)}</text>`,
    `<text x="${PLOT.left}" y="32" fill="${COLOURS.muted}">${xml(record.condition || 'no condition')}</text>`,
  ];
  // The value axis: the lowest, middle and highest of the numbers drawn.
  for (const value of [scale.min, (scale.min + scale.max) / 2, scale.max]) {
    const y = n(scale.y(value));
    parts.push(`<line x1="${PLOT.left}" y1="${y}" x2="${PLOT.right}" y2="${y}" stroke="${COLOURS.grid}"/>`);
    parts.push(`<text x="${PLOT.left - 6}" y="${y}" dy="4" text-anchor="end" fill="${COLOURS.muted}">${xml(formatNumber(Number(value.toPrecision(3))))}</text>`);
  }
  // The time axis: `before`, then each checkpoint measured.
  parts.push(`<text x="${n(x(0))}" y="${PLOT.bottom + 16}" text-anchor="middle" fill="${COLOURS.muted}">before</text>`);
  for (const check of new Set(record.measurements.map((measurement) => measurement.check))) {
    parts.push(`<text x="${n(x(check))}" y="${PLOT.bottom + 16}" text-anchor="middle" fill="${COLOURS.muted}">${check}</text>`);
  }
  parts.push(`<text x="${n((PLOT.left + PLOT.right) / 2)}" y="${HEIGHT - 6}" text-anchor="middle" fill="${COLOURS.muted}">bake evaluation</text>`);

  thresholds.forEach((threshold, index) => {
    const y = n(scale.y(threshold.bound));
    const colour = threshold.kind === 'fail' ? COLOURS.fail : COLOURS.pass;
    parts.push(`<line class="threshold ${threshold.kind}" x1="${PLOT.left}" y1="${y}" x2="${PLOT.right}" y2="${y}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    // Labels of two thresholds close together are set on either side of their lines.
    parts.push(`<text x="${PLOT.right}" y="${y}" dy="${index % 2 === 0 ? -4 : 12}" text-anchor="end" fill="${colour}">${xml(thresholdText(threshold))}</text>`);
  });
  if (baseline !== null) {
    const y = n(scale.y(baseline));
    parts.push(`<circle class="baseline" cx="${n(x(0))}" cy="${y}" r="4" fill="#ffffff" stroke="${COLOURS.baseline}" stroke-width="2"><title>baseline ${xml(formatNumber(baseline))}</title></circle>`);
    parts.push(`<text x="${n(x(0)) + 8}" y="${y}" dy="4" fill="${COLOURS.baseline}">baseline</text>`);
  }

  // The line joins measurements with values; a gap (no data, an error) breaks it.
  const runs: string[][] = [[]];
  for (const measurement of record.measurements) {
    if (finite(measurement.value)) runs[runs.length - 1].push(`${n(x(measurement.check))},${n(scale.y(measurement.value))}`);
    else if (runs[runs.length - 1].length > 0) runs.push([]);
  }
  for (const run of runs.filter((points) => points.length > 1)) parts.push(`<polyline fill="none" stroke="${COLOURS.line}" stroke-width="2" points="${run.join(' ')}"/>`);

  for (const measurement of record.measurements) {
    const failed = measurement.outcome === 'failure';
    const label = `check ${measurement.check}: ${measurement.value === null ? 'no value' : formatNumber(measurement.value)} (${measurement.outcome})`;
    const cx = n(x(measurement.check));
    if (finite(measurement.value)) {
      const fill = failed ? COLOURS.fail : COLOURS.line;
      parts.push(`<circle class="point ${measurement.outcome}" cx="${cx}" cy="${n(scale.y(measurement.value))}" r="${failed ? 5 : 3.5}" fill="${fill}"><title>${xml(label)}</title></circle>`);
    } else {
      // No value to place: a hollow mark on the axis, still one point per measurement.
      parts.push(`<circle class="point ${measurement.outcome}" cx="${cx}" cy="${PLOT.bottom}" r="4" fill="#ffffff" stroke="${failed ? COLOURS.fail : COLOURS.muted}" stroke-width="2"><title>${xml(label)}</title></circle>`);
    }
  }
  if (record.measurements.length === 0) {
    parts.push(`<text x="${n((PLOT.left + PLOT.right) / 2)}" y="${n((PLOT.top + PLOT.bottom) / 2)}" text-anchor="middle" fill="${COLOURS.muted}">not measured during the bake</text>`);
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** A range with some room around the numbers; one number (or none) still gets a range. */
function scaleOf(numbers: readonly number[]): Scale {
  let min = numbers.length > 0 ? Math.min(...numbers) : 0;
  let max = numbers.length > 0 ? Math.max(...numbers) : 1;
  if (min === max) {
    const room = Math.abs(min) * 0.1 || 1;
    min -= room;
    max += room;
  }
  const pad = (max - min) * 0.08;
  const low = min - pad;
  const high = max + pad;
  return { min, max, y: (value) => PLOT.bottom - ((PLOT.bottom - PLOT.top) * (value - low)) / (high - low) };
}

/** A coordinate with one decimal. */
function n(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Text in an element or an attribute: controls made visible (XML 1.0 allows none of them), markup escaped. */
export function xml(text: string): string {
  return terminalText(text).replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[char] as string);
}
