import { type TemplateRef, templatePattern, templateRefsOf } from '../../../config/template-syntax';
import { RunbookError } from '../../errors';

// Expands the smoke tests' templates; their syntax is defined once, in config/template-syntax.ts.

/** The values templates expand to for one check. */
export interface TemplateScope {
  readonly secrets: ReadonlyMap<string, string>;
  readonly vars: ReadonlyMap<string, string>;
  /** The version that should be live: the new one after a deploy, the previous one after a rollback. */
  readonly version: string | null;
  /** Says why `version` is null, for the failure message. */
  readonly versionMissing: string;
}

/** A template names a value this run does not have; the check fails with this message. */
export class TemplateError extends RunbookError {}

/** Every reference in the strings of `value`, searched recursively through arrays and objects. */
export function templateRefsIn(value: unknown): TemplateRef[] {
  return stringsIn(value).flatMap((text) =>
    templateRefsOf(text),
  );
}

/** Expands the templates of one string; `encode` is applied to each substituted value (e.g. for a URL path). */
export function expandString(text: string, scope: TemplateScope, encode: (value: string) => string = (v) => v): string {
  return text.replace(templatePattern(), (_all, kind: string | undefined, name: string | undefined) => encode(lookup(kind, name, scope)));
}

/** Expands every string inside a JSON value, keys excepted. */
export function expandJson(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === 'string') return expandString(value, scope);
  if (Array.isArray(value)) return value.map((item) => expandJson(item, scope));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandJson(item, scope)]));
  }
  return value;
}

function lookup(kind: string | undefined, name: string | undefined, scope: TemplateScope): string {
  if (kind === undefined) {
    if (scope.version === null) throw new TemplateError(`uses {{version}} but ${scope.versionMissing}`);
    return scope.version;
  }
  const value = (kind === 'secrets' ? scope.secrets : scope.vars).get(name as string);
  if (value === undefined) {
    throw new TemplateError(
      kind === 'secrets'
        ? `uses {{secrets.${name}}} but smokeTests.secrets has no '${name}'`
        : `uses {{vars.${name}}} but no earlier check captures '${name}'`,
    );
  }
  return value;
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}
