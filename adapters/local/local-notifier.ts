import type { ArtifactStore } from '../../core/ports/artifact-store';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { Recipient } from '../../config/notification-topics';
import type { Notifier } from '../../core/ports/notifier';
import { PreconditionFailedError, RunbookError } from '../../core/errors';

/** Appends under contention before giving up; rehearsal notifications rarely race. */
const APPEND_ATTEMPTS = 10;

/** A notification could not be addressed or appended. */
export class LocalNotificationError extends RunbookError {}

/**
 * The rehearsal's notifier: appends each message to `notifications/<target>.log` in the artifact store
 * and hands every line to `print` (the CLI shows them). It writes every message, whether or not a topic would
 * receive it on AWS, naming the audiences that would (`[started → support, all]`).
 */
export class LocalNotifier implements Notifier {
  readonly needsRecipients = false;

  constructor(
    private readonly store: ArtifactStore,
    private readonly print?: (line: string) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  async publish(recipients: readonly Recipient[], subject: string, message: string, attributes: Record<string, string>): Promise<boolean> {
    const target = attributes.target;
    if (!target) {
      throw new LocalNotificationError(`a notification needs a "target" attribute to pick its log (got attributes ${JSON.stringify(Object.keys(attributes))})`);
    }
    const audiences = recipients.length > 0 ? ` → ${recipients.map((recipient) => recipient.audience).join(', ')}` : '';
    const lines = [`${this.clock.now().toISOString()} [${attributes.event ?? 'notification'}${audiences}] ${subject}`, ...message.split('\n').map((line) => `  ${line}`)];
    await this.append(`notifications/${target}.log`, `${lines.join('\n')}\n\n`);
    for (const line of lines) this.print?.(line);
    return true;
  }

  /** Read, append, write back with a condition: two rehearsals sharing a store never drop a message. */
  private async append(key: string, text: string): Promise<void> {
    for (let attempt = 1; attempt <= APPEND_ATTEMPTS; attempt++) {
      const existing = await this.store.get(key);
      const body = Buffer.concat([existing?.body ?? Buffer.alloc(0), Buffer.from(text, 'utf8')]);
      try {
        await this.store.put(key, body, { ...(existing ? { ifMatch: existing.etag } : { ifNoneMatch: '*' as const }), contentType: 'text/plain; charset=utf-8' });
        return;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
    throw new LocalNotificationError(`could not append to ${key}: it changed under each of ${APPEND_ATTEMPTS} attempts`);
  }
}
