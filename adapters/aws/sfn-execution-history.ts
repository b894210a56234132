import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import { HistoryReader } from './sfn-history';
import type { ExecutionHistory, ExecutionHistoryRead } from '../../core/ports/execution-history';

/**
 * The IAM action behind each AWS call SfnExecutionHistory makes: written beside the call, granted from here by
 * lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const SFN_EXECUTION_HISTORY_IAM = {
  getExecutionHistory: 'states:GetExecutionHistory',
} as const;

/** GetExecutionHistory's largest page. */
const PAGE_SIZE = 1000;
/** Pages read at most: 10,000 events, far more than any execution of the runbook has (a polling loop adds ~6 a round). */
export const HISTORY_MAX_PAGES = 10;

/**
 * Reads an execution's history oldest first, page by page, without its data (no state's input or output: only
 * the states' names and what failed), and stops after `maxPages` pages: what it read is then the start of the path.
 */
export class SfnExecutionHistory implements ExecutionHistory {
  constructor(
    private readonly sfn: SFNClient,
    private readonly maxPages: number = HISTORY_MAX_PAGES,
  ) {}

  async read(executionId: string): Promise<ExecutionHistoryRead> {
    const history: HistoryEvent[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await this.sfn.send(new GetExecutionHistoryCommand({ executionArn: executionId, maxResults: PAGE_SIZE, includeExecutionData: false, nextToken }));
      history.push(...(page.events ?? []));
      nextToken = page.nextToken;
      pages += 1;
    } while (nextToken && pages < this.maxPages);
    return { events: new HistoryReader().read(history), complete: !nextToken };
  }
}
