/** `76ms`, `41.2s`, `6m02s`, `1h05m`: short enough for a progress line, precise where it matters. */
export function formatDuration(ms: number): string {
  const safe = Math.max(0, ms);
  // A smoke test or a lock takes tens of milliseconds: "0.0s" would read as "did nothing".
  if (safe < 1000) return `${Math.round(safe)}ms`;
  if (safe < 60_000) return `${(Math.floor(safe / 100) / 10).toFixed(1)}s`;
  const totalSeconds = Math.floor(safe / 1000);
  if (safe < 3_600_000) return `${Math.floor(totalSeconds / 60)}m${String(totalSeconds % 60).padStart(2, '0')}s`;
  const totalMinutes = Math.floor(totalSeconds / 60);
  return `${Math.floor(totalMinutes / 60)}h${String(totalMinutes % 60).padStart(2, '0')}m`;
}
