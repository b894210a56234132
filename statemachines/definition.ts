import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RunbookError } from '../core/errors';
import type { Json } from '../core/json';
import { trafficPlan } from '../config/traffic';

/** A placeholder's value cannot be written where the definition uses it. */
export class PlaceholderTypeError extends RunbookError {}

/** The runbook: the one state machine definition both AWS and the rehearsal run. */
export const DEFINITION_PATH = fileURLToPath(new URL('./deployment.asl.json', import.meta.url));

/** The release plan's state machine (statemachines/release-plan.ts generates it). */
export const PLAN_DEFINITION_PATH = fileURLToPath(new URL('./release-plan.asl.json', import.meta.url));

export function loadPlanDefinition(): Record<string, Json> {
  return JSON.parse(readFileSync(PLAN_DEFINITION_PATH, 'utf8')) as Record<string, Json>;
}

/** Placeholders filled with a Lambda ARN: on AWS by CloudFormation, in the rehearsal by local names. */
export const FUNCTION_PLACEHOLDERS = [
  'ValidateInputFunctionArn',
  'DeploymentLockFunctionArn',
  'PreflightFunctionArn',
  'DatabaseSnapshotFunctionArn',
  'DataChecksFunctionArn',
  'DeployTargetFunctionArn',
  'MigrationsFunctionArn',
  'SmokeTestFunctionArn',
  'EvaluateAlarmsFunctionArn',
  'LedgerFunctionArn',
  'RestoreDatabaseFunctionArn',
  'NotifyFunctionArn',
] as const;
export type FunctionPlaceholder = (typeof FUNCTION_PLACEHOLDERS)[number];

/**
 * The placeholder filled with the restore-approval activity's ARN: on AWS the stack's Step Functions activity,
 * in the local engine a local name whose tasks the caller's handler answers (see core/restore-approval.ts).
 */
export const ACTIVITY_PLACEHOLDER = 'RestoreApprovalActivityArn';

/** `DeployTargetFunctionArn` → `deploy-target`: the folder under `lambdas/`. */
export function functionFolder(placeholder: FunctionPlaceholder): string {
  return placeholder
    .replace(/FunctionArn$/, '')
    .replace(/([a-z])([A-Z])/g, '$1-$2')
    .toLowerCase();
}

export type { Json } from '../core/json';

export function loadDefinition(): Record<string, Json> {
  return JSON.parse(readFileSync(DEFINITION_PATH, 'utf8')) as Record<string, Json>;
}

/** `${Name}`, or `${Name.field.field}` for a value inside a placeholder's value. */
const PLACEHOLDER = String.raw`\$\{([A-Za-z][A-Za-z0-9]*)((?:\.[A-Za-z][A-Za-z0-9]*)*)\}`;
const WHOLE = new RegExp(`^${PLACEHOLDER}$`);
const INNER = new RegExp(PLACEHOLDER, 'g');

/** Every `${Name}` the definition uses (the name alone for `${Name.field}`), in order of first use. */
export function placeholdersOf(definition: Json): string[] {
  const found = new Set<string>();
  walkStrings(definition, (s) => {
    for (const m of s.matchAll(INNER)) found.add(m[1]);
  });
  return [...found];
}

function walkStrings(value: Json, visit: (s: string) => void): void {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) value.forEach((v) => walkStrings(v, visit));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => walkStrings(v, visit));
}

/** The value `${name.a.b}` stands for: `values[name].a.b`. */
function valueOf(values: Record<string, Json>, name: string, fields: string): Json {
  let value = values[name];
  let at = name;
  for (const field of fields.split('.').slice(1)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, field)) {
      throw new PlaceholderTypeError(`placeholder \${${name}${fields}} reads ${field} of ${at}, which is ${describe(value)}`);
    }
    value = value[field];
    at = `${at}.${field}`;
  }
  return value;
}

function describe(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object without that field' : `the ${typeof value} ${JSON.stringify(value)}`;
}

/**
 * Fills placeholders. A string that is exactly `${Name}` (or `${Name.field}`, a value inside it) becomes the
 * value itself (so a number stays a number and the configuration an object); a placeholder inside a
 * longer string is interpolated. Names not in `values` are left as they are, for CloudFormation's
 * DefinitionSubstitutions.
 */
export function substitute(definition: Json, values: Record<string, Json>): Json {
  if (typeof definition === 'string') {
    const whole = WHOLE.exec(definition);
    if (whole && whole[1] in values) return valueOf(values, whole[1], whole[2]);
    return definition.replace(INNER, (match, name: string, fields: string) => {
      if (!(name in values)) return match;
      const value = valueOf(values, name, fields);
      if (typeof value === 'object' || value === null) {
        throw new PlaceholderTypeError(`placeholder \${${name}${fields}} is ${value === null ? 'null' : 'an object'} and cannot sit inside the string "${definition}"`);
      }
      return String(value);
    });
  }
  if (Array.isArray(definition)) return definition.map((v) => substitute(v, values));
  if (definition && typeof definition === 'object') {
    return Object.fromEntries(Object.entries(definition).map(([k, v]) => [k, substitute(v, values)]));
  }
  return definition;
}

/** Values the definition takes from the configuration, the same on AWS and in the rehearsal. */
export function configSubstitutions(config: {
  executionTimeoutMinutes: number;
  database?: { restoreApproval: { timeoutMinutes: number } } | null;
  rollbackApproval?: { timeoutMinutes: number };
  target: Parameters<typeof trafficPlan>[0];
}): Record<string, Json> {
  return {
    // `$.traffic` before the first step (config/traffic.ts); null for targets that do not shift traffic.
    TrafficPlan: trafficPlan(config.target) as Json,
    RunbookConfig: config as unknown as Json,
    ExecutionTimeoutSeconds: config.executionTimeoutMinutes * 60,
    // A static timeout: TimeoutSecondsPath would be read after Parameters in some engines.
    RestoreApprovalTimeoutSeconds: (config.database?.restoreApproval.timeoutMinutes ?? 60) * 60,
    RollbackApprovalTimeoutSeconds: (config.rollbackApproval?.timeoutMinutes ?? 30) * 60,
  };
}
