/** Characters of a command's output a report keeps per host: the end, where errors are. */
export const OUTPUT_EXCERPT_CHARS = 400;

/** `NAME=value` or `NAME: value` where the name says it holds a credential. */
const NAMED_SECRET = /\b([A-Za-z0-9_.-]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)[A-Za-z0-9_.-]*)(["']?\s*[=:]\s*["']?)[^\s"',;]+/gi;
/** `Authorization: Bearer …`, `Basic …`. */
const AUTHORIZATION = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g;
/** `scheme://user:password@host`. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi;
/** AWS access key ids. */
const ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;

/**
 * A host's command output as a report may show it: credentials a deploy script prints by accident masked
 * (named ones, bearer tokens, URL passwords, AWS key ids), then the last `limit` characters. The runbook
 * knows no secret of the hosts, so it masks what looks like one.
 */
export function outputExcerpt(text: string, limit = OUTPUT_EXCERPT_CHARS): string {
  const masked = text
    .replace(URL_PASSWORD, '$1***@')
    .replace(NAMED_SECRET, '$1$2***')
    .replace(AUTHORIZATION, '$1 ***')
    .replace(ACCESS_KEY_ID, '***')
    .trim();
  return masked.length <= limit ? masked : `…${masked.slice(masked.length - limit)}`;
}
