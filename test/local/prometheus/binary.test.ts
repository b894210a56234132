import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPrometheus, PrometheusNotFoundError } from '../../../local/prometheus/binary';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'find-prometheus-'));
  await writeFile(join(dir, 'prometheus-fake'), '#!/bin/sh\n');
  await chmod(join(dir, 'prometheus-fake'), 0o755);
  await writeFile(join(dir, 'not-executable'), '');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('findPrometheus', () => {
  it('finds the installed Prometheus (the Debian package, which npm test installs first)', () => {
    expect(findPrometheus()).toMatch(/\/prometheus$/);
  });

  it('looks a program name up on the given PATH', () => {
    expect(findPrometheus({ program: 'prometheus-fake', path: `/nonexistent:${dir}` })).toBe(join(dir, 'prometheus-fake'));
  });

  it('falls back to /usr/bin when PATH lacks it', () => {
    expect(findPrometheus({ program: 'prometheus', path: dir })).toBe('/usr/bin/prometheus');
  });

  it('takes a path as it is', () => {
    expect(findPrometheus({ program: join(dir, 'prometheus-fake') })).toBe(join(dir, 'prometheus-fake'));
  });

  it('fails when the program is missing, naming where it looked and what to install', () => {
    const missing = () => findPrometheus({ program: 'prometheus-missing', path: dir });

    expect(missing).toThrow(PrometheusNotFoundError);
    expect(missing).toThrow(`no Prometheus server program 'prometheus-missing' found; tried ${join(dir, 'prometheus-missing')}, /usr/bin/prometheus-missing`);
    expect(missing).toThrow('apt-get install prometheus');
    expect(missing).toThrow('PROMETHEUS_BIN');
  });

  it('fails when the path is not an executable file', () => {
    expect(() => findPrometheus({ program: join(dir, 'not-executable') })).toThrow(PrometheusNotFoundError);
    expect(() => findPrometheus({ program: dir })).toThrow(PrometheusNotFoundError);
  });
});
