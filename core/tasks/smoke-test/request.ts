import type { JsonAssertion, SmokeCheck } from '../../../config/schema';
import { expandJson, expandString, type TemplateScope } from './template';

/** A check with every template expanded: ready to send, and to judge the answer by. */
export interface PreparedCheck {
  readonly url: string;
  readonly init: { readonly method: string; readonly headers: Headers; readonly body?: string };
  /** JSON assertions with their `equals` values expanded. */
  readonly assertions: readonly JsonAssertion[];
}

/**
 * Appends a check's path to the base URL, keeping the base's own path prefix:
 * `https://host/api/` + `/health` → `https://host/api/health`.
 */
export function joinUrl(baseUrl: string, path: string): string {
  const base = new URL(baseUrl);
  return `${base.origin}${base.pathname.replace(/\/+$/, '')}${path}`;
}

/**
 * Expands the check's templates. Values substituted into the path are URL-encoded: they are data, and
 * a captured value must not be able to change which URL is called. Throws TemplateError for a missing
 * value and TypeError for a header the HTTP client refuses.
 */
export function prepareCheck(check: SmokeCheck, baseUrl: string, scope: TemplateScope): PreparedCheck {
  const url = joinUrl(baseUrl, expandString(check.path, scope, encodeURIComponent));
  const headers = new Headers();
  for (const [name, value] of Object.entries(check.headers)) headers.set(name, expandString(value, scope));
  let body: string | undefined;
  if (typeof check.body === 'string') {
    body = expandString(check.body, scope);
  } else if (check.body !== undefined) {
    body = JSON.stringify(expandJson(check.body, scope));
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  const assertions = check.expect.json.map((assertion) =>
    assertion.equals === undefined ? assertion : { ...assertion, equals: expandJson(assertion.equals, scope) as JsonAssertion['equals'] },
  );
  return { url, init: { method: check.method, headers, ...(body === undefined ? {} : { body }) }, assertions };
}
