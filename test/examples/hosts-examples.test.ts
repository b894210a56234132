import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fillCommand } from '../../adapters/command-template';
import { placeProblems } from '../../config/kinds';
import { parseConfig } from '../../config/load';

const DIR = resolve(import.meta.dirname, '../../examples/hosts');
const EXAMPLES = readdirSync(DIR).filter((file) => file.endsWith('.json'));

describe('examples/hosts: docker compose, PM2 and systemd on EC2 by SSM', () => {
  it('has the three the README names', () => {
    expect(EXAMPLES.sort()).toEqual(['docker-compose.json', 'pm2.json', 'systemd.json']);
  });

  it.each(EXAMPLES)('%s is a valid configuration that runs on AWS, each command filled without a placeholder left', (file) => {
    const config = parseConfig(JSON.parse(readFileSync(join(DIR, file), 'utf8')), file);
    expect(placeProblems(config, 'aws')).toEqual([]);
    if (config.target.kind !== 'ssm-hosts') throw new Error(`${file} is not an ssm-hosts target`);
    expect(Object.keys(config.target.tags).length).toBeGreaterThan(0);
    for (const command of [config.target.deploy, config.target.rollback, config.target.current, config.target.ready ?? '']) {
      expect(fillCommand(command, { version: 'v1.5.0', image: 'registry.example.com/shop-api:v1.5.0' })).not.toMatch(/\{\{|\}\}/);
    }
  });
});
