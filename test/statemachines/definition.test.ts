import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load';
import {
  ACTIVITY_PLACEHOLDER,
  configSubstitutions,
  FUNCTION_PLACEHOLDERS,
  functionFolder,
  type Json,
  loadDefinition,
  loadPlanDefinition,
  placeholdersOf,
  substitute,
  PlaceholderTypeError,
} from '../../statemachines/definition';
import { exampleDraft, exampleWith, minimalDraft } from '../config/fixtures';

const LAMBDAS = fileURLToPath(new URL('../../lambdas/', import.meta.url));

describe('substitute', () => {
  it('replaces a whole-string placeholder by the value itself, keeping its type', () => {
    const values: Record<string, Json> = { Seconds: 3600, Config: { name: 'shop-api', checks: [1, 2] }, Flag: false, Nothing: null, List: ['a'] };
    const definition: Json = { a: '${Seconds}', b: '${Config}', c: ['${Flag}', '${Nothing}', '${List}'] };

    expect(substitute(definition, values)).toEqual({ a: 3600, b: { name: 'shop-api', checks: [1, 2] }, c: [false, null, ['a']] });
  });

  it('replaces ${Name.field.field} by the value inside the placeholder, keeping its type', () => {
    const values: Record<string, Json> = { Config: { name: 'shop-api', database: null, polling: { snapshot: { intervalSeconds: 30 } } } };
    const definition: Json = { a: '${Config.polling.snapshot.intervalSeconds}', b: '${Config.database}', c: '${Config.polling}', d: 'target ${Config.name}' };

    expect(substitute(definition, values)).toEqual({ a: 30, b: null, c: { snapshot: { intervalSeconds: 30 } }, d: 'target shop-api' });
  });

  it('fails when a placeholder reads a field of null or a field that is not there, naming both', () => {
    const values: Record<string, Json> = { Config: { database: null, bake: { pollSeconds: 60 } } };
    expect(() => substitute('${Config.database.restorePolicy}', values)).toThrow(
      new PlaceholderTypeError('placeholder ${Config.database.restorePolicy} reads restorePolicy of Config.database, which is null'),
    );
    expect(() => substitute('${Config.bake.pollSeconds.value}', values)).toThrow('reads value of Config.bake.pollSeconds, which is the number 60');
    expect(() => substitute('${Config.toString}', values)).toThrow('reads toString of Config, which is an object without that field');
  });

  it('interpolates placeholders inside a longer string', () => {
    const values = { Partition: 'aws', Seconds: 30, Flag: true };
    expect(substitute('arn:${Partition}:states:::lambda:invoke after ${Seconds}s (${Flag})', values)).toBe('arn:aws:states:::lambda:invoke after 30s (true)');
  });

  it.each([
    ['an object', { RunbookConfig: { name: 'shop-api' } }],
    ['an array', { RunbookConfig: ['a'] }],
  ])('refuses %s inside a longer string, naming the placeholder and the string', (_kind, values) => {
    expect(() => substitute({ Comment: 'config: ${RunbookConfig}' }, values as Record<string, Json>)).toThrow('placeholder ${RunbookConfig} is an object and cannot sit inside the string "config: ${RunbookConfig}"');
  });

  it('refuses null inside a longer string rather than writing "null"', () => {
    expect(() => substitute({ Comment: 'timeout ${Seconds}s' }, { Seconds: null })).toThrow(PlaceholderTypeError);
    expect(() => substitute({ Comment: 'timeout ${Seconds}s' }, { Seconds: null })).toThrow('placeholder ${Seconds} is null');
  });

  it('leaves unknown placeholders for CloudFormation, whole or inside a string', () => {
    const definition: Json = { Resource: '${LedgerFunctionArn}', Comment: 'v${Version} via ${LedgerFunctionArn}' };
    expect(substitute(definition, { Version: 2 })).toEqual({ Resource: '${LedgerFunctionArn}', Comment: 'v2 via ${LedgerFunctionArn}' });
  });

  it('leaves JSONPaths, keys and strings that only look like placeholders alone', () => {
    const definition: Json = { 'input.$': '$', 'id.$': '$$.Execution.Id', '${Name}': 'x', odd: ['${1abc}', '${With-Hyphen}', '$Name', '{Name}'] };
    expect(substitute(definition, { Name: 'value', '1abc': 'no' })).toEqual(definition);
  });

  it('does not change the definition it was given', () => {
    const definition: Json = { a: ['${N}'], b: { c: '${N}' } };
    const before = structuredClone(definition);
    substitute(definition, { N: 1 });
    expect(definition).toEqual(before);
  });

  it('is the identity when there is nothing to fill in', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(substitute(value as Json, {})).toEqual(value);
      }),
    );
  });

  it('puts any JSON value where its whole-string placeholder was', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(substitute({ slot: ['${Value}'] }, { Value: value as Json })).toEqual({ slot: [value] });
      }),
    );
  });
});

describe('placeholdersOf', () => {
  it('lists each placeholder once, in order of first use, whole or inside strings', () => {
    const definition: Json = { b: '${Second}', a: ['x ${First} y ${Second}', { c: '${Third}' }], d: '${First}', e: 42, f: null, g: '$.not' };
    expect(placeholdersOf(definition)).toEqual(['Second', 'First', 'Third']);
  });

  it('lists ${Name.field} under Name', () => {
    expect(placeholdersOf({ a: '${Config.polling.snapshot}', b: 'x ${Config.name} ${Other}' })).toEqual(['Config', 'Other']);
  });

  it('finds exactly the function ARNs, the approval activity ARN and the configuration values in the runbook, the timeout first', () => {
    const used = placeholdersOf(loadDefinition());

    expect(used.slice(0, 2)).toEqual(['ExecutionTimeoutSeconds', 'RunbookConfig']);
    expect([...used].sort()).toEqual([...FUNCTION_PLACEHOLDERS, ACTIVITY_PLACEHOLDER, ...Object.keys(configSubstitutions(parseConfig(exampleDraft())))].sort());
  });

  it('finds none left once the configuration, the function ARNs and the activity ARN are filled in', () => {
    const arns: Record<string, Json> = Object.fromEntries(FUNCTION_PLACEHOLDERS.map((p) => [p, `arn:aws:lambda:eu-west-1:123456789012:function:${functionFolder(p)}`]));
    arns[ACTIVITY_PLACEHOLDER] = 'arn:aws:states:eu-west-1:123456789012:activity:restore-approval';
    const filled = substitute(loadDefinition(), { ...configSubstitutions(parseConfig(exampleDraft())), ...arns });

    expect(placeholdersOf(filled)).toEqual([]);
  });
});

describe('functionFolder', () => {
  it('turns each function placeholder into the kebab-case folder name', () => {
    expect(FUNCTION_PLACEHOLDERS.map(functionFolder)).toEqual([
      'validate-input',
      'deployment-lock',
      'preflight',
      'database-snapshot',
      'data-checks',
      'deploy-target',
      'migrations',
      'smoke-test',
      'evaluate-alarms',
      'ledger',
      'restore-database',
      'notify',
    ]);
  });

  it.each(FUNCTION_PLACEHOLDERS)('maps %s to a real handler under lambdas/', (placeholder) => {
    const handler = `${LAMBDAS}${functionFolder(placeholder)}/handler.ts`;

    expect(existsSync(handler)).toBe(true);
    expect(readFileSync(handler, 'utf8')).toMatch(/export const handler\b/);
  });

  it('leaves no handler folder without a placeholder (the runbook\'s, or the release plan\'s ReleasePlanFunctionArn)', () => {
    const withHandler = readdirSync(LAMBDAS).filter((folder) => existsSync(`${LAMBDAS}${folder}/handler.ts`));
    expect(placeholdersOf(loadPlanDefinition())).toContain('ReleasePlanFunctionArn');
    expect(withHandler.sort()).toEqual([...FUNCTION_PLACEHOLDERS.map(functionFolder), 'release-plan'].sort());
  });
});

describe('configSubstitutions', () => {
  it('carries the configuration itself and its timeouts in seconds', () => {
    const config = parseConfig(exampleDraft());
    const values = configSubstitutions(config);

    expect(values).toEqual({ TrafficPlan: null, RunbookConfig: config, ExecutionTimeoutSeconds: 21_600, RestoreApprovalTimeoutSeconds: 3600, RollbackApprovalTimeoutSeconds: 1800 });
    expect(values.RunbookConfig).toBe(config);
  });

  it('takes the approval timeout from the database, and 60 minutes without a database', () => {
    const approving = parseConfig(exampleWith((c) => ((c.database.restoreApproval = { required: true, timeoutMinutes: 15 }), (c.executionTimeoutMinutes = 300))));
    expect(configSubstitutions(approving)).toMatchObject({ ExecutionTimeoutSeconds: 18_000, RestoreApprovalTimeoutSeconds: 900 });
    expect(configSubstitutions(parseConfig(minimalDraft()))).toMatchObject({ RestoreApprovalTimeoutSeconds: 3600 });
  });

  it('takes the rollback approval timeout from rollbackApproval, 30 minutes by default', () => {
    const asking = parseConfig({ ...minimalDraft(), rollbackApproval: { required: true, timeoutMinutes: 45 } });
    expect(configSubstitutions(asking)).toMatchObject({ RollbackApprovalTimeoutSeconds: 2700 });
    expect(configSubstitutions(parseConfig(minimalDraft()))).toMatchObject({ RollbackApprovalTimeoutSeconds: 1800 });
  });

  it('fills the runbook with the configuration, its sections and numbers, and numeric timeouts', () => {
    const config = parseConfig(exampleWith((c) => (c.database.restoreApproval = { required: true, timeoutMinutes: 20 })));
    type State = { Parameters?: { config?: unknown }; TimeoutSeconds?: unknown; Seconds?: unknown };
    const filled = substitute(loadDefinition(), configSubstitutions(config)) as { TimeoutSeconds: unknown; States: Record<string, State> };

    expect(filled.TimeoutSeconds).toBe(21_600);
    expect(filled.States.ValidateInput.Parameters?.config).toEqual(config);
    expect(filled.States.LoadConfig.Parameters?.config).toEqual({ database: config.database, migrations: config.migrations, backup: config.backup, rollbackApproval: config.rollbackApproval });
    expect(filled.States.Deploy.Parameters?.config).toEqual({ target: config.target });
    expect(filled.States.WaitForSnapshot.Seconds).toBe(config.polling.snapshot.intervalSeconds);
    expect(filled.States.AwaitRestoreApproval.TimeoutSeconds).toBe(1200);
    expect(filled.States.AwaitRollbackApproval.TimeoutSeconds).toBe(1800);
  });
});
