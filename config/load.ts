import { readFileSync } from 'node:fs';
import { RunbookError } from '../core/errors';
import { formatIssues } from './issues';
import { placeProblems } from './kinds';
import { recipientsOf } from './notification-topics';
import { RunbookConfig } from './schema';

/** The configuration is unusable; `problems` has one line per field, each naming the value received. */
export class ConfigError extends RunbookError {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source} is not a valid deploy-runbook configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Validates and fills defaults; throws a ConfigError listing every invalid field. */
export function parseConfig(raw: unknown, source = 'configuration'): RunbookConfig {
  const result = RunbookConfig.safeParse(raw);
  if (!result.success) throw new ConfigError(source, formatIssues(result.error, raw));
  return result.data;
}

/** Reads a JSON configuration file; JSON syntax errors are reported with the file name. */
export function loadConfigFile(path: string): RunbookConfig {
  return parseConfig(readJsonFile(path, (problem) => new ConfigError(path, [problem])), path);
}

/** A JSON file's value; a file that cannot be read or parsed throws what `refuse` makes of the one-line problem. */
export function readJsonFile(path: string, refuse: (problem: string) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw refuse(`cannot be read: ${(error as Error).message}`);
  }
  try {
    // Editors on Windows may save a byte-order mark, which JSON.parse refuses.
    return JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
  } catch (error) {
    throw refuse(`is not valid JSON: ${(error as Error).message}`);
  }
}

/** For the CDK app: the configuration must describe AWS resources (config/kinds.ts says which kinds do). */
export function assertDeployableToAws(config: RunbookConfig, source = 'configuration'): void {
  const problems = placeProblems(config, 'aws');
  if (config.database?.restoreApproval.required && recipientsOf(config.notifications, 'approval-requested').length === 0) {
    problems.push(
      `database.restoreApproval.required (true, the default) needs notifications.topicArn or a notifications.topics entry whose events include approval-requested — the approval request (naming the execution to answer with deploy-runbook approve) is sent there, and without it nobody would be asked; set one, or restoreApproval.required to false for automatic restores (got notifications.topicArn unset and ${config.notifications.topics.length} topics without approval-requested)`,
    );
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
}
