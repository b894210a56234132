/**
 * The smoke tests' templates, defined once: `{{secrets.NAME}}`, `{{vars.NAME}}` and `{{version}}`. The
 * configuration schema checks the references, the smoke-test task expands them. Anything else between braces
 * is left as written: a body may legitimately contain `{{…}}`.
 */
const SOURCE = String.raw`\{\{\s*(?:(secrets|vars)\.([A-Za-z][A-Za-z0-9_-]*)|(version))\s*\}\}`;

/** A reference found in a template. */
export type TemplateRef = { readonly scope: 'secrets' | 'vars'; readonly name: string } | { readonly scope: 'version' };

/** A fresh global pattern (a shared one would carry `lastIndex` from one caller to the next). */
export function templatePattern(): RegExp {
  return new RegExp(SOURCE, 'g');
}

/** Every reference in `text`, in order. */
export function templateRefsOf(text: string): TemplateRef[] {
  return [...text.matchAll(templatePattern())].map((m): TemplateRef => (m[3] ? { scope: 'version' } : { scope: m[1] as 'secrets' | 'vars', name: m[2] }));
}
