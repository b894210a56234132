import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load';
import { placeProblems } from '../../config/kinds';
import { type Draft, fieldsOf, minimalDraft, problemsOf } from './fixtures';

/** A minimal configuration whose target is an ssm-hosts fleet, with `changes` to the target. */
function ssmHosts(changes: Record<string, unknown> = {}): Draft {
  return {
    ...minimalDraft(),
    target: {
      kind: 'ssm-hosts',
      tags: { app: 'shop-api' },
      deploy: 'cd /srv/shop && TAG={{version}} docker compose up -d --wait',
      rollback: 'cd /srv/shop && TAG={{version}} docker compose up -d --wait',
      current: 'cat /srv/shop/VERSION',
      ...changes,
    },
  };
}

function localHosts(changes: Record<string, unknown> = {}): Draft {
  return {
    ...minimalDraft(),
    target: {
      kind: 'hosts',
      command: ['node', 'examples/demo-app/server.mjs'],
      hosts: [
        { name: 'host-1', port: 47811 },
        { name: 'host-2', port: 47812 },
      ],
      ...changes,
    },
  };
}

describe('target.kind ssm-hosts', () => {
  it('fills the defaults: one host at a time, no failure tolerated, 10-minute commands, no ready check', () => {
    expect(parseConfig(ssmHosts()).target).toEqual({ ...ssmHosts().target, maxConcurrency: 1, maxErrors: 0, commandTimeoutSeconds: 600 });
  });

  it('accepts a percentage batch size and a ready check using {{version}}', () => {
    const target = parseConfig(ssmHosts({ maxConcurrency: '25%', maxErrors: 1, ready: 'curl -fsS localhost:3000/health | grep -q {{version}}' })).target;
    expect(target).toMatchObject({ maxConcurrency: '25%', maxErrors: 1 });
  });

  it('runs on AWS only', () => {
    const config = parseConfig(ssmHosts());
    expect(placeProblems(config, 'aws')).toEqual([]);
    expect(placeProblems(config, 'local')).toEqual([expect.stringMatching(/^target\.kind: 'ssm-hosts' \(EC2 instances by SSM Run Command\) runs only on AWS/)]);
  });

  it.each([
    ['deploy', 'docker pull {{image}} && ./deploy {{version}} {{secrets.TOKEN}}', '{{secrets.TOKEN}}'],
    ['rollback', './deploy {{image}}', '{{image}}'],
    ['current', 'cat /srv/{{version}}/VERSION', '{{version}}'],
    ['ready', 'curl {{url}}', '{{url}}'],
  ])('fails when the %s command uses a placeholder not filled in there, naming the field', (field, command, placeholder) => {
    const problems = problemsOf(ssmHosts({ [field]: command }));
    expect(fieldsOf(problems)).toEqual([`target.${field}`]);
    expect(problems[0]).toContain(`uses ${placeholder}, which is not filled in here`);
  });

  it.each([
    ['maxConcurrency', 0],
    ['maxConcurrency', '150%'],
    ['maxConcurrency', 'half'],
    ['maxErrors', -1],
    ['tags', {}],
    ['tags', { 'aws:cloudformation:stack-name': 'x' }],
    ['commandTimeoutSeconds', 5],
  ])('fails when %s is %j, naming the field', (field, value) => {
    expect(fieldsOf(problemsOf(ssmHosts({ [field]: value }))).every((name) => name.startsWith(`target.${field}`))).toBe(true);
  });
});

describe('target.kind hosts (rehearsal)', () => {
  it('runs in a rehearsal only', () => {
    const config = parseConfig(localHosts());
    expect(config.target).toMatchObject({ kind: 'hosts', readyPath: '/health', maxConcurrency: 1, maxErrors: 0 });
    expect(placeProblems(config, 'aws')).toEqual([expect.stringMatching(/^target\.kind: 'hosts' .* runs only in a local rehearsal/)]);
  });

  it('fails when the batch size is larger than the fleet, naming target.maxConcurrency', () => {
    expect(problemsOf(localHosts({ maxConcurrency: 3 }))).toEqual(['target.maxConcurrency: is larger than the fleet: 2 host(s) in target.hosts (got 3)']);
  });

  it('fails when two hosts share a name or a port', () => {
    const problems = problemsOf(localHosts({ hosts: [{ name: 'a1', port: 1000 }, { name: 'a1', port: 1000 }] }));
    expect(fieldsOf(problems)).toEqual(['target.hosts[1].name', 'target.hosts[1].port']);
  });
});
