import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { DEFINITION_PATH } from './definition';
import { runbookDefinition } from './runbook';

/** The committed definition's text: what `npm run build:asl` writes and the test compares. */
export function renderDefinition(): string {
  return `${JSON.stringify(runbookDefinition(), null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = renderDefinition();
  const changed = readFileSync(DEFINITION_PATH, 'utf8') !== text;
  if (changed) writeFileSync(DEFINITION_PATH, text);
  console.log(`${DEFINITION_PATH}: ${changed ? 'written' : 'unchanged'}`);
}
