/**
 * Small, plausible bugs, each planted alone in a scratch copy by `npm run mutants` (run.ts). Each names the
 * tests that must catch it: a mutant that survives them marks a hole in the suite.
 */
export interface Mutant {
  readonly id: string;
  /** The bug, as a reviewer would describe it. */
  readonly description: string;
  /** Relative to the repository root. */
  readonly file: string;
  /** The exact text replaced: it must occur exactly once, or `occurrence` times at least. */
  readonly find: string;
  readonly replace: string;
  /** Which occurrence of `find` to replace (1-based), when the text appears more than once. */
  readonly occurrence?: number;
  /** Test files run against the mutant; at least one test must fail. */
  readonly tests: readonly string[];
  /** Only the tests whose name matches, for slow files (the e2e rehearsals). */
  readonly testNamePattern?: string;
}

export const PLANTED: readonly Mutant[] = [
  {
    id: 'asl-alarm-restore-without-approval',
    description: "the ASL rule 'an alarm rollback restores the database only with a person's approval' is deleted",
    file: 'statemachines/deployment.asl.json',
    find: `        {
          "And": [
            {
              "Variable": "$.deployment.action",
              "StringEquals": "rollback"
            },
            {
              "Variable": "$.config.database.restoreApproval.required",
              "BooleanEquals": false
            }
          ],
          "Next": "SkipRestore"
        },
`,
    replace: '',
    tests: ['test/statemachines/alarm-rollback.test.ts'],
  },
  {
    id: 'rds-verify-describes-instance',
    description: 'snapshot verification describes the instance identifier instead of the snapshot identifier',
    file: 'adapters/aws/rds-backups.ts',
    find: 'findDbSnapshot(this.rds, snapshot.id)',
    replace: 'findDbSnapshot(this.rds, this.database.instanceIdentifier)',
    tests: ['test/adapters/aws/rds-backups.test.ts', 'test/core/tasks/database-snapshot/database-snapshot.test.ts'],
  },
  {
    id: 'rds-adopt-describes-instance',
    description: 'adopting a snapshot a concurrent attempt created describes the instance identifier',
    file: 'adapters/aws/rds-backups.ts',
    find: 'find: () => this.find(snapshotId),',
    replace: 'find: () => this.find(source),',
    occurrence: 1,
    tests: ['test/adapters/aws/rds-backups.test.ts'],
  },
  {
    id: 'aurora-verify-describes-cluster',
    description: 'cluster snapshot verification describes the cluster identifier instead of the snapshot identifier',
    file: 'adapters/aws/rds-backups.ts',
    find: 'findClusterSnapshot(this.rds, snapshot.id)',
    replace: 'findClusterSnapshot(this.rds, this.database.clusterIdentifier)',
    tests: ['test/adapters/aws/rds-backups.test.ts'],
  },
  {
    id: 'aurora-adopt-describes-cluster',
    description: 'adopting a cluster snapshot a concurrent attempt created describes the cluster identifier',
    file: 'adapters/aws/rds-backups.ts',
    find: 'find: () => this.find(snapshotId),',
    replace: 'find: () => this.find(source),',
    occurrence: 2,
    tests: ['test/adapters/aws/rds-backups.test.ts'],
  },
  {
    id: 'ecs-no-rollout-state-condition-dropped',
    description: "ECS status: a lone primary at full count counts as completed even while ECS reports a rollout IN_PROGRESS",
    file: 'adapters/aws/ecs-deploy-target.ts',
    find: "(ours.rolloutState === undefined && deployments.length === 1 && running >= desired)",
    replace: '(deployments.length === 1 && running >= desired)',
    tests: ['test/adapters/aws/ecs-deploy-target.test.ts'],
  },
  {
    id: 'ecs-no-rollout-state-lone-deployment-dropped',
    description: 'ECS status without a rollout state: completed at full count although the old deployment still runs',
    file: 'adapters/aws/ecs-deploy-target.ts',
    find: "(ours.rolloutState === undefined && deployments.length === 1 && running >= desired)",
    replace: "(ours.rolloutState === undefined && running >= desired)",
    tests: ['test/adapters/aws/ecs-deploy-target.test.ts'],
  },
  {
    id: 'rollback-window-boundary',
    description: 'an alarm exactly rollbackWindowHours after the release is no longer rolled back (> became >=)',
    file: 'core/tasks/ledger/rollback-window.ts',
    find: 'ageMs > windowMs',
    replace: 'ageMs >= windowMs',
    tests: ['test/core/tasks/ledger/rollback-window.test.ts'],
  },
  {
    id: 'rollback-window-from-alarm-time',
    description: "the rollback window is measured up to the alarm's own (input) time instead of the time of the check",
    file: 'core/tasks/ledger/rollback-window.ts',
    find: 'const ageMs = now.getTime() - Date.parse(current.finishedAt);',
    replace: 'const ageMs = Date.parse(deployment.alarm?.time ?? now.toISOString()) - Date.parse(current.finishedAt);',
    tests: ['test/core/tasks/ledger/rollback-window.test.ts'],
  },
  {
    id: 'rehearsal-exit-ignores-verification',
    description: "the rehearsal's exit code ignores its checks of the machine",
    file: 'cli/exit-codes.ts',
    find: 'return verified ? exitCodeFor(outcome) : ExitCode.VerificationFailed;',
    replace: 'return verified || true ? exitCodeFor(outcome) : ExitCode.VerificationFailed;',
    tests: ['test/cli/formatting.test.ts'],
  },
  {
    id: 'rehearse-command-ignores-verification',
    description: 'deploy-runbook rehearse exits with the outcome alone',
    file: 'cli/commands/rehearse.ts',
    find: 'rehearsalExitCode(result.outcome, result.verification.ok)',
    replace: 'rehearsalExitCode(result.outcome, true)',
    tests: ['test/e2e/rehearse.test.ts'],
    testNamePattern: 'exits 4',
  },
  {
    id: 'verification-failed-copy-not-looked-for',
    description: 'the rehearsal believes the restore kept the failed database without looking for it on the server',
    file: 'local/rehearsal/verification.ts',
    find: 'const kept = restore.failedCopy !== null && machine.failedDatabases.includes(restore.failedCopy);',
    replace: 'const kept = restore.failedCopy !== null;',
    tests: ['test/local/rehearsal/verification.test.ts'],
  },
  {
    id: 'verification-rows-lost-accepted',
    description: 'the rehearsal accepts lost rows when nothing was restored',
    file: 'local/rehearsal/verification.ts',
    find: "return { name: 'data', ok: comparison.noRowsLost,",
    replace: "return { name: 'data', ok: true,",
    tests: ['test/local/rehearsal/verification.test.ts'],
  },
  {
    id: 'verification-stuck-lock-not-expected',
    description: 'the rehearsal expects a released lock after a failed rollback',
    file: 'local/rehearsal/verification.ts',
    find: "const expectedLock = slots.rollbackError !== null ? 'stuck' : 'released';",
    replace: "const expectedLock = 'released';",
    tests: ['test/local/rehearsal/verification.test.ts'],
  },
  {
    id: 'verification-aborted-version-unchecked',
    description: 'the rehearsal expects no version after a deployment aborted before its deploy step',
    file: 'local/rehearsal/verification.ts',
    find: "if (slots?.outcome?.result === 'aborted')",
    replace: "if (slots?.outcome?.result === 'rollback-failed')",
    tests: ['test/local/rehearsal/verification.test.ts'],
  },
  {
    id: 'lock-expired-boundary',
    description: 'a lease is taken over one instant before it expires (<= became <)',
    file: 'core/tasks/deployment-lock/deployment-lock.ts',
    find: 'Date.parse(current.expiresAt) <= now.getTime()',
    replace: 'Date.parse(current.expiresAt) < now.getTime()',
    tests: ['test/core/tasks/deployment-lock/deployment-lock.test.ts'],
  },
  {
    id: 'lock-create-unconditional',
    description: 'the S3 adapter drops If-None-Match: two executions can both create the lock',
    file: 'adapters/aws/s3-artifact-store.ts',
    find: 'IfNoneMatch: options.ifNoneMatch,',
    replace: '',
    tests: ['test/adapters/aws/s3-artifact-store.test.ts'],
  },
  {
    id: 'bake-blames-baseline-alarms',
    description: 'an alarm already firing before the deploy rolls the release back',
    file: 'core/tasks/evaluate-alarms/evaluate-alarms.ts',
    find: 'const newlyFiring = firing.filter((alarm) => !firedAtBaseline.has(alarm.name))',
    replace: 'const newlyFiring = firing.filter(() => true)',
    tests: ['test/core/tasks/evaluate-alarms/evaluate-alarms.test.ts'],
  },
  {
    id: 'fingerprint-shrinking-table-unnoticed',
    description: 'the data comparison misses a table that lost rows',
    file: 'core/data-fingerprint.ts',
    find: 'if (now.rows < table.rows) noRowsLost = false;',
    replace: '',
    tests: ['test/local/rehearsal/data-fingerprint.test.ts'],
  },
  {
    id: 'smoke-failing-capture-unmasked',
    description: 'values captured by a check that fails are not registered for redaction (issue 9, item 1)',
    file: 'core/tasks/smoke-test/expectations.ts',
    find: '  return { reasons, captured };\n}',
    replace: '  return { reasons, captured: reasons.length === 0 ? captured : new Map() };\n}',
    tests: ['test/core/tasks/smoke-test/redaction.property.test.ts'],
  },
  {
    id: 'smoke-wrong-status-capture-unmasked',
    description: 'a response with the wrong status is quoted without masking what its capture paths hold',
    file: 'core/tasks/smoke-test/expectations.ts',
    find: 'expected ${wanted}`], captured };',
    replace: 'expected ${wanted}`], captured: new Map() };',
    tests: ['test/core/tasks/smoke-test/smoke-test.test.ts'],
  },
  {
    id: 'smoke-follows-cross-origin-redirects',
    description: "checks follow redirects with fetch's default, carrying their headers to another origin (issue 9, item 2)",
    file: 'core/tasks/smoke-test/run-check.ts',
    find: 'await fetchWithinOrigin(settings.fetch, prepared.url, {',
    replace: 'await settings.fetch(prepared.url, {',
    tests: ['test/core/tasks/smoke-test/smoke-test.test.ts'],
  },
  {
    id: 'redact-no-base64',
    description: 'a secret echoed base64-encoded is not masked',
    file: 'core/tasks/smoke-test/redact.ts',
    find: '    ...base64Forms(value),\n',
    replace: '',
    tests: ['test/core/tasks/smoke-test/redact.test.ts', 'test/core/tasks/smoke-test/smoke-test.test.ts'],
  },
  {
    id: 'redact-no-cut-echoes',
    description: 'a value the server echoes cut short is not masked',
    file: 'core/tasks/smoke-test/redact.ts',
    find: 'return maskCutEchoes(text.replace(this.pattern, MASK), this.values);',
    replace: 'return text.replace(this.pattern, MASK);',
    tests: ['test/core/tasks/smoke-test/redact.test.ts', 'test/core/tasks/smoke-test/smoke-test.test.ts'],
  },
  {
    id: 'lock-stuck-taken-over',
    description: 'a lock marked stuck after a failed rollback is treated like any expired lease',
    file: 'core/tasks/deployment-lock/deployment-lock.ts',
    find: "if (current.state === 'stuck') {",
    replace: 'if (false) {',
    tests: ['test/core/tasks/deployment-lock/deployment-lock.test.ts'],
  },
  {
    id: 'window-rolls-back-twice',
    description: 'a second alarm rolls back a release that was already rolled back',
    file: 'core/tasks/ledger/rollback-window.ts',
    find: 'if (current.rolledBack) {',
    replace: 'if (false) {',
    tests: ['test/core/tasks/ledger/rollback-window.test.ts'],
  },
  {
    id: 'verification-outcome-unchecked',
    description: 'the rehearsal does not compare the outcome with what its scenario expects',
    file: 'local/rehearsal/verification.ts',
    find: 'ok: outcome === scenario.expected,',
    replace: 'ok: true,',
    tests: ['test/local/rehearsal/verification.test.ts'],
  },
  {
    id: 'verification-analysis-alarm-ignored',
    description: 'the rehearsal credits a metric with a rollback that an alarm caused too (latency-regression must show what no alarm catches)',
    file: 'local/rehearsal/verification.ts',
    find: 'const ok = failed.length > 0 && alarms.length === 0;',
    replace: 'const ok = failed.length > 0;',
    tests: ['test/local/rehearsal/verification.test.ts'],
  },
  {
    id: 'prometheus-released-still-stopped',
    description: 'a Prometheus kept with --keep is stopped and its data deleted with the rehearsal anyway',
    file: 'local/prometheus/server.ts',
    find: '      if (released) return Promise.resolve();\n',
    replace: '',
    tests: ['test/local/prometheus/server.test.ts'],
    testNamePattern: 'released',
  },
  {
    id: 'smoke-latency-budget-exclusive',
    description: 'a response taking exactly the latency budget fails its check (> became >=)',
    file: 'core/tasks/smoke-test/expectations.ts',
    find: 'response.latencyMs > budget',
    replace: 'response.latencyMs >= budget',
    tests: ['test/core/tasks/smoke-test/expectations.test.ts'],
  },
];
