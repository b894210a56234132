import { describe, expect, it } from 'vitest';
import { runRunbook, type TaskCall } from '../../local/engine/engine';
import { parseConfig } from '../../config/load';
import exampleConfig from '../../config/example.json';

describe('local engine', () => {
  it('runs the deployment definition and reports the Fail state a failed smoke test leads to', async () => {
    const config = parseConfig(exampleConfig);
    const seen: string[] = [];
    const result = await runRunbook({
      config: { ...config, database: null, migrations: null },
      input: { version: 'v2' },
      handler: ({ state }: TaskCall) => {
        seen.push(state);
        if (state === 'ValidateInput') return { action: 'deploy', version: 'v2', bakeChecks: 1 };
        if (state === 'Preflight') return { running: { version: 'v1', image: null, ref: 'td:1' }, baseline: { alarms: [] } };
        if (state === 'CheckDeployment' || state === 'CheckRollback') return { status: 'completed' };
        if (state === 'SmokeTest') return { passed: false, summary: '1 of 5 checks failed: health' };
        if (state === 'VerifyRollback') return { passed: true };
        if (state === 'RecordRollback') return { cause: 'rolled back to v1 after SmokeTestFailed' };
        return {};
      },
    });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RolledBack');
    expect(result.cause).toBe('rolled back to v1 after SmokeTestFailed');
    expect(seen).toEqual(['ValidateInput', 'AcquireLock', 'NotifyStarted', 'Preflight', 'Deploy', 'CheckDeployment', 'SmokeTest', 'RollbackApp', 'CheckRollback', 'VerifyRollback', 'RecordRollback', 'ReleaseLockAfterRollback', 'NotifyRolledBack']);
  });
});
