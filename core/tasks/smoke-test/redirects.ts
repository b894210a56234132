import { type Reason, reason } from './reason';

/** Redirects followed within the check's origin before the request fails. */
const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Headers that describe a body: dropped with the body when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location'];

/** A redirect the check does not follow; `why` is the check's failure reason. */
export class RedirectRefusedError extends Error {
  constructor(readonly why: Reason) {
    super('redirect not followed');
    this.name = 'RedirectRefusedError';
  }
}

/**
 * Sends the request and follows redirects only within the origin it was sent to, with the check's headers;
 * a redirect to another origin fails instead, so a token or an API key written for one host never reaches
 * another (fetch's own `redirect: 'follow'` would carry custom headers along).
 */
export async function fetchWithinOrigin(fetcher: typeof fetch, url: string, init: RequestInit & { headers: Headers }): Promise<Response> {
  const origin = new URL(url).origin;
  let target = url;
  let request = init;
  for (let redirects = 0; ; redirects += 1) {
    const response = await fetcher(target, { ...request, redirect: 'manual' });
    const location = response.headers.get('location');
    if (!REDIRECT_STATUSES.has(response.status) || location === null) return response;
    // The redirect's own body is never read: release the connection.
    await response.body?.cancel();
    const next = new URL(location, target);
    if (next.origin !== origin) {
      throw new RedirectRefusedError(reason`redirected to ${next.origin}, another origin: not followed, so that the check's headers stay with ${origin}`);
    }
    if (redirects === MAX_REDIRECTS) throw new RedirectRefusedError(reason`more than ${MAX_REDIRECTS} redirects, the last to ${next.pathname}`);
    request = redirected(request, response.status);
    target = next.href;
  }
}

/** As browsers do: 303, and 301/302 after a POST, repeat the request as a GET without its body; 307/308 repeat it as it was. */
function redirected(request: RequestInit & { headers: Headers }, status: number): RequestInit & { headers: Headers } {
  const method = (request.method ?? 'GET').toUpperCase();
  const asGet = (status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST');
  if (!asGet) return request;
  const headers = new Headers(request.headers);
  for (const name of BODY_HEADERS) headers.delete(name);
  return { ...request, method: 'GET', body: undefined, headers };
}
