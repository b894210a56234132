/**
 * Text that came from outside (an execution's input, a cause quoting it, a message an AWS service returned,
 * a name read back from execution state) is shown, in the CLI or a report, never obeyed: ESC starts terminal
 * escape sequences (colours, window titles, OSC 52 clipboard writes, OSC 8 links), CR and backspace overwrite
 * what was printed, and bidirectional controls reorder what a reader sees. Each becomes a visible escape such as `\x1b` or `\u202e`.
 */

/** C0 and C1 controls, DEL, and the Unicode bidirectional marks, embeddings, overrides and isolates. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function visible(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One line of terminal output: every control character, line breaks included, written as an escape. */
export function terminalText(text: string): string {
  return text.replace(CONTROL, visible);
}

/** A message of several lines (a configuration error lists one problem per line): line breaks stay. */
export function terminalLines(text: string): string {
  return text.replace(CONTROL_EXCEPT_NEWLINE, visible);
}

/**
 * Inline code in a GitHub Markdown table cell: no markup, link or HTML inside a code span is rendered.
 * Backticks would close the span and `|` the cell; line breaks would end the table row.
 */
export function markdownCode(text: string): string {
  return `\`${terminalText(text).replaceAll('`', "'").replaceAll('|', '\\|')}\``;
}

/** JSON for a terminal or a log: JSON.stringify leaves DEL, C1 and bidirectional controls raw; `\u` escapes keep it valid JSON. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value).replace(CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
