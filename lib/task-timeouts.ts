import { Duration } from 'aws-cdk-lib';
import { FUNCTION_PLACEHOLDERS, type FunctionPlaceholder, type Json } from '../statemachines/definition';

const PLACEHOLDER = /^\$\{([A-Za-z][A-Za-z0-9]*)\}$/;

/**
 * The longest `TimeoutSeconds` among the Task states that call each function, read from the definition so
 * the Lambda timeouts cannot drift from it. A function no Task with a fixed timeout calls is absent.
 */
export function stateTimeouts(definition: Json): Map<FunctionPlaceholder, Duration> {
  const longest = new Map<FunctionPlaceholder, number>();
  for (const state of taskStates(definition)) {
    const placeholder = calledPlaceholder(state);
    if (placeholder === undefined || typeof state.TimeoutSeconds !== 'number') continue;
    longest.set(placeholder, Math.max(longest.get(placeholder) ?? 0, state.TimeoutSeconds));
  }
  return new Map([...longest].map(([placeholder, seconds]) => [placeholder, Duration.seconds(seconds)]));
}

type StateMachineJson = { States?: Record<string, Record<string, Json>> };

/** Every Task state, including those inside Parallel branches and Map processors (never a Parameters value). */
function taskStates(machine: Json): Record<string, Json>[] {
  const states = Object.values((machine as StateMachineJson).States ?? {});
  return states.flatMap((state) => {
    const nested = [state.Iterator, state.ItemProcessor, ...(Array.isArray(state.Branches) ? state.Branches : [])];
    return [...(state.Type === 'Task' ? [state] : []), ...nested.filter((m) => m && typeof m === 'object').flatMap(taskStates)];
  });
}

/** `${DeployTargetFunctionArn}` as the Resource, or as the FunctionName of a `lambda:invoke` integration. */
function calledPlaceholder(state: Record<string, Json>): FunctionPlaceholder | undefined {
  const parameters = state.Parameters;
  const functionName = parameters && typeof parameters === 'object' && !Array.isArray(parameters) ? parameters.FunctionName : undefined;
  for (const candidate of [state.Resource, functionName]) {
    const name = typeof candidate === 'string' ? PLACEHOLDER.exec(candidate)?.[1] : undefined;
    const placeholder = FUNCTION_PLACEHOLDERS.find((p) => p === name);
    if (placeholder) return placeholder;
  }
  return undefined;
}
