#!/usr/bin/env node
// Steady traffic for the bake: without requests, the alarms have no data to judge (minRequests).
// Usage: node traffic.mjs <base-url> [--rps <n>] [--count <n>]   (runs until stopped without --count)
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { rps: { type: 'string', default: '20' }, count: { type: 'string' } },
});
const base = positionals[0];
const rps = Number(values.rps);
const count = values.count === undefined ? Number.POSITIVE_INFINITY : Number(values.count);
if (!base || !/^https?:\/\//.test(base) || !(rps > 0) || !(count >= 0)) {
  console.error(`traffic: usage: node traffic.mjs <base-url> [--rps <n>] [--count <n>] (got ${JSON.stringify(process.argv.slice(2))})`);
  process.exit(2);
}

const statuses = new Map();
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => (stopping = true));

for (let sent = 0; sent < count && !stopping; sent++) {
  const status = await fetch(new URL('/api/items', base), { signal: AbortSignal.timeout(5000) })
    .then(async (response) => {
      await response.arrayBuffer();
      return String(response.status);
    })
    .catch(() => 'unreachable');
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  await sleep(1000 / rps);
}
const total = [...statuses.values()].reduce((a, b) => a + b, 0);
console.log(`traffic: ${total} requests to ${base}/api/items: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(', ') || 'none'}`);
