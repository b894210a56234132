import type { LambdaClient } from '@aws-sdk/client-lambda';
import * as z from 'zod/mini';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { Migrator } from '../../core/ports/migrator';
import { MigrationFailedError } from '../../core/errors';
import type { DeployHandle, MigrationsState } from '../../core/model';
import { invokeHook } from './hook-client';

const MigrationStatus = z.enum(['running', 'succeeded', 'failed']);

const MigrateResponse = z.object({
  status: MigrationStatus,
  ref: z.string().check(z.minLength(1)),
  detail: z.nullish(z.string()),
});

const MigrationStatusResponse = z.object({
  status: MigrationStatus,
  detail: z.string(),
});

/**
 * Migrations run by the customer's own Lambda (`migrations.kind: "hook"`), invoked synchronously:
 *
 * | action | request (besides `action`) | response |
 * |---|---|---|
 * | `migrate` | `{version, ref, deploymentId}`: the release's version and ref; the runbook's deployment id, the same on a retried call | `{status: "running" \| "succeeded" \| "failed", ref, detail?}` |
 * | `migration-status` | `{ref}` as returned by `migrate` | `{status: "running" \| "succeeded" \| "failed", detail}` |
 *
 * `failed`, a function error or an answer that does not match fails the step with a MigrationFailedError.
 */
export class HookMigrator implements Migrator {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functionArn: string,
    private readonly deploymentId: string,
    private readonly clock: Clock = systemClock,
  ) {}

  async start(release: DeployHandle): Promise<MigrationsState> {
    const answer = await invokeHook(
      this.lambda,
      this.functionArn,
      'migrate',
      { version: release.version, ref: release.ref, deploymentId: this.deploymentId },
      MigrateResponse,
      MigrationFailedError,
    );
    const now = this.clock.now().toISOString();
    const state: MigrationsState = { started: true, status: 'starting', ref: answer.ref, startedAt: now, finishedAt: null, detail: null };
    return this.settle(state, answer.status, answer.detail ?? `migrations ${answer.ref} ${answer.status}`);
  }

  async status(state: MigrationsState): Promise<MigrationsState> {
    if (!state.ref) throw new MigrationFailedError('migrations.ref: the hook gave no reference to check (got null)');
    const answer = await invokeHook(this.lambda, this.functionArn, 'migration-status', { ref: state.ref }, MigrationStatusResponse, MigrationFailedError);
    return this.settle(state, answer.status, answer.detail);
  }

  private settle(state: MigrationsState, status: z.output<typeof MigrationStatus>, detail: string): MigrationsState {
    if (status === 'failed') throw new MigrationFailedError(`hook ${this.functionArn} reports migrations ${state.ref} failed: ${detail}`);
    return {
      ...state,
      started: true,
      status,
      finishedAt: status === 'succeeded' ? this.clock.now().toISOString() : null,
      detail,
    };
  }
}
