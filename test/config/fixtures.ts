import { expect } from 'vitest';
import { ConfigError, parseConfig } from '../../config/load';
import example from '../../config/example.json';

/** A JSON object to edit: every test starts from its own copy. */
export type Draft = Record<string, any>;

export const HOOK_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:shop-deployer';
export const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:shop-deployments';

/** A fresh copy of `config/example.json` (ECS, RDS instance, ECS-task migrations, CloudWatch alarms, SNS). */
export function exampleDraft(): Draft {
  return structuredClone(example) as Draft;
}

/** The smallest valid configuration: a hook target and one smoke check, everything else left to the defaults. */
export function minimalDraft(): Draft {
  return {
    name: 'shop-api',
    target: { kind: 'hook', functionArn: HOOK_ARN },
    smokeTests: { baseUrl: 'https://api.shop.example.com', checks: [{ name: 'health', path: '/health' }] },
  };
}

/** `minimalDraft()` with loops short enough for the shortest execution timeout (5 minutes): one minute of bake, a few seconds of polling. */
export function quickDraft(): Draft {
  return { ...minimalDraft(), bake: { durationSeconds: 60, pollSeconds: 30 }, polling: { deployment: { intervalSeconds: 1, maxAttempts: 30 } } };
}

/** `exampleDraft()` after `edit`. */
export function exampleWith(edit: (draft: Draft) => void): Draft {
  const draft = exampleDraft();
  edit(draft);
  return draft;
}

/** The problems parseConfig reports for `raw`; fails the test when it parses. */
export function problemsOf(raw: unknown): readonly string[] {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError, but the configuration parsed');
}

/** The field each problem line names (the text before the first ": "). */
export function fieldsOf(problems: readonly string[]): string[] {
  return problems.map((problem) => problem.slice(0, problem.indexOf(': ')));
}
