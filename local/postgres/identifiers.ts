import { createHash } from 'node:crypto';

/** PostgreSQL truncates identifiers longer than this many bytes (NAMEDATALEN - 1), silently. */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * `base + suffix`, shortened to fit PostgreSQL's identifier limit. The suffix is always kept whole; when
 * the base must be cut, a hash of the full base is added so that two long names sharing a prefix stay apart.
 * Cuts fall between characters, never inside a multi-byte one.
 */
export function boundedIdentifier(base: string, suffix: string, maxBytes = MAX_IDENTIFIER_BYTES): string {
  if (Buffer.byteLength(base + suffix) <= maxBytes) return base + suffix;
  const hash = `_${createHash('sha256').update(base).digest('hex').slice(0, 8)}`;
  const budget = maxBytes - Buffer.byteLength(suffix) - hash.length;
  let cut = '';
  for (const char of base) {
    if (Buffer.byteLength(cut + char) > budget) break;
    cut += char;
  }
  return cut + hash + suffix;
}

/** `2025-03-04T05:06:07.890Z` → `20250304050607`: the timestamp in failed-copy and scratch names. */
export function compactTimestamp(iso: string): string {
  return new Date(iso).toISOString().slice(0, 19).replace(/[-T:]/g, '');
}

/** The inverse of compactTimestamp, to whole seconds. */
export function fromCompactTimestamp(compact: string): string {
  const [, y, mo, d, h, mi, s] = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(compact) ?? [];
  return new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.000Z`).toISOString();
}
