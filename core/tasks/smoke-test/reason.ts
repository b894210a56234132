import { excerpt, type Redactor } from './redact';

/**
 * Why a check failed, rendered only when the report is written: by then every secret and every captured
 * value is known, and each value is redacted before it is shortened, so no part of one can slip through.
 */
export type Reason = (redactor: Redactor) => string;

/** Values in a failure message are cut to this many characters after redaction. */
const VALUE_LIMIT = 120;

/** Tagged template: `reason\`${path} is ${shown}\`` redacts and shortens each interpolated value. */
export function reason(strings: TemplateStringsArray, ...values: unknown[]): Reason {
  return (redactor) =>
    strings.reduce((out, text, i) => out + text + (i < values.length ? excerpt(String(values[i]), redactor, VALUE_LIMIT) : ''), '');
}

/** A failed response's body, redacted then cut to `limit` characters. */
export function responseExcerpt(body: string, limit: number): Reason {
  return (redactor) => `response: ${excerpt(body, redactor, limit)}`;
}

/** A value as it appears in a message: JSON, so strings are quoted and types are visible. */
export function shown(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value);
}
