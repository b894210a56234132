import { RunbookError } from '../core/errors';

/** A `DeployRunbook` prop contradicts the configuration (e.g. alarm rollback with no alarm to watch). */
export class InvalidRunbookPropsError extends RunbookError {}

/** The state machine definition does not give a function what the construct needs (a Task `TimeoutSeconds`). */
export class DefinitionMismatchError extends RunbookError {}
