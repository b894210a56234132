import type { SmokeCheck } from '../../../config/schema';
import type { TemplateRef } from '../../../config/template-syntax';
import { templateRefsIn } from './template';

/** Where a check gets each `{{vars.x}}` it uses: the nearest earlier check that captures `x`. */
export interface CheckInputs {
  /** Indexes of the checks this one waits for. */
  readonly dependsOn: number[];
  /** Variable name → index of the check that captures it. */
  readonly producers: ReadonlyMap<string, number>;
}

/** Every template reference of a check: path, headers, body and expected JSON values. */
export function refsOfCheck(check: SmokeCheck): TemplateRef[] {
  return templateRefsIn([check.path, check.headers, check.body ?? null, check.expect.json.map((a) => a.equals ?? null)]);
}

/** For each check, in config order, the earlier checks whose captures it uses. */
export function checkInputs(checks: readonly SmokeCheck[]): CheckInputs[] {
  return checks.map((check, index) => {
    const producers = new Map<string, number>();
    for (const ref of refsOfCheck(check)) {
      if (ref.scope !== 'vars' || producers.has(ref.name)) continue;
      const producer = checks.findLastIndex((other, i) => i < index && Object.hasOwn(other.capture, ref.name));
      if (producer >= 0) producers.set(ref.name, producer);
    }
    return { dependsOn: [...new Set(producers.values())], producers };
  });
}
