import { RunbookError } from '../core/errors';

/** A value cannot go into a shell command safely. */
export class UnsafeCommandValueError extends RunbookError {}

/** Characters a version or an image reference may bring into a shell command: none the shell interprets. */
const SHELL_SAFE = /^[A-Za-z0-9._+:/@-]*$/;

/**
 * Fills `{{version}}` and `{{image}}` in a configured shell command. The values come from the execution
 * input, so anything a shell would interpret is refused rather than quoted: the command stays as written.
 */
export function fillCommand(template: string, values: { version: string | null; image: string | null }): string {
  return template.replace(/\{\{\s*(version|image)\s*\}\}/g, (_match, name: 'version' | 'image') => {
    const value = values[name] ?? '';
    if (!SHELL_SAFE.test(value)) {
      throw new UnsafeCommandValueError(`{{${name}}} would put shell characters into "${template}" (got ${JSON.stringify(value)})`);
    }
    return value;
  });
}

/** `fillCommand` for a task: a refused value fails with `toError(message)`, the error the task's Catch routes on. */
export function commandFor(template: string, values: { version: string | null; image: string | null }, toError: (message: string) => Error): string {
  try {
    return fillCommand(template, values);
  } catch (error) {
    throw toError((error as Error).message);
  }
}
