/**
 * Keeps secret and captured values out of everything a smoke test reports. A server may echo a value
 * back in another encoding (JSON-escaped, URL-encoded, HTML-escaped), so each form is masked.
 */

/** What a masked value is replaced by. */
export const MASK = '***';

/** Masks known values in text; values can be added while a run progresses (captured tokens). */
export class Redactor {
  private readonly forms = new Set<string>();
  private pattern: RegExp | null = null;

  /** Registers a value to mask; empty values are ignored (there is nothing to hide). */
  add(value: string): void {
    if (value === '') return;
    for (const form of encodedForms(value)) this.forms.add(form);
    this.pattern = null;
  }

  /** The text with every registered value, in every encoding, replaced by `***`. */
  redact(text: string): string {
    if (this.forms.size === 0) return text;
    // Longest first, so a value containing another is masked whole; case-insensitive because echoes may re-case hex escapes.
    this.pattern ??= new RegExp(
      [...this.forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'),
      'gi',
    );
    return text.replace(this.pattern, MASK);
  }
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
  ];
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
