import { describe, expect, it } from 'vitest';
import { configSubstitutions, loadDefinition, substitute } from '../../statemachines/definition';
import { config, exampleInput, synth } from './fixtures';

const DEFINITION = '<statemachines/deployment.asl.json with the configuration substituted>';

/**
 * Asset hashes change with every handler edit and the definition with every ASL edit (it has its own
 * tests): neither says anything about the infrastructure this snapshot guards.
 */
function withoutAssetsAndDefinition(template: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(template, (key, value: unknown) => {
      if (key === 'S3Key' && typeof value === 'string') return '<asset>.zip';
      if (key === 'DefinitionString' && typeof value === 'string') return DEFINITION;
      return value;
    }),
  );
}

describe('template snapshot', () => {
  const { template } = synth({ config: exampleInput });

  it('holds exactly the substituted definition where the snapshot shows a marker', () => {
    const definitions = Object.values(template.findResources('AWS::StepFunctions::StateMachine')).map((r) => r.Properties.DefinitionString);
    expect(definitions).toEqual([JSON.stringify(substitute(loadDefinition(), configSubstitutions(config(exampleInput))))]);
  });

  it('matches the reviewed template of the example configuration', () => {
    expect(withoutAssetsAndDefinition(template.toJSON())).toMatchSnapshot();
  });
});
