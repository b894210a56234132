import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { SERVICE_NAME } from '../core/service-name';
import { acknowledgeWildcardResources } from './nag-acknowledgements';
import type { RunbookNetwork } from './network';
import type { TaskGrant } from './task-permissions';

/** The repository root: `lambdas/`, `package-lock.json` and `tsconfig.json` live there. */
export const PROJECT_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** The Lambda runtime of every task function; the bundle targets the same Node.js major. */
export const RUNBOOK_RUNTIME = Runtime.NODEJS_24_X;

/** Left between the Lambda timeout and the Task's, so the function's own timeout error is what reaches Catch. */
export const TIMEOUT_MARGIN = Duration.seconds(5);


// ESM output still meets CommonJS dependencies that call require(): give them one.
const REQUIRE_BANNER = "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

/** How every task function is bundled (`npm run bench` bundles the handlers with the same settings). */
export const FUNCTION_BUNDLING = {
  minify: true,
  // The runtime reports error.name as the errorType that Retry/Catch match: minified class names must survive.
  keepNames: true,
  sourceMap: true,
  sourcesContent: false,
  format: OutputFormat.ESM,
  banner: REQUIRE_BANNER,
  mainFields: ['module', 'main'],
  target: RUNBOOK_RUNTIME.name.replace(/^nodejs(\d+)\.x$/, 'node$1'),
  // Bundle the SDK clients instead of using the runtime's copy: the version tested is the version run.
  bundleAwsSDK: true,
} as const satisfies BundlingOptions;

export interface RunbookFunctionProps {
  /** Folder under `lambdas/` whose `handler.ts` exports `handler`, e.g. `deploy-target`. */
  readonly folder: string;
  /** The longest `TimeoutSeconds` of the Task states that call the function; its timeout stays 5 s under it. */
  readonly stateTimeout: Duration;
  /** The runbook's artifact bucket, passed as `RUNBOOK_BUCKET`. */
  readonly bucket: IBucket;
  /** Exactly what the function may do; wildcard resources are acknowledged for cdk-nag with their reasons. */
  readonly grants: readonly TaskGrant[];
  /** Retention of the function's log group. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** More environment variables. @default none */
  readonly environment?: Readonly<Record<string, string>>;
  /** Subnets and security groups to run in; the role gets the network-interface grants that takes. @default outside any VPC */
  readonly network?: RunbookNetwork;
}

/**
 * A runbook task function with the project's defaults fixed once: Node.js 24 on ARM64, X-Ray active, its own
 * log group, 256 MB, an ESM bundle with source maps that carries the SDK clients its handler imports, and a
 * role holding only the task's grants plus writing to its log group.
 */
export class RunbookFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: RunbookFunctionProps) {
    // Created beside the function: they must exist before super() is called.
    const logGroup = new LogGroup(scope, `${id}LogGroup`, { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `deploy-runbook ${props.folder} task`,
    });
    super(scope, id, {
      description: `deploy-runbook ${props.folder} task`,
      entry: join(PROJECT_ROOT, 'lambdas', props.folder, 'handler.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: RUNBOOK_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: props.stateTimeout.minus(TIMEOUT_MARGIN),
      tracing: Tracing.ACTIVE,
      logGroup,
      role,
      environment: {
        RUNBOOK_BUCKET: props.bucket.bucketName,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: FUNCTION_BUNDLING,
      ...(props.network && { vpc: props.network.vpc, vpcSubnets: props.network.vpcSubnets, securityGroups: [...props.network.securityGroups] }),
    });
    const grants = [...props.grants, ...(props.network?.lambdaGrants ?? [])];
    logGroup.grants.write(role);
    for (const grant of grants) {
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: [...grant.actions], resources: [...grant.resources], conditions: grant.conditions && { ...grant.conditions } }),
      );
    }
    acknowledgeWildcardResources(role, [
      { resource: '*', reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions' },
      // A wildcard without a reason stays unacknowledged, so cdk-nag reports it.
      ...grants.flatMap(({ resources, wildcardReason: reason }) =>
        reason ? resources.filter((resource) => resource.includes('*')).map((resource) => ({ resource, reason })) : [],
      ),
    ]);
  }
}
