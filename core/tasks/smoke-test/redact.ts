/**
 * Keeps secret and captured values out of everything a smoke test reports. A server may echo a value
 * back in another encoding (JSON-escaped, URL-encoded, HTML-escaped, base64) or cut short, so each form is masked.
 */

/** What a masked value is replaced by. */
export const MASK = '***';

/** Fragments of a value (a cut echo, its base64 inside a longer text) this long or longer are masked; shorter ones are too common in ordinary text. */
const FRAGMENT_MIN = 8;

/** Masks known values in text; values can be added while a run progresses (captured tokens). */
export class Redactor {
  private readonly forms = new Set<string>();
  private readonly values = new Set<string>();
  private pattern: RegExp | null = null;

  /** Registers a value to mask; empty values are ignored (there is nothing to hide). */
  add(value: string): void {
    if (value === '') return;
    this.values.add(value);
    // A base64 echo may be cut short as well: its forms are masked from their first characters on too.
    for (const form of base64Forms(value)) this.values.add(form);
    for (const form of encodedForms(value)) this.forms.add(form);
    this.pattern = null;
  }

  /** The text with every registered value, in every encoding and cut short, replaced by `***`. */
  redact(text: string): string {
    if (this.forms.size === 0) return text;
    // Longest first, so a value containing another is masked whole; case-insensitive because echoes may re-case hex escapes.
    this.pattern ??= new RegExp(
      [...this.forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'),
      'gi',
    );
    return maskCutEchoes(text.replace(this.pattern, MASK), this.values);
  }
}

/** Masks what remains of each value (or base64 form of one) cut short by the server: its first FRAGMENT_MIN characters, and as many more as match. */
function maskCutEchoes(text: string, values: ReadonlySet<string>): string {
  let masked = text;
  for (const value of [...values].sort((a, b) => b.length - a.length)) {
    if (value.length <= FRAGMENT_MIN) continue;
    const head = value.slice(0, FRAGMENT_MIN);
    let out = '';
    let from = 0;
    for (let at = masked.indexOf(head); at >= 0; at = masked.indexOf(head, from)) {
      let end = at + FRAGMENT_MIN;
      while (end < masked.length && end - at < value.length && masked[end] === value[end - at]) end += 1;
      out += masked.slice(from, at) + MASK;
      from = end;
    }
    masked = out + masked.slice(from);
  }
  return masked;
}

/** Redacts, then shortens to `max` characters: in that order, so a cut can never leave part of a secret. */
export function excerpt(text: string, redactor: Redactor, max: number): string {
  const clean = redactor.redact(text).replace(/\s+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function encodedForms(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  return [
    value,
    json,
    // a JSON request body quoted inside a JSON error message is escaped twice
    JSON.stringify(json).slice(1, -1),
    json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    json.replaceAll('/', '\\/'),
    ...uriForms(value),
    value.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]),
    ...base64Forms(value),
  ];
}

/**
 * The characters of base64 that encode only the value's bytes, at each of the three alignments it can have
 * inside a longer encoded text (`Basic base64(user:password)`), in the standard and the URL-safe alphabet.
 */
function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  // Encoded alone, the last character also holds the zero bits that pad the value out.
  const forms = [bytes.toString('base64').replace(/=+$/, '')];
  for (let offset = 0; offset < 3; offset += 1) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Each character carries 6 bits: keep those made of the value's bits alone.
    forms.push(encoded.slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + bytes.length) * 8) / 6)));
  }
  return forms.filter((form) => form.length >= FRAGMENT_MIN).flatMap((form) => [form, form.replaceAll('+', '-').replaceAll('/', '_')]);
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function uriForms(value: string): string[] {
  try {
    const encoded = encodeURIComponent(value);
    return [encoded, encoded.replaceAll('%20', '+')];
  } catch {
    // a lone surrogate cannot be URL-encoded, so it cannot be echoed that way either
    return [];
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
