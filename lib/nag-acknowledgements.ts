import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** A resource pattern containing `*`, and why it cannot be narrower. */
export interface WildcardResource {
  /** The ARN pattern as it appears in the policy (tokens allowed). */
  readonly resource: string;
  /** A specific justification, recorded with the acknowledgement. */
  readonly reason: string;
}

/**
 * Acknowledges cdk-nag's `AwsSolutions-IAM5[Resource::…]` finding for each wildcard resource of the policies
 * under `scope`. Several statements may share one pattern (e.g. `*`): their reasons are joined, so the
 * acknowledgement names every action it covers.
 */
export function acknowledgeWildcardResources(scope: IConstruct, wildcards: readonly WildcardResource[]): void {
  const reasons = new Map<string, Set<string>>();
  for (const { resource, reason } of wildcards) {
    const id = `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(resource))}]`;
    reasons.set(id, (reasons.get(id) ?? new Set()).add(reason));
  }
  for (const [id, why] of reasons) Validations.of(scope).acknowledge({ id, reason: [...why].join('; ') });
}

/**
 * The finding id cdk-nag derives from a resolved resource: `Fn::Join` joined, `Ref` → `<Name>`, `Fn::GetAtt` →
 * `<Id.Attr>`, and a `${…}` inside a string (an IAM variable such as `${*}`) → `<…>`.
 */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{([^}]*)\}/g, '<$1>');
  const node = value as Record<string, unknown>;
  if (Array.isArray(node['Fn::Join'])) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(separator);
  }
  if (typeof node.Ref === 'string') return `<${node.Ref}>`;
  if (Array.isArray(node['Fn::GetAtt'])) return `<${(node['Fn::GetAtt'] as string[]).join('.')}>`;
  return JSON.stringify(value);
}
