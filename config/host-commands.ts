/**
 * The shell commands of a hosts target and the `{{…}}` placeholders each may use. A placeholder is filled with a
 * value that passed a strict pattern (the execution input's version or image, or the version Preflight read on the
 * hosts): anything else between double braces would reach the shell unchecked, so validation refuses it.
 */
export const HOST_COMMAND_PLACEHOLDERS = {
  /** Installs the new release. */
  deploy: ['version', 'image'],
  /** Reinstalls the release Preflight found running: its image is not known, only its version. */
  rollback: ['version'],
  /** Prints the running version as its last line of output. */
  current: [],
  /** Exits 0 when the host serves the release just installed. */
  ready: ['version'],
} as const satisfies Record<string, readonly ('version' | 'image')[]>;

export type HostCommand = keyof typeof HOST_COMMAND_PLACEHOLDERS;

/** Every `{{ name }}` in a command. */
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Why `text`, the `field` command, cannot be run on a host; null when every placeholder it uses is allowed there. */
export function placeholderProblem(field: HostCommand, text: string): string | null {
  const allowed: readonly string[] = HOST_COMMAND_PLACEHOLDERS[field];
  const refused = [...text.matchAll(PLACEHOLDER)].map((match) => match[1]).filter((name) => !allowed.includes(name));
  if (refused.length === 0) return null;
  const may = allowed.length === 0 ? 'no placeholder' : allowed.map((name) => `{{${name}}}`).join(' and ');
  return `uses ${refused.map((name) => `{{${name}}}`).join(', ')}, which is not filled in here: the ${field} command may use ${may} (a placeholder is replaced by a value checked against a strict pattern; anything else would reach the shell unchecked)`;
}

/** Whether a command uses `{{image}}`: a deploy that does needs an image in the execution input. */
export function usesImage(text: string): boolean {
  return [...text.matchAll(PLACEHOLDER)].some((match) => match[1] === 'image');
}
