import * as z from 'zod/mini';
import { type NotificationSettings, recipientsOf } from '../../../config/notification-topics';
import { REQUESTED_BY_LABEL, startedBy } from '../../causes';
import { describeExpectedDuration, expectedDuration } from '../../expected-duration';
import type { ArtifactStore } from '../../ports/artifact-store';
import type { Notifier } from '../../ports/notifier';
import type { PlanGate, Release } from '../../release-plan';

/** Successful plan runs kept, newest first: the start notification's expected duration reads the last ten. */
const MAX_PLAN_DURATIONS = 50;

/** `reports/plans/<plan>/durations.json`: how long each successful run of the plan took, newest first. */
const PlanDurations = z.object({ runs: z.array(z.object({ releaseId: z.string(), seconds: z.number(), finishedAt: z.string() })) });
type PlanDurations = z.output<typeof PlanDurations>;

export function planDurationsKey(plan: string): string {
  return `reports/plans/${plan}/durations.json`;
}

async function readDurations(store: ArtifactStore, plan: string): Promise<PlanDurations> {
  const object = await store.get(planDurationsKey(plan));
  if (!object) return { runs: [] };
  return PlanDurations.parse(JSON.parse(object.body.toString('utf8')));
}

/** RecordPlan of a plan that succeeded: its duration joins the history (once, whatever the retries). */
export async function recordPlanDuration(store: ArtifactStore, release: Release, finishedAt: Date): Promise<void> {
  const history = await readDurations(store, release.name);
  if (history.runs.some((run) => run.releaseId === release.id)) return;
  const seconds = Math.max(0, Math.round((finishedAt.getTime() - Date.parse(release.startedAt)) / 1000));
  const runs = [{ releaseId: release.id, seconds, finishedAt: finishedAt.toISOString() }, ...history.runs].slice(0, MAX_PLAN_DURATIONS);
  await store.put(planDurationsKey(release.name), `${JSON.stringify({ runs }, null, 2)}\n`, { contentType: 'application/json' });
}

/**
 * NotifyPlanStarted, right after the plan's lock: the stages in order with their versions and gates, who asked,
 * and how long the plan's last successful runs took. Sent to the plan stack's topics that receive `started`.
 */
export async function notifyPlanStarted(
  release: Release,
  notifications: NotificationSettings,
  deps: { readonly notifier: Notifier; readonly store: ArtifactStore },
): Promise<{ published: boolean }> {
  const recipients = recipientsOf(notifications, 'started');
  if (recipients.length === 0 && deps.notifier.needsRecipients) return { published: false };
  let expected: string;
  try {
    const history = await readDurations(deps.store, release.name);
    expected = describeExpectedDuration(expectedDuration(history.runs.map((run) => run.seconds)), 'plan run');
  } catch (error) {
    expected = `unknown (${planDurationsKey(release.name)} could not be read: ${error instanceof Error ? error.message : String(error)})`;
  }
  const { subject, message } = planStartMessage(release, expected);
  return { published: await deps.notifier.publish(recipients, subject, message, { event: 'started', target: release.name, plan: release.name }) };
}

export function planStartMessage(release: Release, expected: string): { subject: string; message: string } {
  const route = release.stages.map((stage) => `${stage.name} ${stage.version}`).join(' → ');
  const stages = release.stages.map((stage, index) => {
    const gates = stage.gates.length > 0 ? `; then ${stage.gates.map(gateWords).join(', ')}` : '';
    return `${index + 1}. ${stage.name}: ${stage.target} → ${stage.version}${stage.image ? ` (image ${stage.image})` : ''}${gates}`;
  });
  return {
    subject: `${release.name}: release plan starting (${route})`,
    message: [
      `The release plan ${release.name} has started: ${release.stages.length} stage${release.stages.length === 1 ? '' : 's'} in order, each by its own runbook. When a stage fails, the stages before it are rolled back too.`,
      '',
      ...stages,
      '',
      `Expected duration: ${expected}`,
      `Started at: ${release.startedAt}`,
      '',
      `${REQUESTED_BY_LABEL}: ${release.requestedBy ?? 'nobody named'}${release.reason ? ` (${release.reason})` : ''}`,
      `Started by: ${startedBy(release.executionId)}`,
      `Release: ${release.id}`,
      `Execution: ${release.executionId}`,
    ].join('\n'),
  };
}

function gateWords(gate: PlanGate): string {
  switch (gate.kind) {
    case 'soak':
      return `a soak of ${Math.round(gate.seconds / 60)} min`;
    case 'approval':
      return `an approval (answered within ${Math.round(gate.timeoutSeconds / 60)} min)`;
    case 'analysis':
      return `an analysis of ${gate.metrics ? gate.metrics.map((name) => `'${name}'`).join(', ') : 'every deciding metric'} against the release's baseline`;
    default:
      // A gate kind this wording does not know yet is still named.
      return `a ${(gate as { kind: string }).kind} gate`;
  }
}
