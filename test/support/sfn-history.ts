import type { HistoryEvent } from '@aws-sdk/client-sfn';

/**
 * Step Functions history events as GetExecutionHistory returns them without execution data: states entered
 * and exited by name, Lambda attempts, one second apart from 10:00.
 */
export class SfnHistoryBuilder {
  readonly events: HistoryEvent[] = [];

  private push(type: string, details: Partial<HistoryEvent> = {}): this {
    const id = this.events.length + 1;
    this.events.push({ id, previousEventId: id - 1, type: type as HistoryEvent['type'], timestamp: new Date(Date.parse('2025-03-04T10:00:00.000Z') + id * 1000), ...details });
    return this;
  }

  started(): this {
    return this.push('ExecutionStarted', { executionStartedEventDetails: { roleArn: 'arn:aws:iam::123456789012:role/runbook' } });
  }

  entered(type: string, name: string): this {
    return this.push(`${type}StateEntered`, { stateEnteredEventDetails: { name } });
  }

  exited(type: string, name: string): this {
    return this.push(`${type}StateExited`, { stateExitedEventDetails: { name } });
  }

  /** A Task state invoking its function once, successfully. */
  task(name: string): this {
    return this.entered('Task', name).push('LambdaFunctionScheduled').push('LambdaFunctionSucceeded').exited('Task', name);
  }

  /** A Task whose function fails with `error`, which its Catch takes. */
  caught(name: string, error: string): this {
    return this.entered('Task', name)
      .push('LambdaFunctionScheduled')
      .push('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error, cause: 'password=hunter2 in a cause' } })
      .exited('Task', name);
  }

  /** A Task whose function was invoked and has not answered yet: the ledger recording the outcome. */
  running(name: string): this {
    return this.entered('Task', name).push('LambdaFunctionScheduled').push('LambdaFunctionStarted');
  }

  pass(type: string, name: string): this {
    return this.entered(type, name).exited(type, name);
  }
}
