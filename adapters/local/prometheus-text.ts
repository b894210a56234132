import { RunbookError } from '../../core/errors';

/** The metrics page is not in the Prometheus text exposition format. */
export class MetricsFormatError extends RunbookError {}

/** One sample line: `http_requests_total{method="GET",status="200"} 42`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:]*/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Parses the Prometheus text format (version 0.0.4); comments and TYPE/HELP lines are skipped. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    try {
      samples.push(parseLine(line));
    } catch (error) {
      throw new MetricsFormatError(`line ${index + 1} is not a Prometheus sample: ${(error as Error).message} (got ${JSON.stringify(line.slice(0, 120))})`);
    }
  });
  return samples;
}

function parseLine(line: string): Sample {
  const name = NAME.exec(line)?.[0];
  if (!name) throw new Error('expected a metric name');
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith('}')) break;
      const labelName = LABEL_NAME.exec(rest)?.[0];
      if (!labelName) throw new Error('expected a label name');
      rest = rest.slice(labelName.length).trimStart();
      if (!rest.startsWith('="')) throw new Error(`expected ="…" after label ${labelName}`);
      const [value, after] = quoted(rest.slice(2));
      labels[labelName] = value;
      rest = after.trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new Error('expected , or } after a label');
    }
    rest = rest.slice(1);
  }
  const [valueText] = rest.trim().split(/\s+/);
  const value = number(valueText ?? '');
  return { name, labels, value };
}

/** Reads a label value up to its closing quote, undoing the format's three escapes. */
function quoted(text: string): [string, string] {
  let value = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') return [value, text.slice(i + 1)];
    if (char === '\\') {
      const next = text[++i];
      value += next === 'n' ? '\n' : next;
    } else {
      value += char;
    }
  }
  throw new Error('unterminated label value');
}

function number(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`expected a number, got "${text}"`);
  return value;
}
