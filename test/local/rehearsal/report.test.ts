import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildEvidenceReport, reportKeys } from '../../../core/tasks/ledger/evidence-report';
import { FileArtifactStore } from '../../../adapters/local/file-artifact-store';
import { rewriteEvidenceReport } from '../../../local/rehearsal/report';
import type { RehearsalVerification } from '../../../local/rehearsal/verification';
import { releasedSlots } from '../../core/tasks/ledger/fixtures';
import { metricRecordOf } from '../../support/metric-records';
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
    // The ledger holds no drill yet: the report says the backup was never proven restorable.
    expect(json).toEqual({ ...buildEvidenceReport(slots, now, { states, restorable: null }).json, rehearsal: { scenario: 'healthy', verification } });
    const markdown = (await store.get(keys.markdown))?.body.toString() ?? '';
    expect(markdown).toContain('| Deploy | succeeded | 214 ms |');
    expect(markdown).toContain('## Rehearsal: healthy\n\nChecked on this machine after the execution: SOMETHING DOES NOT HOLD.');
    expect(markdown).toContain('- ✖ lock: locks/shop-api.json is held; expected released (the execution is over)');
    expect(markdown).toContain('## Path through the runbook');
    expect(markdown).toMatch(/^ {2}class n_Deploy,n_DeploymentSucceeded passed$/m);
  });

  it("writes each analysis metric's chart where the Markdown links it", async () => {
    const store = new FileArtifactStore(await tempDir());
    const released = releasedSlots();
    const slots = { ...released, bake: { ...released.bake, analysis: [metricRecordOf('latency_p95', [0.21])] }, outcome: null };

    const paths = await rewriteEvidenceReport(store, slots, [], { scenario: 'healthy', verification }, new Date('2025-03-04T10:40:00.000Z'));

    const markdown = await readFile(paths.markdown, 'utf8');
    const link = /!\[[^\]]*\]\(([^)]+\.svg)\)/.exec(markdown)?.[1] ?? '';
    expect(await readFile(join(dirname(paths.markdown), decodeURIComponent(link)), 'utf8')).toContain('<title>latency_p95: passing</title>');
  });
});
