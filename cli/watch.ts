import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { isExecutionEnd } from '../adapters/aws/sfn-history';

/** GetExecutionHistory's largest page. */
const PAGE_SIZE = 1000;
/** Between two history reads while following; a Standard execution's states take seconds at least. */
export const POLL_MS = 2000;

/**
 * The events of one execution not seen yet, oldest first. It reads newest-first and stops at the first
 * event already seen, so a poll costs one call however long the history has grown.
 */
export class HistoryFeed {
  private lastId = 0;

  constructor(
    private readonly sfn: SFNClient,
    private readonly executionArn: string,
  ) {}

  async next(): Promise<HistoryEvent[]> {
    const fresh: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(
        new GetExecutionHistoryCommand({ executionArn: this.executionArn, reverseOrder: true, maxResults: PAGE_SIZE, includeExecutionData: true, nextToken }),
      );
      const events = page.events ?? [];
      const unseen = events.filter((event) => (event.id ?? 0) > this.lastId);
      fresh.push(...unseen);
      nextToken = unseen.length === events.length ? page.nextToken : undefined;
    } while (nextToken);
    fresh.reverse();
    this.lastId = fresh.at(-1)?.id ?? this.lastId;
    return fresh;
  }
}

export interface FollowOptions {
  /** Called with each batch of new events, oldest first. */
  readonly onEvents: (events: HistoryEvent[]) => void;
  readonly sleep: (ms: number) => Promise<void>;
  /** Keep polling until the execution ends; otherwise read what exists once. */
  readonly follow: boolean;
}

/** Reads (and, when following, keeps reading) the history, then describes the execution. */
export async function readExecution(sfn: SFNClient, executionArn: string, options: FollowOptions): Promise<DescribeExecutionCommandOutput> {
  const feed = new HistoryFeed(sfn, executionArn);
  for (;;) {
    const events = await feed.next();
    options.onEvents(events);
    if (!options.follow || events.some(isExecutionEnd)) break;
    await options.sleep(POLL_MS);
  }
  return sfn.send(new DescribeExecutionCommand({ executionArn }));
}
