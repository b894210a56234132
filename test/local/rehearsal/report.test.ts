import { describe, expect, it } from 'vitest';
import { buildEvidenceReport, reportKeys } from '../../../core/tasks/ledger/evidence-report';
import { FileArtifactStore } from '../../../adapters/local/file-artifact-store';
import { rewriteEvidenceReport } from '../../../local/rehearsal/report';
import type { RehearsalVerification } from '../../../local/rehearsal/verification';
import { releasedSlots } from '../../core/tasks/ledger/fixtures';
import { useTempDirs } from './fake-ports';

const tempDir = useTempDirs();

const verification: RehearsalVerification = {
  ok: false,
  checks: [
    { name: 'app', ok: true, detail: 'http://127.0.0.1:47800/health answers 200 with version v1.4.2; expected v1.4.2 (the version deployed)' },
    { name: 'lock', ok: false, detail: 'locks/shop-api.json is held; expected released (the execution is over)' },
  ],
  app: { url: 'http://127.0.0.1:47800/health', status: 200, version: 'v1.4.2', expectedVersion: 'v1.4.2' },
  data: null,
  failedDatabases: [],
  lock: { state: 'held', note: null },
  traffic: null,
};

describe('rewriteEvidenceReport', () => {
  it("rewrites the ledger's report with every state's duration and the rehearsal's checks", async () => {
    const store = new FileArtifactStore(await tempDir());
    const slots = { ...releasedSlots(), outcome: { result: 'succeeded' as const, cause: 'Released v1.4.2', reportKey: null, ledgerKey: null } };
    const states = [
      { name: 'Deploy', status: 'succeeded', ms: 214 },
      { name: 'DeploymentSucceeded', status: 'succeeded', ms: 0 },
    ];
    const now = new Date('2025-03-04T10:40:00.000Z');

    const paths = await rewriteEvidenceReport(store, slots, states, { scenario: 'healthy', verification }, now);

    const keys = reportKeys(slots.config.name, slots.deployment.id);
    expect(paths).toEqual({ json: store.locate(keys.json), markdown: store.locate(keys.markdown) });
    const json = JSON.parse((await store.get(keys.json))?.body.toString() ?? '{}');
    expect(json).toEqual({ ...buildEvidenceReport(slots, now, states).json, rehearsal: { scenario: 'healthy', verification } });
    const markdown = (await store.get(keys.markdown))?.body.toString() ?? '';
    expect(markdown).toContain('| Deploy | succeeded | 214 ms |');
    expect(markdown).toContain('## Rehearsal: healthy\n\nChecked on this machine after the execution: SOMETHING DOES NOT HOLD.');
    expect(markdown).toContain('- ✖ lock: locks/shop-api.json is held; expected released (the execution is over)');
  });
});
