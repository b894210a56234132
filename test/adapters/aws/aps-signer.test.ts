import { describe, expect, it } from 'vitest';
import { apsRegion, apsSigner } from '../../../adapters/aws/aps-signer';
import { testCredentials } from './deploy-fixtures';

const WORKSPACE = 'https://aps-workspaces.eu-central-1.amazonaws.com/workspaces/ws-1234abcd-5678-90ef';

describe('apsRegion', () => {
  it('reads the region of a workspace URL, else falls back to the function’s own', () => {
    expect(apsRegion(new URL(WORKSPACE), 'us-east-1')).toBe('eu-central-1');
    expect(apsRegion(new URL('https://prometheus.example.com'), 'us-east-1')).toBe('us-east-1');
    expect(() => apsRegion(new URL('https://prometheus.example.com'), '')).toThrow('no region for prometheus.example.com: set AWS_REGION');
  });
});

describe('apsSigner', () => {
  it('signs the query for service aps in the workspace’s region, keeping the headers it was given', async () => {
    const url = new URL(`${WORKSPACE}/api/v1/query`);
    url.searchParams.set('query', 'sum(rate(http_requests_total[5m]))');
    url.searchParams.set('time', '1741944600.000');

    const headers = await apsSigner(async () => testCredentials)({ url, headers: { accept: 'application/json' } });

    expect(headers.accept).toBe('application/json');
    expect(headers.host).toBe('aps-workspaces.eu-central-1.amazonaws.com');
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers.authorization).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${testCredentials.accessKeyId}/\\d{8}/eu-central-1/aps/aws4_request, SignedHeaders=accept;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$`),
    );
  });
});
