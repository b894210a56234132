import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256, type RequestSigner } from '../prometheus-query';

/** What signing a query to Amazon Managed Service for Prometheus needs: the workspace's query action. */
export const APS_IAM = { query: 'aps:QueryMetrics' } as const;

/** The region of an `aps-workspaces.<region>.amazonaws.com` URL, else the function's own. */
export function apsRegion(url: URL, fallback = process.env.AWS_REGION): string {
  const match = /^aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname);
  const region = match?.[1] ?? fallback;
  if (!region) throw new Error(`no region for ${url.hostname}: set AWS_REGION`);
  return region;
}

/** Signs Prometheus queries with the function's credentials (SigV4, service `aps`). */
export function apsSigner(credentials = defaultProvider()): RequestSigner {
  return async ({ url, headers }) => {
    const signer = new SignatureV4({ service: 'aps', region: apsRegion(url), credentials, sha256: NodeSha256 });
    const signed = await signer.sign({
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...headers, host: url.host },
    });
    return signed.headers as Record<string, string>;
  };
}
