import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { notify, NotifyEvent } from '../../../core/tasks/notify/notify';
import { FileArtifactStore } from '../../../adapters/local/file-artifact-store';
import { LocalNotificationError, LocalNotifier } from '../../../adapters/local/local-notifier';
import { config, deployment, fixedClock, snapshot } from '../../core/tasks/ledger/fixtures';

describe('LocalNotifier', () => {
  let root: string;
  let store: FileArtifactStore;
  const clock = fixedClock('2025-03-04T10:45:00.000Z');
  const log = async () => (await store.get('notifications/shop-api.log'))?.body.toString();

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'local-notifier-'));
    store = new FileArtifactStore(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('appends each message to the target log and prints its lines', async () => {
    const printed: string[] = [];
    const notifier = new LocalNotifier(store, (line) => printed.push(line), clock);
    await notifier.publish([], 'shop-api: v1.4.2 released', 'v1.4.2 is live on shop-api.\nRequested by: ci', { event: 'succeeded', target: 'shop-api' });
    await notifier.publish([], 'shop-api: deploy of v1.5.0 aborted', 'Why: PreflightFailedError', { event: 'aborted', target: 'shop-api' });
    expect(await log()).toBe(
      [
        '2025-03-04T10:45:00.000Z [succeeded] shop-api: v1.4.2 released',
        '  v1.4.2 is live on shop-api.',
        '  Requested by: ci',
        '',
        '2025-03-04T10:45:00.000Z [aborted] shop-api: deploy of v1.5.0 aborted',
        '  Why: PreflightFailedError',
        '',
        '',
      ].join('\n'),
    );
    expect(printed).toEqual([
      '2025-03-04T10:45:00.000Z [succeeded] shop-api: v1.4.2 released',
      '  v1.4.2 is live on shop-api.',
      '  Requested by: ci',
      '2025-03-04T10:45:00.000Z [aborted] shop-api: deploy of v1.5.0 aborted',
      '  Why: PreflightFailedError',
    ]);
  });

  it('names the audiences whose topics would receive the message on AWS', async () => {
    const notifier = new LocalNotifier(store, undefined, clock);
    await notifier.publish(
      [
        { topicArn: 'arn:aws:sns:eu-west-1:123456789012:all', audience: 'all' },
        { topicArn: 'arn:aws:sns:eu-west-1:123456789012:support', audience: 'support' },
      ],
      'shop-api: deploying v1.5.0',
      'The deploy of v1.5.0 to shop-api has started.',
      { event: 'started', target: 'shop-api' },
    );
    expect(await log()).toBe('2025-03-04T10:45:00.000Z [started → all, support] shop-api: deploying v1.5.0\n  The deploy of v1.5.0 to shop-api has started.\n\n');
  });

  it('drops no message when 10 are published at once', async () => {
    const notifier = new LocalNotifier(store, undefined, clock);
    await Promise.all(Array.from({ length: 10 }, (_, i) => notifier.publish([], `message ${i}`, 'body', { event: 'succeeded', target: 'shop-api' })));
    const text = (await log()) ?? '';
    for (let i = 0; i < 10; i++) expect(text).toContain(`[succeeded] message ${i}\n`);
  });

  it('fails when the target attribute is missing', async () => {
    await expect(new LocalNotifier(store).publish([], 's', 'm', { event: 'succeeded' })).rejects.toThrow(LocalNotificationError);
    await expect(new LocalNotifier(store).publish([], 's', 'm', { event: 'succeeded' })).rejects.toThrow('["event"]');
  });

  it('writes an approval request a person can act on during a rehearsal', async () => {
    const event = NotifyEvent.parse(
      JSON.parse(JSON.stringify({ event: 'approval-requested', config, deployment, snapshot, error: { Error: 'MigrationFailedError', Cause: 'exit code 1' } })),
    );
    expect(await notify(event, { notifier: new LocalNotifier(store, undefined, clock) })).toEqual({ published: true });
    const text = (await log()) ?? '';
    expect(text).toContain(`[approval-requested → all] APPROVAL NEEDED: restore shop-api database from ${snapshot.id}?`);
    expect(text).toContain(`npx deploy-runbook approve --execution ${deployment.executionId} --reject --by <name>`);
  });
});
