import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { DEFINITION_PATH, PLAN_DEFINITION_PATH } from './definition';
import { releasePlanDefinition } from './release-plan';
import { runbookDefinition } from './runbook';

/** The committed definition's text: what `npm run build:asl` writes and the test compares. */
export function renderDefinition(): string {
  return `${JSON.stringify(runbookDefinition(), null, 2)}\n`;
}

/** The release plan's definition text: `npm run build:asl` writes it beside the runbook's. */
export function renderPlanDefinition(): string {
  return `${JSON.stringify(releasePlanDefinition(), null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [path, text] of [
    [DEFINITION_PATH, renderDefinition()],
    [PLAN_DEFINITION_PATH, renderPlanDefinition()],
  ] as const) {
    let before = '';
    try {
      before = readFileSync(path, 'utf8');
    } catch {
      // Not generated yet.
    }
    if (before !== text) writeFileSync(path, text);
    console.log(`${path}: ${before !== text ? 'written' : 'unchanged'}`);
  }
}
