"""moto on 127.0.0.1 for the emulated-AWS test tier.

The tier deploys the synthesized template into moto's CloudFormation and runs the synthesized definition in
moto's own Step Functions interpreter, every Lambda invocation served by the function's bundle from cdk.out.
Each patch below bridges one gap of moto 5.2 met on that path. They live here, in the test tier, and never in
product code; each says what AWS does that moto does not.

Environment:
  MOTO_PORT             the port (the interpreter calls Lambda on it too)
  FUNCTION_HOST_URL     where Lambda invocations go (test/emulated-aws/function-host.ts)
  TIER_CONTROL_FILE     JSON written by the tests: credentials of the state machine role, faults, ECS behaviour
  TIER_REQUEST_LOG      JSON lines appended here: every authorised or denied request of an authenticated caller
  TIER_HOST_LOG         JSON lines appended here: every command SSM Run Command ran on a fake host, and how it ended
  TIER_TIME_SCALE       Wait states, Retry intervals and the execution timeout last this fraction of their seconds
                        (activity task timeouts: the control file's activityTimeScale, default 1)
"""

from __future__ import annotations

import copy
import datetime
import fnmatch
import json
import os
import pathlib
import threading
import time
import urllib.parse
import urllib.request
from typing import Any

from moto.core.config import default_user_config

default_user_config["stepfunctions"]["execute_state_machine"] = True

from moto import settings  # noqa: E402
from moto.core.authorization import ActionAuthenticatorMixin  # noqa: E402
from moto.core.exceptions import ServiceException  # noqa: E402
from moto.core.responses import ActionResult, BaseResponse  # noqa: E402
from werkzeug.exceptions import HTTPException  # noqa: E402

TIME_SCALE = float(os.environ.get("TIER_TIME_SCALE", "0.001"))
FUNCTION_HOST_URL = os.environ["FUNCTION_HOST_URL"]
CONTROL_FILE = os.environ["TIER_CONTROL_FILE"]
REQUEST_LOG = os.environ["TIER_REQUEST_LOG"]
HOST_LOG = os.environ.get("TIER_HOST_LOG", os.devnull)


# --------------------------------------------------------------------------------------------------------------
# The control file: read again whenever the tests rewrite it.
# --------------------------------------------------------------------------------------------------------------
class Control:
    _lock = threading.Lock()
    _mtime = -1.0
    _data: dict[str, Any] = {}

    @classmethod
    def get(cls) -> dict[str, Any]:
        with cls._lock:
            try:
                mtime = os.stat(CONTROL_FILE).st_mtime_ns
            except FileNotFoundError:
                return {}
            if mtime != cls._mtime:
                with open(CONTROL_FILE, encoding="utf-8") as f:
                    text = f.read()
                cls._data = json.loads(text) if text.strip() else {}
                cls._mtime = mtime
            return cls._data

    @classmethod
    def take_fault(cls, service: str, action: str) -> dict[str, Any] | None:
        """A fault planned for this call: the file says how many matching calls pass first and how many then fail."""
        data = cls.get()
        for index, fault in enumerate(data.get("faults", [])):
            if fault["service"] == service and fault["action"] == action:
                key = (cls._mtime, index)
                seen = _fault_use.get(key, 0)
                _fault_use[key] = seen + 1
                skip = fault.get("skip", 0)
                if skip <= seen < skip + fault.get("count", 1):
                    return fault
        return None


_fault_use: dict[tuple[float, int], int] = {}
_log_lock = threading.Lock()


def log_request(entry: dict[str, Any]) -> None:
    with _log_lock, open(REQUEST_LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, default=str) + "\n")


# --------------------------------------------------------------------------------------------------------------
# Step Functions
# --------------------------------------------------------------------------------------------------------------
import moto.stepfunctions.models as sfn_models  # noqa: E402
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction  # noqa: E402
from moto.stepfunctions.parser.models import StepFunctionsParserBackend, stepfunctions_parser_backends  # noqa: E402

# AWS: one Step Functions. moto: CloudFormation creates state machines in a backend the interpreter never reads.
sfn_models.stepfunctions_backends = stepfunctions_parser_backends


def _create_state_machine_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    """AWS fills DefinitionSubstitutions into the definition; moto ignores them."""
    properties = cloudformation_json["Properties"]
    definition = properties.get("DefinitionString", "")
    for name, value in (properties.get("DefinitionSubstitutions") or {}).items():
        definition = definition.replace("${" + name + "}", str(value))
    backend = stepfunctions_parser_backends[account_id][region_name]
    return backend.create_state_machine(
        properties.get("StateMachineName", resource_name),
        definition,
        properties.get("RoleArn", ""),
        tags=sfn_models.cfn_to_api_tags(properties.get("Tags", [])),
    )


sfn_models.StateMachine.create_from_cloudformation_json = classmethod(_create_state_machine_from_cfn)

_original_start_execution = StepFunctionsParserBackend.start_execution


def _start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
    """moto deep-copies the state machine, whose past and running executions hold locks that cannot be copied.
    A shallow copy without them freezes what an execution needs: the definition, a string.
    A start without a name (EventBridge Scheduler's, for one) gets a UUID as on AWS; moto named it "None"."""
    name = name or str(uuid.uuid4())
    machine = self.describe_state_machine(state_machine_arn)
    original_deepcopy = copy.deepcopy

    def copy_without_executions(value, memo=None):
        if value is machine:
            clone = copy.copy(value)
            clone.executions = []
            return clone
        return original_deepcopy(value, memo)

    with _deepcopy_lock:
        copy.deepcopy = copy_without_executions
        try:
            return _original_start_execution(self, state_machine_arn, name, execution_input, trace_header)
        finally:
            copy.deepcopy = original_deepcopy


_deepcopy_lock = threading.Lock()


StepFunctionsParserBackend.start_execution = _start_execution

from moto.stepfunctions.parser.backend.execution import Execution as ParserExecution  # noqa: E402

_original_start_details = ParserExecution.get_start_execution_details


def _start_details(self):
    """AWS's `$$.Execution.StartTime` is an ISO 8601 string; moto passes a datetime, which then breaks
    DescribeExecution of any execution whose output carries it."""
    details = _original_start_details(self)
    details.start_time = self.start_date.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return details


ParserExecution.get_start_execution_details = _start_details


# Activities. AWS: a Task whose Resource is an activity ARN waits until a worker takes its task with
# GetActivityTask (the only place the task token appears) and answers it with SendTaskSuccess/SendTaskFailure.
# moto 5.2: CloudFormation cannot create AWS::StepFunctions::Activity, activities live in a store the
# interpreter never reads (each execution gets an empty one, so the Task fails with "The activity activity_arn
# does not exist"), and there is no GetActivityTask. The runbook's restore approval waits on an activity.
from moto.core.common_models import CloudFormationModel  # noqa: E402
from moto.stepfunctions.parser.asl.eval.callback.callback import ActivityCallbackEndpoint  # noqa: E402
from moto.stepfunctions.parser.backend.activity import Activity as ParserActivity  # noqa: E402
from moto.stepfunctions.responses import StepFunctionResponse  # noqa: E402

_activity_stores: dict[tuple[str, str], dict[str, ParserActivity]] = {}
# AWS's GetActivityTask holds a poll open for up to a minute.
ACTIVITY_POLL_SECONDS = 60


def _activity_store(account_id: str, region_name: str) -> dict[str, ParserActivity]:
    return _activity_stores.setdefault((account_id, region_name), {})


_original_create_activity = sfn_models.StepFunctionBackend.create_activity


def _create_activity(self, name, tags=None, encryption_configuration=None):
    """Registers the activity where the interpreter looks for it, with an empty queue (a new stack, a new queue)."""
    activity = _original_create_activity(self, name, tags, encryption_configuration)
    _activity_store(self.account_id, self.region_name)[activity.arn] = ParserActivity(arn=activity.arn, name=name)
    return activity


sfn_models.StepFunctionBackend.create_activity = _create_activity

_original_execution_init = ParserExecution.__init__


def _execution_init(self, *args, **kwargs):
    """Every execution sees the account's activities, as on AWS."""
    kwargs["activity_store"] = _activity_store(kwargs["account_id"], kwargs["region_name"])
    _original_execution_init(self, *args, **kwargs)


ParserExecution.__init__ = _execution_init


class _CfnActivity(CloudFormationModel):
    """AWS::StepFunctions::Activity: Ref is the ARN, as on AWS."""

    # moto files every model under the service its module names (moto.<service>.…).
    __module__ = "moto.stepfunctions.tier_activity"

    def __init__(self, arn: str, name: str):
        self.arn = arn
        self.name = name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::StepFunctions::Activity"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Name")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return {"Arn": self.arn, "Name": self.name}[attribute_name]

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        activity = stepfunctions_parser_backends[account_id][region_name].create_activity(properties.get("Name", resource_name))
        return cls(activity.arn, activity.name)


def _get_activity_task(self):
    """GetActivityTask: a long poll for the next task of the activity; taking it starts it (ActivityStarted)."""
    activity_arn = self._get_param("activityArn")
    worker_name = self._get_param("workerName")
    backend = self.stepfunction_backend
    backend.describe_activity(activity_arn)
    activity = _activity_store(backend.account_id, backend.region_name).get(activity_arn)
    deadline = time.monotonic() + ACTIVITY_POLL_SECONDS
    while activity is not None and time.monotonic() < deadline:
        try:
            task = activity.get_task()
        except IndexError:
            time.sleep(0.05)
            continue
        for execution in backend._get_executions():
            endpoint = execution.exec_worker.env.callback_pool_manager.get(task.task_token) if execution.exec_worker else None
            if isinstance(endpoint, ActivityCallbackEndpoint):
                endpoint.notify_activity_task_start(worker_name=worker_name)
                break
        return ActionResult({"taskToken": task.task_token, "input": task.task_input})
    return ActionResult({})


StepFunctionResponse.get_activity_task = _get_activity_task


def _get_execution_history(self):
    """AWS returns the newest events first when asked with reverseOrder (the CLI follows a history that way); moto
    ignored it and answered oldest first, so a reader took its latest event for its first."""
    history = self.stepfunction_backend.get_execution_history(self._get_param("executionArn"))
    if self._get_param("reverseOrder"):
        history = {**history, "events": list(reversed(history["events"]))}
    return ActionResult(history)


StepFunctionResponse.get_execution_history = _get_execution_history

_original_interrupt_activity = ActivityCallbackEndpoint.interrupt_all


def _interrupt_activity(self):
    """AWS ends a stopped execution at once, also while its activity task waits for a worker; moto's interrupt
    (see _set_stop below) wakes only the wait for the answer, not the wait for a worker to take the task."""
    _original_interrupt_activity(self)
    start = self.get_activity_task_start_endpoint()
    if not start._next_activity_task_start_event.is_set():
        start._outcome = None
        start._next_activity_task_start_event.set()


ActivityCallbackEndpoint.interrupt_all = _interrupt_activity

# Time is compressed for activity tasks only when a test asks (the control file's `activityTimeScale`): a wait for
# a person then times out after that fraction of its TimeoutSeconds, read when the Task runs. The default, 1, keeps
# a wait as long as on AWS, which the restore tests need (the execution timeout must elapse first there).
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_activitiy import StateTaskActivity  # noqa: E402


class _ScaledActivityTimeout(TimeoutSeconds):
    def _eval_seconds(self, env):
        scale = float(Control.get().get("activityTimeScale", 1))
        return max(1, round(self.timeout_seconds * scale))


_original_activity_props = StateTaskActivity.from_state_props


def _activity_props(self, state_props):
    _original_activity_props(self, state_props)
    if isinstance(self.timeout, TimeoutSeconds) and not self.timeout.is_default_value():
        self.timeout = _ScaledActivityTimeout(self.timeout.timeout_seconds)


StateTaskActivity.from_state_props = _activity_props


def _scaled_wait(self, env, wait_seconds):
    """Time is compressed: a Wait lasts TIER_TIME_SCALE of its seconds (loops count checks, not time)."""
    if wait_seconds > 0:
        env.program_state_event.wait(wait_seconds * TIME_SCALE)


WaitFunction._wait_interval = _scaled_wait


class _ScaledTime:
    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds):
        time.sleep(seconds * TIME_SCALE)


retrier_decl.time = _ScaledTime()

_clients: dict[tuple[str, str, str], Any] = {}
# The state machine whose Task runs on this thread (set by _as_machine below): with several stacks in one account,
# each execution calls as its own state machine's role.
_running_machine = threading.local()


def _states_role_client(region, service, state_credentials=None):
    """AWS invokes Lambda and calls integrated services as the state machine's role; moto signs with a made-up key
    that IAM would refuse. One client per role and service, as building a boto3 client costs more than the call."""
    import boto3
    from botocore.config import Config

    control = Control.get()
    machine = getattr(_running_machine, "arn", None)
    credentials = (
        (control.get("machineCredentials") or {}).get(machine)
        or control.get("statesCredentials")
        or {"accessKeyId": "ak", "secretAccessKey": "sk", "sessionToken": None}
    )
    key = (region, service, credentials["accessKeyId"])
    if key not in _clients:
        _clients[key] = boto3.client(
            service,
            region_name=region,
            endpoint_url=f"http://127.0.0.1:{settings.moto_server_port()}",
            aws_access_key_id=credentials["accessKeyId"],
            aws_secret_access_key=credentials["secretAccessKey"],
            aws_session_token=credentials["sessionToken"],
            config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1}, read_timeout=900),
        )
    return _clients[key]


lambda_eval_utils.boto_client_for = _states_role_client

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import StateTaskService  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda  # noqa: E402


def _as_machine(eval_execution):
    """A Task's calls run on a thread of their own (moto's task timeout): it learns its state machine from the execution."""

    def run(self, env):
        _running_machine.arn = env.states.context_object.context_object_data["StateMachine"]["Id"]
        return eval_execution(self, env)

    return run


StateTaskLambda._eval_execution = _as_machine(StateTaskLambda._eval_execution)
StateTaskService._eval_execution = _as_machine(StateTaskService._eval_execution)

# A child execution (`arn:aws:states:::states:startExecution.sync:2`, the release plan's stages). moto 5.2 runs the
# integration, but (1) as a made-up key instead of the parent's role (patched here, as for Lambda above); (2) it hands
# the Task's Parameters (`StateMachineArn`, `Name`, `Input`, the API's member names AWS requires) to boto3 unchanged,
# which knows them as `stateMachineArn`, `name`, `input` (the call failed with States.Runtime 'StateMachineArn');
# and (3) answers with boto3's member names (`executionArn`, `status`, `output`…) and datetimes, where AWS answers the
# integration's documented shape: `ExecutionArn`, `Status`, `Output`, `Error`, `Cause`…, dates in epoch
# milliseconds (the TaskSubmitted output, the result of a child that succeeded, and the Cause of the TaskFailed of
# one that did not, which moto builds from the same dict after this normalisation).
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sfn  # noqa: E402

state_task_service_sfn.boto_client_for = _states_role_client

_original_sfn_parameters = state_task_service_sfn.StateTaskServiceSfn._normalise_parameters


def _sfn_boto_parameters(self, parameters, boto_service_name=None, service_action_name=None):
    _original_sfn_parameters(self, parameters, boto_service_name, service_action_name)
    for key in list(parameters):
        parameters[key[:1].lower() + key[1:]] = parameters.pop(key)


state_task_service_sfn.StateTaskServiceSfn._normalise_parameters = _sfn_boto_parameters


def _sfn_integration_shape(self, response, boto_service_name=None, service_action_name=None):
    if not isinstance(response, dict):
        return
    for key in list(response):
        value = response.pop(key)
        if isinstance(value, datetime.datetime):
            value = int(value.timestamp() * 1000)
        elif key.endswith("Details") and isinstance(value, dict):
            # inputDetails/outputDetails: {"Included": true}; Input and Output, the execution's own JSON, keep theirs.
            value = {k[:1].upper() + k[1:]: v for k, v in value.items()}
        response[key[:1].upper() + key[1:]] = value


state_task_service_sfn.StateTaskServiceSfn._normalise_response = _sfn_integration_shape


# --------------------------------------------------------------------------------------------------------------
# Lambda: invocations run the bundle in the function host (moto would need Docker).
# --------------------------------------------------------------------------------------------------------------
from moto.awslambda.models import LambdaFunction  # noqa: E402


def _invoke(self, body, request_headers, response_headers):
    request = urllib.request.Request(
        FUNCTION_HOST_URL + "/invoke",
        data=json.dumps({"functionName": self.function_name, "functionArn": self.function_arn, "payload": body or "{}"}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=float(self.timeout) + 60) as response:
        answer = json.loads(response.read())
    if answer.get("functionError"):
        response_headers["x-amz-function-error"] = answer["functionError"]
    return answer["payload"].encode("utf-8")


LambdaFunction.invoke = _invoke


# --------------------------------------------------------------------------------------------------------------
# IAM: moto checks the resource only for S3 (and SQS/IAM/STS); for every other service it asks about "*", which a
# least-privilege policy never allows. Here each call names its resources, implicit permissions and condition
# keys as AWS documents them, and every check is logged.
# --------------------------------------------------------------------------------------------------------------
from moto.iam import access_control  # noqa: E402

# SigV4 signing names that differ from the IAM service prefix, and operations whose IAM action has another name.
IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}
IAM_ACTION = {"lambda:Invoke": "lambda:InvokeFunction"}

_context = threading.local()


def _name(value: str) -> str:
    """`arn:…:cluster/shop` or `shop` → `shop`."""
    return value.split("/")[-1] if value.startswith("arn:") else value


class Permissions:
    """What one request needs: (action, resource, condition context) triples."""

    def __init__(self, response: Any, prefix: str, action: str):
        self.response = response
        self.prefix = prefix
        self.action = action
        self.region = response.region
        self.account = response.current_account
        self.needed: list[tuple[str, str, dict[str, str]]] = []

    def param(self, name: str, default: Any = None) -> Any:
        value = self.response._get_param(name)
        if value is None and hasattr(self.response, "_get_multi_param"):
            multi = self.response._get_multi_param(name + ".member") or self.response._get_multi_param(name)
            value = multi or None
        return default if value is None else value

    def arn(self, service: str, rest: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{rest}"

    def need(self, resource: str, action: str | None = None, context: dict[str, str] | None = None) -> None:
        self.needed.append((action or f"{self.prefix}:{self.action}", resource, context or {}))

    def tags_on_create(self, resource: str, tags: Any, tag_action: str, context: dict[str, str] | None = None) -> None:
        if tags:
            self.need(resource, tag_action, context)


def _rds(p: Permissions) -> None:
    a, rds = p.action, lambda kind, name: p.arn("rds", f"{kind}:{name}")
    groups = (("DBSubnetGroupName", "subgrp"), ("DBParameterGroupName", "pg"), ("DBClusterParameterGroupName", "cluster-pg"), ("OptionGroupName", "og"))
    if a == "DescribeDBInstances":
        ident = p.param("DBInstanceIdentifier")
        p.need(rds("db", ident) if ident else "*")
    elif a == "DescribeDBClusters":
        ident = p.param("DBClusterIdentifier")
        p.need(rds("cluster", ident) if ident else "*")
    elif a == "DescribeDBSnapshots":
        snap, inst = p.param("DBSnapshotIdentifier"), p.param("DBInstanceIdentifier")
        p.need(rds("snapshot", snap) if snap else rds("db", inst) if inst else "*")
    elif a == "DescribeDBClusterSnapshots":
        snap, cluster = p.param("DBClusterSnapshotIdentifier"), p.param("DBClusterIdentifier")
        p.need(rds("cluster-snapshot", snap) if snap else rds("cluster", cluster) if cluster else "*")
    elif a == "CreateDBSnapshot":
        p.need(rds("db", p.param("DBInstanceIdentifier")))
        p.need(rds("snapshot", p.param("DBSnapshotIdentifier")))
        p.tags_on_create(rds("snapshot", p.param("DBSnapshotIdentifier")), p.param("Tags"), "rds:AddTagsToResource")
    elif a == "CreateDBClusterSnapshot":
        p.need(rds("cluster", p.param("DBClusterIdentifier")))
        p.need(rds("cluster-snapshot", p.param("DBClusterSnapshotIdentifier")))
        p.tags_on_create(rds("cluster-snapshot", p.param("DBClusterSnapshotIdentifier")), p.param("Tags"), "rds:AddTagsToResource")
    elif a in ("AddTagsToResource", "ListTagsForResource", "RemoveTagsFromResource"):
        p.need(p.param("ResourceName"))
    elif a == "ModifyDBInstance":
        p.need(rds("db", p.param("DBInstanceIdentifier")))
    elif a == "ModifyDBCluster":
        p.need(rds("cluster", p.param("DBClusterIdentifier")))
    elif a in ("DeleteDBInstance", "DeleteDBCluster"):
        # moto asks about "*" without the resource's tags; AWS authorises a delete on the instance or cluster with its
        # tags as rds:db-tag/<key> or rds:cluster-tag/<key> (the restore drill's delete is conditioned on one).
        from moto.rds.models import rds_backends

        backend = rds_backends[p.account][p.region]
        if a == "DeleteDBInstance":
            ident, kind, key = p.param("DBInstanceIdentifier"), "db", "rds:db-tag"
            found = backend.databases.get(ident)
        else:
            ident, kind, key = p.param("DBClusterIdentifier"), "cluster", "rds:cluster-tag"
            found = backend.clusters.get(ident)
        tags = {tag["Key"]: tag["Value"] for tag in (getattr(found, "tags", None) or [])}
        p.need(rds(kind, ident), context={f"{key}/{k}": v for k, v in tags.items()})
    elif a in ("RestoreDBInstanceFromDBSnapshot", "RestoreDBClusterFromSnapshot", "CreateDBInstance"):
        if a == "RestoreDBClusterFromSnapshot":
            created = rds("cluster", p.param("DBClusterIdentifier"))
            p.need(created)
            p.need(rds("cluster-snapshot", _name(p.param("SnapshotIdentifier"))))
        else:
            created = rds("db", p.param("DBInstanceIdentifier"))
            p.need(created)
            if a == "RestoreDBInstanceFromDBSnapshot":
                p.need(rds("snapshot", _name(p.param("DBSnapshotIdentifier"))))
            elif p.param("DBClusterIdentifier"):
                p.need(rds("cluster", p.param("DBClusterIdentifier")))
        for field, kind in groups:
            if p.param(field):
                p.need(rds(kind, p.param(field)))
        p.tags_on_create(created, p.param("Tags"), "rds:AddTagsToResource")
    else:
        p.need("*")


def _ecs(p: Permissions) -> None:
    a = p.action
    cluster = _name(p.param("cluster", "default"))
    ecs = lambda rest: p.arn("ecs", rest)  # noqa: E731
    backend = _ecs_backend(p.account, p.region)
    if a == "DescribeServices":
        for service in p.param("services", []):
            p.need(ecs(f"service/{cluster}/{_name(service)}"))
    elif a == "UpdateService":
        p.need(ecs(f"service/{cluster}/{_name(p.param('service'))}"))
    elif a == "RegisterTaskDefinition":
        p.need("*")
        for role in (p.param("taskRoleArn"), p.param("executionRoleArn")):
            if role:
                p.need(role, "iam:PassRole", {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
        family = p.param("family")
        revision = len(backend.task_definitions.get(family, {})) + 1
        p.tags_on_create(ecs(f"task-definition/{family}:{revision}"), p.param("tags"), "ecs:TagResource", {"ecs:CreateAction": "RegisterTaskDefinition"})
    elif a == "RunTask":
        definition = p.param("taskDefinition")
        p.need(definition if definition.startswith("arn:") else ecs(f"task-definition/{definition}"), context={"ecs:cluster": ecs(f"cluster/{cluster}")})
        # ECS assumes the revision's task and execution roles for the task: the caller must be allowed to pass them.
        registered = backend.describe_task_definition(definition)
        for role in (getattr(registered, "task_role_arn", None), getattr(registered, "execution_role_arn", None)):
            if role:
                p.need(role, "iam:PassRole", {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
        p.tags_on_create(ecs(f"task/{cluster}/new"), p.param("tags"), "ecs:TagResource", {"ecs:CreateAction": "RunTask"})
    elif a == "DescribeTasks":
        for task in p.param("tasks", []):
            p.need(ecs(f"task/{cluster}/{_name(task)}"))
    elif a == "DescribeTaskDefinition":
        p.need("*")
    else:
        p.need("*")


def _cloudwatch(p: Permissions) -> None:
    names = p.param("AlarmNames", []) if p.action == "DescribeAlarms" else []
    for name in names:
        p.need(p.arn("cloudwatch", f"alarm:{name}"))
    if not names:
        p.need("*")


def _secrets(p: Permissions) -> None:
    secret_id = p.param("SecretId")
    if not secret_id:
        p.need("*")
        return
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        p.need(secretsmanager_backends[p.account][p.region].describe_secret(secret_id).arn)
    except Exception:
        # Unknown secret: AWS authorises the ARN the caller named, then answers ResourceNotFound.
        p.need(secret_id if secret_id.startswith("arn:") else p.arn("secretsmanager", f"secret:{secret_id}"))


def _lambda(p: Permissions) -> None:
    path = p.response.uri.split("?")[0]
    parts = path.split("/")
    if "functions" in parts and len(parts) > parts.index("functions") + 1:
        name = urllib.request.unquote(parts[parts.index("functions") + 1])
        p.need(name if name.startswith("arn:") else p.arn("lambda", f"function:{name}"))
    else:
        p.need("*")


def _sns(p: Permissions) -> None:
    p.need(p.param("TopicArn") or "*")


def _states(p: Permissions) -> None:
    p.need(p.param("stateMachineArn") or p.param("executionArn") or p.param("activityArn") or "*")


def _logs(p: Permissions) -> None:
    """StartQuery is authorised on each log group it reads (the log-group ARN, as the Service Authorization
    Reference lists it); GetQueryResults and StopQuery name a query id and have no resource-level permissions."""
    if p.action == "StartQuery":
        names = p.param("logGroupNames") or ([p.param("logGroupName")] if p.param("logGroupName") else [])
        identifiers = p.param("logGroupIdentifiers") or []
        for name in names:
            p.need(p.arn("logs", f"log-group:{name}"))
        for identifier in identifiers:
            p.need(identifier if identifier.startswith("arn:") else p.arn("logs", f"log-group:{identifier}"))
        if not names and not identifiers:
            p.need("*")
    else:
        p.need("*")


def _ssm(p: Permissions) -> None:
    """SendCommand is authorised on the document and on each instance it targets, the instance's tags given as
    ssm:resourceTag/<key>; ListCommands and GetCommandInvocation name a command id: no resource-level permissions."""
    if p.action != "SendCommand":
        p.need("*")
        return
    from moto.ec2.models import ec2_backends

    document = p.param("DocumentName")
    # AWS-owned documents have no account in their ARN.
    p.need(f"arn:aws:ssm:{p.region}::document/{document}" if document.startswith("AWS-") else p.arn("ssm", f"document/{document}"))
    ec2 = ec2_backends[p.account][p.region]
    for instance_id in p.param("InstanceIds", []):
        tags = {tag["key"]: tag["value"] for tag in ec2.describe_tags(filters={"resource-id": [instance_id]})}
        p.need(p.arn("ec2", f"instance/{instance_id}"), context={f"ssm:resourceTag/{key}": value for key, value in tags.items()})


RESOURCES = {"ssm": _ssm, "rds": _rds, "ecs": _ecs, "cloudwatch": _cloudwatch, "secretsmanager": _secrets, "lambda": _lambda, "sns": _sns, "states": _states, "logs": _logs}


def _ecs_backend(account: str, region: str):
    from moto.ecs.models import ecs_backends

    return ecs_backends[account][region]


def _authorize(self, iam_request_cls, resource="*"):
    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        ActionAuthenticatorMixin.request_count += 1
        return
    from urllib.parse import urlparse

    # moto signs the decoded path and, for a bodiless request, the request's headers as if they were its body:
    # Lambda's GET calls and its ARN-in-path invocations never match. The raw path and no data do.
    parsed = urlparse(self.uri)
    query = getattr(self, "_tier_raw_query", None) or parsed.query
    path = (getattr(self, "raw_path", None) or parsed.path) + ("?" + query if query else "")
    is_s3 = iam_request_cls is access_control.S3IAMRequest
    data = self.data if is_s3 or self.raw_body or getattr(self, "form_data", None) else {}
    iam_request = iam_request_cls(
        account_id=self.current_account, method=self.method, path=path, data=data, body=self.raw_body, headers=self.headers, action=self._get_action()
    )
    iam_request.check_signature()
    signing, operation = iam_request._action.split(":", 1)
    prefix = IAM_PREFIX.get(signing, signing)
    action = IAM_ACTION.get(f"{prefix}:{operation}", f"{prefix}:{operation}").split(":", 1)[1]
    if is_s3:
        needed = [(f"{prefix}:{action}", resource, {})]
    else:
        permissions = Permissions(self, prefix, action)
        RESOURCES.get(prefix, lambda p: p.need("*"))(permissions)
        needed = permissions.needed
    principal = iam_request._access_key.arn
    for needed_action, needed_resource, context in needed:
        iam_request._action = needed_action
        _context.values = context
        try:
            iam_request.check_action_permitted(needed_resource)
        except Exception:
            log_request({"principal": principal, "action": needed_action, "resource": needed_resource, "allowed": False, "request": f"{prefix}:{action}"})
            raise
        finally:
            _context.values = {}
        log_request({"principal": principal, "action": needed_action, "resource": needed_resource, "allowed": True, "request": f"{prefix}:{action}"})
    fault = Control.take_fault(prefix, operation)
    if fault:
        # Serialized as the service's own protocol would send it (XML for query APIs, JSON for the others).
        error = _FaultError(fault.get("error", "ServiceUnavailable"), fault.get("message", "injected by the emulated-AWS tier"))
        status, _, body = self.serialized(ActionResult(error))
        raise _Fault(status, body)


class _FaultError(ServiceException):
    """Defined outside moto's packages, so the serializer takes the calling service's error model."""


class _Fault(HTTPException):
    def __init__(self, status: int, body: str):
        super().__init__()
        self.code = status
        self.description = body


ActionAuthenticatorMixin._authenticate_and_authorize_action = _authorize

# The query string as the client sent (and signed) it. moto keeps only werkzeug's URL, whose query is decoded: an
# S3 ListObjectsV2 with `prefix=backups%2Fshop%2F` would be checked as `prefix=backups/shop/`, and its signature
# never matches.
_setup_class = BaseResponse.setup_class


def _setup_class_keeping_raw_query(self, request, full_url, headers, *args, **kwargs):
    _setup_class(self, request, full_url, headers, *args, **kwargs)
    environ = getattr(request, "environ", None) or {}
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    self._tier_raw_query = urllib.parse.urlparse(raw).query if raw else None


BaseResponse.setup_class = _setup_class_keeping_raw_query

_OPERATORS = {
    "StringEquals": lambda actual, expected: actual == expected,
    "StringLike": lambda actual, expected: fnmatch.fnmatchcase(actual, expected),
    "ArnEquals": lambda actual, expected: actual == expected,
    "ArnLike": lambda actual, expected: fnmatch.fnmatchcase(actual, expected),
    "Bool": lambda actual, expected: str(actual).lower() == str(expected).lower(),
}


def _check_conditions(self, incoming_condition_values=None):
    """moto evaluates conditions of trust policies only; identity policies get the keys AWS sets for the call."""
    conditions = self._statement.get("Condition")
    if not conditions:
        return True
    values = getattr(_context, "values", {}) or {}
    for operator, keys in conditions.items():
        # `…IfExists` holds when the request carries no such key, as AWS evaluates it.
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        if base not in _OPERATORS:
            raise NotImplementedError(f"the emulated-AWS tier cannot evaluate IAM condition operator {operator}")
        for key, expected in keys.items():
            expected_values = expected if isinstance(expected, list) else [expected]
            actual = values.get(key)
            if actual is None and if_exists:
                continue
            if actual is None or not any(_OPERATORS[base](actual, e) for e in expected_values):
                return False
    return True


access_control.IAMPolicyStatement._check_conditions = _check_conditions

_statement_permitted = access_control.IAMPolicyStatement.is_action_permitted


def _identity_statement_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
    """AWS: an Allow statement whose conditions do not hold does not apply to the request; another statement may
    still allow it. moto 5.2 checks conditions before the resource and answers DENIED, an explicit deny: an Allow on
    the SSM document beside an Allow on instances conditioned on ssm:resourceTag would deny every SendCommand.
    Trust policies (a principal to check) keep moto's answer."""
    result = _statement_permitted(self, action, resource, principal, incoming_condition_values)
    if principal is None and result == access_control.PermissionResult.DENIED and self._statement.get("Effect") == "Allow":
        return access_control.PermissionResult.NEUTRAL
    return result


access_control.IAMPolicyStatement.is_action_permitted = _identity_statement_permitted


def _match(pattern: str, string: str):
    """IAM wildcards: `*` any run of characters, `?` exactly one, `${*}` `${?}` `${$}` those characters themselves;
    moto knows only `*` and leaves `.` unescaped."""
    import re

    tokens = re.findall(r"\$\{[*?$]\}|.", pattern, re.DOTALL)
    regex = "".join(re.escape(t[2]) if len(t) == 4 else ".*" if t == "*" else "." if t == "?" else re.escape(t) for t in tokens)
    return re.match(f"^{regex}$", string, re.DOTALL)


access_control.IAMPolicyStatement._match = staticmethod(_match)


# --------------------------------------------------------------------------------------------------------------
# ECS: a service update starts a deployment that completes (or fails) over time; one-off tasks stop.
# --------------------------------------------------------------------------------------------------------------
from moto.ecs.models import EC2ContainerServiceBackend  # noqa: E402
from moto.moto_api._internal import mock_random  # noqa: E402


def _now() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.timezone.utc)


def _image_of(backend, task_definition_arn: str) -> str | None:
    definition = backend.describe_task_definition(task_definition_arn)
    containers = definition.container_definitions or []
    return containers[0].get("image") if containers else None


_original_update_service = EC2ContainerServiceBackend.update_service


def _update_service(self, service_properties):
    """AWS starts a new PRIMARY deployment when the task definition changes; moto only swaps the field."""
    requested = service_properties.get("task_definition")
    service = _original_update_service(self, service_properties)
    if not requested:
        return service
    arn = self.describe_task_definition(requested).arn
    service.task_definition = arn
    for deployment in service.deployments:
        if deployment["status"] == "PRIMARY":
            deployment["status"] = "ACTIVE"
    now = _now()
    deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    service.deployments.insert(
        0,
        {
            "id": deployment_id,
            "status": "PRIMARY",
            "taskDefinition": arn,
            "desiredCount": service.desired_count,
            "pendingCount": service.desired_count,
            "runningCount": 0,
            "failedTasks": 0,
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
            "launchType": service.launch_type,
            "platformFamily": "FARGATE",
            "createdAt": now,
            "updatedAt": now,
        },
    )
    return service


EC2ContainerServiceBackend.update_service = _update_service

_original_describe_services = EC2ContainerServiceBackend.describe_services


def _describe_services(self, cluster_str, service_names_or_arns):
    """A rollout completes `ecs.rolloutSeconds` after it started, or fails when its image is listed as failing."""
    services, failures = _original_describe_services(self, cluster_str, service_names_or_arns)
    ecs = Control.get().get("ecs", {})
    for service in services:
        for deployment in service.deployments:
            if deployment["rolloutState"] != "IN_PROGRESS":
                continue
            if (_now() - deployment["createdAt"]).total_seconds() < ecs.get("rolloutSeconds", 0.2):
                continue
            image = _image_of(self, deployment["taskDefinition"])
            deployment["updatedAt"] = _now()
            if image in ecs.get("failingImages", []):
                deployment["rolloutState"] = "FAILED"
                deployment["failedTasks"] = deployment["desiredCount"]
                deployment["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
            else:
                deployment["rolloutState"] = "COMPLETED"
                deployment["runningCount"] = deployment["desiredCount"]
                deployment["pendingCount"] = 0
                deployment["rolloutStateReason"] = f"ECS deployment {deployment['id']} completed."
                service.deployments[:] = [d for d in service.deployments if d["status"] == "PRIMARY"]
                service.running_count = service.desired_count
                service.pending_count = 0
    return services, failures


EC2ContainerServiceBackend.describe_services = _describe_services

_original_describe_tasks = EC2ContainerServiceBackend.describe_tasks


def _describe_tasks(self, cluster_str, tasks):
    """A one-off task runs `ecs.taskSeconds`, then stops with the exit code `ecs.taskExitCodes[image]` (default
    0). moto walks its tasks through the stop states on every describe, always with exit code 0."""
    described = _original_describe_tasks(self, cluster_str, tasks)
    ecs = Control.get().get("ecs", {})
    for task in described:
        if getattr(task, "_tier_stopped", False):
            continue
        if getattr(task, "_tier_bridged", False):
            # Its containers really run (RunTask below): it stops when they have exited.
            _bridged_status(task)
            continue
        started = getattr(task, "_tier_started", None) or _now()
        task._tier_started = started
        if (_now() - started).total_seconds() < ecs.get("taskSeconds", 0.2):
            task.last_status = "RUNNING"
            continue
        image = _image_of(self, task.task_definition_arn)
        exit_code = ecs.get("taskExitCodes", {}).get(image, 0)
        task._tier_stopped = True
        task.last_status = "STOPPED"
        task.desired_status = "STOPPED"
        task.stopped_reason = "Essential container in task exited"
        task.stop_code = "EssentialContainerExited"
        task.stopped_at = _now()
        for container in task.containers:
            container.last_status = "STOPPED"
            container.exitCode = exit_code
    return described


EC2ContainerServiceBackend.describe_tasks = _describe_tasks


# RunTask of a bridged task definition. AWS pulls the containers' images and runs them; moto runs nothing. For the
# families the tests name in `bridge` (the logical backup task), the task runs here, as ECS would run it:
# - the `secrets` are read first, as ECS injects them: GetSecretValue against moto signed as the task's execution
#   role (so its policy is checked and logged like any call); a refusal stops the task before any container starts,
#   with ECS's TaskFailedToStart / ResourceInitializationError;
# - each container's entry point and command then run as local processes, its `environment` and the task's
#   container overrides set; the PATH gets `localBin` first (the tier's PostgreSQL client programs stand in for the
#   postgres image's, a newer major there), `node` is the test machine's (the Lambda Node.js image's), and
#   `TASK_SDK_DIR` names the project's node_modules (the image's /var/runtime/node_modules);
# - each volume is a shared temporary directory, mounted where the container definitions say (a variable whose value
#   is a mount path is pointed at it, as the path would resolve inside the container);
# - the containers sign with the task role's credentials against moto (AWS_ENDPOINT_URL);
# - names resolve as in the functions' network (the bridge's `hosts`, e.g. moto's `*.rds.amazonaws.com` endpoints to
#   the throwaway PostgreSQL): Node through the tier's preload (NODE_OPTIONS), libpq through PGHOSTADDR (_emulated_network);
# - the task stops when its essential container has exited, the others are stopped then (as ECS does), and
#   DescribeTasks reports each container's real exit code. Each container's output is appended to TIER_TASK_LOG.
# Not emulated: image pulls, CPU and memory limits, awsvpc networking (the processes reach 127.0.0.1 directly), the
# awslogs driver, and the containers' own file systems (they share the test machine's).
import subprocess  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

TASK_LOG = os.environ.get("TIER_TASK_LOG", "")

from moto.ecs.models import TaskDefinition  # noqa: E402

_task_definition_from_cfn = TaskDefinition.create_from_cloudformation_json.__func__


def _task_definition_as_written(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    """AWS registers a template's task definition as written. moto 5.2's CloudFormation keeps only the family, the
    containers, the volumes and the memory: the task and execution roles (which RunTask passes, so `iam:PassRole` is
    checked on both), the CPU, the network mode and the compatibilities are restored here."""
    definition = _task_definition_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    properties = cloudformation_json["Properties"]
    for field, attribute in (("TaskRoleArn", "task_role_arn"), ("ExecutionRoleArn", "execution_role_arn"), ("Cpu", "cpu"), ("NetworkMode", "network_mode")):
        if properties.get(field) is not None:
            setattr(definition, attribute, properties[field])
    if properties.get("RequiresCompatibilities"):
        definition.requires_compatibilities = properties["RequiresCompatibilities"]
        definition.compatibilities = ["EC2", "FARGATE"] if "FARGATE" in properties["RequiresCompatibilities"] else ["EC2"]
    return definition


TaskDefinition.create_from_cloudformation_json = classmethod(_task_definition_as_written)
_original_run_task = EC2ContainerServiceBackend.run_task
_resource_requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements


def _task_resource_requirements(task_definition):
    """AWS: a Fargate container may leave its memory to the task's (the backup task's do). moto 5.2 adds up the
    containers' memory and fails on one without any: such a container counts for none here."""
    keys = ("memory", "Memory", "memoryReservation", "MemoryReservation")
    counted = copy.copy(task_definition)
    counted.container_definitions = [c if any(k in c for k in keys) else {**c, "memory": 0} for c in task_definition.container_definitions]
    return _resource_requirements(counted)


EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(_task_resource_requirements)


def _injected_secrets(region: str, definition, credentials: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each container's `secrets` as ECS injects them: `arn:…:secret:NAME:JSON_KEY::` read as the execution role."""
    import boto3

    client = boto3.client(
        "secretsmanager",
        region_name=region,
        endpoint_url=f"http://127.0.0.1:{settings.moto_server_port()}",
        aws_access_key_id=credentials["accessKeyId"],
        aws_secret_access_key=credentials["secretAccessKey"],
        aws_session_token=credentials["sessionToken"],
    )
    documents: dict[str, str] = {}
    injected: dict[str, dict[str, str]] = {}
    for container_def in definition.container_definitions:
        values = injected.setdefault(container_def["name"], {})
        for item in container_def.get("secrets", []):
            parts = item["valueFrom"].split(":")
            name, key = parts[6], (parts[7] if len(parts) > 7 else "")
            if name not in documents:
                documents[name] = client.get_secret_value(SecretId=name)["SecretString"]
            values[item["name"]] = str(json.loads(documents[name])[key]) if key else documents[name]
    return injected


def _tier_address(hostname: str, hosts: dict[str, str]) -> str | None:
    """The address the emulated network gives a name: an exact entry, or a `*.suffix` one (as tier-dns.mjs does)."""
    name = hostname.lower().rstrip(".")
    exact = {key.lower(): value for key, value in hosts.items()}
    if name in exact:
        return exact[name]
    return next((value for key, value in exact.items() if key.startswith("*.") and name.endswith(key[1:])), None)


def _emulated_network(env: dict[str, str], bridge: dict[str, Any]) -> dict[str, str]:
    """A task's subnets reach what the functions reach, by the same names (the bridge's `hosts`, e.g. moto's RDS
    endpoints for the throwaway PostgreSQL). Node resolves them through the tier's preload (NODE_OPTIONS); libpq's
    programs are given the address in PGHOSTADDR, which libpq connects to while PGHOST stays the name it reports
    and verifies a certificate against. The task definition's variables are left as they are."""
    hosts = bridge.get("hosts") or {}
    if not hosts:
        return {}
    added = {"TIER_HOSTS": json.dumps(hosts)}
    if bridge.get("dnsPreload"):
        added["NODE_OPTIONS"] = " ".join(filter(None, [env.get("NODE_OPTIONS"), f"--import={pathlib.Path(bridge['dnsPreload']).as_uri()}"]))
    address = _tier_address(env.get("PGHOST", ""), hosts) if env.get("PGHOST") else None
    if address is not None:
        added["PGHOSTADDR"] = address
    return added


def _log_task_output(task, name: str, path: str) -> None:
    if not TASK_LOG:
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    with _log_lock, open(TASK_LOG, "a", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps({"task": task.task_arn, "container": name, "line": line}) + "\n")


def _run_bridged(backend, task, definition, bridge: dict[str, Any]) -> None:
    from moto.ecs.models import Container

    containers = []
    for container_def in definition.container_definitions:
        container = Container(definition)
        container.name = container_def["name"]
        container.image = container_def.get("image")
        container.exitCode = None
        containers.append(container)
    task.containers = containers
    task._tier_bridged = True
    task._tier_exited = False
    task._tier_failed_to_start = None

    def run() -> None:
        try:
            injected = _injected_secrets(backend.region_name, definition, bridge["executionCredentials"])
        except Exception as error:  # noqa: BLE001 - any refusal is the task's failure to start
            task._tier_failed_to_start = f"ResourceInitializationError: unable to pull secrets or registry auth: {error}"
            task.stopped_at = _now()
            task._tier_exited = True
            return
        work = tempfile.mkdtemp(prefix="tier-task-")
        volumes = {volume["name"]: os.path.join(work, volume["name"]) for volume in (definition.volumes or [])}
        for path in volumes.values():
            os.makedirs(path, exist_ok=True)
        overrides = {o.get("name"): o for o in (task.overrides or {}).get("containerOverrides", [])}
        credentials = bridge["credentials"]
        processes = []
        for container_def in definition.container_definitions:
            mounts = {m["containerPath"]: volumes[m["sourceVolume"]] for m in container_def.get("mountPoints", [])}
            env = {"PATH": f"{bridge['localBin']}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": work}
            for item in container_def.get("environment", []):
                env[item["name"]] = mounts.get(item["value"], item["value"])
            env.update(injected[container_def["name"]])
            for item in overrides.get(container_def["name"], {}).get("environment", []):
                env[item["name"]] = item["value"]
            env.update(
                AWS_ACCESS_KEY_ID=credentials["accessKeyId"],
                AWS_SECRET_ACCESS_KEY=credentials["secretAccessKey"],
                AWS_SESSION_TOKEN=credentials["sessionToken"],
                AWS_REGION=backend.region_name,
                AWS_ENDPOINT_URL=bridge["endpoint"],
                TASK_SDK_DIR=bridge["sdkDir"],
            )
            env.update(_emulated_network(env, bridge))
            argv = list(container_def.get("entryPoint") or []) + list(container_def.get("command") or [])
            path = os.path.join(work, f"{container_def['name']}.log")
            with open(path, "w", encoding="utf-8") as log:
                process = subprocess.Popen(argv, env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
            processes.append((container_def, process, path))
        for container_def, process, _path in processes:
            if container_def.get("essential", True):
                process.wait()
        for _def, process, _path in processes:
            if process.poll() is None:
                process.terminate()
            process.wait()
        for (container_def, process, path), container in zip(processes, containers):
            container.exitCode = process.returncode
            _log_task_output(task, container_def["name"], path)
        task.stopped_at = _now()
        # Read by DescribeTasks (_bridged_status) from now on: the task has stopped.
        task._tier_exited = True
        shutil.rmtree(work, ignore_errors=True)

    threading.Thread(target=run, daemon=True).start()


def _bridged_status(task) -> None:
    """What DescribeTasks says of a bridged task: RUNNING while its essential container runs, then STOPPED with each
    container's exit code (moto's own state walk is overwritten either way)."""
    running = not task._tier_exited
    for container in task.containers:
        container.last_status = "RUNNING" if running else "STOPPED"
    if running:
        task.last_status = "RUNNING"
        return
    task.last_status = "STOPPED"
    task.desired_status = "STOPPED"
    if task._tier_failed_to_start:
        task.stop_code = "TaskFailedToStart"
        task.stopped_reason = task._tier_failed_to_start
    else:
        task.stop_code = "EssentialContainerExited"
        task.stopped_reason = "Essential container in task exited"


def _run_task(self, cluster_str, task_definition_str, count, overrides, started_by, tags, launch_type, networking_configuration=None, group=None, platform_version=None):
    definition = self.describe_task_definition(task_definition_str)
    bridge = Control.get().get("bridge", {}).get(definition.family)
    args = (cluster_str, task_definition_str, count, overrides, started_by, tags, launch_type, networking_configuration, group, platform_version)
    if not bridge:
        return _original_run_task(self, *args)
    # awsvpc is not emulated: moto would make the task a network interface in the configured subnets, which exist
    # only in the stack's configuration (as for the functions' VpcConfig, which moto does not check either).
    mode, definition.network_mode = definition.network_mode, None
    try:
        tasks = _original_run_task(self, *args)
    finally:
        definition.network_mode = mode
    for task in tasks:
        task.network_configuration = networking_configuration
        task.last_status = "RUNNING"
        _run_bridged(self, task, definition, bridge)
    return tasks


EC2ContainerServiceBackend.run_task = _run_task


# --------------------------------------------------------------------------------------------------------------
# RDS
# --------------------------------------------------------------------------------------------------------------
from moto.rds.responses import RDSResponse  # noqa: E402

# AWS's default quotas for manual snapshots per region.
SNAPSHOT_QUOTA = 100


def _describe_account_attributes(self):
    """AWS reports the account's quotas (the manual snapshot quota Preflight checks); moto has no such call."""
    backend = self.backend
    manual = sum(1 for s in backend.database_snapshots.values() if s.snapshot_type == "manual")
    manual_cluster = sum(1 for s in backend.cluster_snapshots.values() if s.snapshot_type == "manual")
    return ActionResult(
        {
            "AccountQuotas": [
                {"AccountQuotaName": "ManualSnapshots", "Used": manual, "Max": SNAPSHOT_QUOTA},
                {"AccountQuotaName": "ManualClusterSnapshots", "Used": manual_cluster, "Max": SNAPSHOT_QUOTA},
            ]
        }
    )


RDSResponse.describe_account_attributes = _describe_account_attributes

from moto.rds.models import DBInstance  # noqa: E402

_original_instance_init = DBInstance.__init__


def _default_option_group(engine: str, version: str) -> str:
    """AWS names PostgreSQL's default group by major version (`default:postgres-16`), older engines by major.minor."""
    parts = version.split(".")
    return f"default:{engine}-{parts[0] if engine.endswith('postgres') or engine.endswith('postgresql') else '-'.join(parts[:2])}"


def _instance_init(self, *args, **kwargs):
    """Every AWS account has the default option groups, so a restore may name one; moto knows none of them."""
    requested = kwargs.get("option_group_name")
    if requested and requested.startswith("default:"):
        kwargs["option_group_name"] = None
    _original_instance_init(self, *args, **kwargs)
    if getattr(self, "engine_version", None) and not getattr(self, "option_group_supplied", True):
        self.option_group_name = requested or _default_option_group(self.engine, self.engine_version)


DBInstance.__init__ = _instance_init


def _unique_automated(create):
    """AWS names automated snapshots to the minute, but never restores an identifier twice within one; the tier
    does, so a second automated snapshot of the same minute gets the seconds too."""

    def wrapper(self, identifier, snapshot_id, *args, **kwargs):
        existing = self.database_snapshots if create.__name__ == "create_auto_snapshot" else self.cluster_snapshots
        candidate, n = snapshot_id, 0
        while candidate in existing:
            n += 1
            candidate = f"{snapshot_id}-{datetime.datetime.now(tz=datetime.timezone.utc):%S}-{n}"
        return create(self, identifier, candidate, *args, **kwargs)

    return wrapper


from moto.rds.models import RDSBackend  # noqa: E402

_original_modify_db_cluster = RDSBackend.modify_db_cluster


def _modify_db_cluster(self, kwargs):
    """A renamed cluster keeps its instances in AWS; moto leaves them pointing at the old name, so a cluster
    later created under that name would find another cluster's writer among its members."""
    old, new = kwargs["db_cluster_identifier"], kwargs.get("new_db_cluster_identifier")
    result = _original_modify_db_cluster(self, kwargs)
    if new and new != old:
        for instance in self.databases.values():
            if getattr(instance, "db_cluster_identifier", None) == old:
                instance.db_cluster_identifier = new
                instance.cluster = self.clusters[new]
    return result


RDSBackend.modify_db_cluster = _modify_db_cluster

from moto.rds.models import DBCluster  # noqa: E402

_original_cluster_init = DBCluster.__init__


def _cluster_init(self, *args, **kwargs):
    """AWS: the `cluster-<id>` part of a cluster endpoint is the account's in the region, so a cluster restored under
    a name answers at the endpoint that name had (the one the connection secret holds). moto drew it at random for
    each cluster, as if a rollback moved the endpoint."""
    _original_cluster_init(self, *args, **kwargs)
    self.url_identifier = "aaaaaaaaaaaa"


DBCluster.__init__ = _cluster_init

RDSBackend.create_auto_snapshot = _unique_automated(RDSBackend.create_auto_snapshot)
RDSBackend.create_auto_cluster_snapshot = _unique_automated(RDSBackend.create_auto_cluster_snapshot)


# --------------------------------------------------------------------------------------------------------------
# EventBridge and CloudWatch: an alarm's state change is an event, and a rule may start an execution.
# --------------------------------------------------------------------------------------------------------------
import re  # noqa: E402
import uuid  # noqa: E402

from moto.cloudwatch.models import CloudWatchBackend  # noqa: E402
from moto.events.models import Rule as EventsRule  # noqa: E402
from moto.events.models import events_backends  # noqa: E402
from moto.iam.models import iam_backends  # noqa: E402

_original_set_alarm_state = CloudWatchBackend.set_alarm_state


def _set_alarm_state(self, alarm_name, reason, reason_data, state_value):
    """AWS sends "CloudWatch Alarm State Change" to the default event bus when an alarm changes state."""
    previous = self.alarms[alarm_name].state_value if alarm_name in self.alarms else None
    _original_set_alarm_state(self, alarm_name, reason, reason_data, state_value)
    if previous == state_value:
        return
    now = _now().isoformat(timespec="seconds").replace("+00:00", "Z")
    detail = {
        "alarmName": alarm_name,
        "state": {"value": state_value, "reason": reason, "timestamp": now},
        "previousState": {"value": previous, "reason": ""},
    }
    events_backends[self.account_id][self.region_name].put_events(
        [{"Source": "aws.cloudwatch", "DetailType": "CloudWatch Alarm State Change", "Detail": json.dumps(detail), "Resources": [self.alarms[alarm_name].alarm_arn], "Time": now}]
    )


CloudWatchBackend.set_alarm_state = _set_alarm_state


def _transformed_input(target, event):
    """EventBridge's input transformer: an unquoted placeholder becomes the value as JSON (strings quoted), a
    quoted one the raw text. moto inserts strings unquoted, which is not JSON."""
    if "Input" in target:
        return target["Input"]
    transformer = target.get("InputTransformer")
    if not transformer:
        return json.dumps(event)
    from jsonpath_ng.ext import parse

    values = {}
    for name, path in transformer.get("InputPathsMap", {}).items():
        found = parse(path).find(event)
        values[name] = found[0].value if found else None

    def fill(match):
        if match.group(1) is not None:
            return json.dumps(str(values.get(match.group(1)) or ""))
        return json.dumps(values.get(match.group(2)))

    return re.sub(r'"<([A-Za-z0-9_.-]+)>"|<([A-Za-z0-9_.-]+)>', fill, transformer["InputTemplate"])


_original_send_to_targets = EventsRule.send_to_targets


def _lambda_may_be_invoked_by(rule, function_arn: str) -> bool:
    """What the function's resource policy says about EventBridge invoking it for this rule."""
    from moto.awslambda.models import lambda_backends

    try:
        policy = json.loads(json.loads(lambda_backends[rule.account_id][rule.region_name].get_policy(function_arn))["Policy"])
    except Exception:
        return False
    for statement in policy.get("Statement", []):
        principal = statement.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        source = (statement.get("Condition", {}).get("ArnLike", {}) or {}).get("AWS:SourceArn")
        if statement.get("Effect") == "Allow" and service == "events.amazonaws.com" and statement.get("Action") == "lambda:InvokeFunction" and source in (None, rule.arn):
            return True
    return False


def _invoke_lambda_target(rule, target, event) -> None:
    """AWS invokes a Lambda target asynchronously, if the function's resource policy lets this rule; moto does not deliver to Lambda."""
    from moto.awslambda.models import lambda_backends

    function_arn = target["Arn"]
    allowed = _lambda_may_be_invoked_by(rule, function_arn)
    log_request({"principal": "events.amazonaws.com", "action": "lambda:InvokeFunction", "resource": function_arn, "allowed": allowed, "request": "events:PutTargets delivery"})
    if not allowed:
        return
    function = lambda_backends[rule.account_id][rule.region_name].get_function(function_arn)
    payload = _transformed_input(target, event)
    threading.Thread(target=function.invoke, args=(payload, {}, {}), daemon=True).start()


def _send_to_targets(self, original_event, transform_input=True):
    """AWS delivers to Step Functions targets by StartExecution as the target's role, and to Lambda targets by an
    asynchronous invocation; moto does neither."""
    if self.scheduled_expression:
        # A scheduled rule fires on its schedule, never on an event: moto would match every event against its empty
        # pattern (each execution's end would start another watch checkpoint). The tier starts those itself.
        return
    if not self.event_pattern.matches_event(original_event):
        return
    for target in [t for t in self.targets if t["Arn"].split(":")[2] == "lambda"]:
        _invoke_lambda_target(self, target, original_event)
    states = [t for t in self.targets if t["Arn"].split(":")[2] == "states"]
    others = [t for t in self.targets if t not in states and t["Arn"].split(":")[2] != "lambda"]
    if others:
        targets, self.targets = self.targets, others
        try:
            _original_send_to_targets(self, original_event, transform_input)
        finally:
            self.targets = targets
    for target in states:
        machine_arn, role_arn = target["Arn"], target.get("RoleArn", "")
        iam = iam_backends[self.account_id]["aws"]
        role = iam.get_role_by_arn(role_arn)
        policies = [iam.get_role_policy(role.name, name)[1] for name in iam.list_role_policies(role.name)]
        allowed = any(access_control.IAMPolicy(p).is_action_permitted("states:StartExecution", machine_arn) == access_control.PermissionResult.PERMITTED for p in policies)
        log_request({"principal": role_arn, "action": "states:StartExecution", "resource": machine_arn, "allowed": allowed, "request": "events:PutTargets delivery"})
        if not allowed:
            continue
        stepfunctions_parser_backends[self.account_id][self.region_name].start_execution(machine_arn, name=str(uuid.uuid4()), execution_input=_transformed_input(target, original_event))


EventsRule.send_to_targets = _send_to_targets

from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication  # noqa: E402

_original_terminated = BaseExecutionWorkerCommunication.terminated


def _epoch_ms(value) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def _terminated(self):
    """AWS sends "Step Functions Execution Status Change" to the default event bus when an execution ends; moto
    sends nothing."""
    _original_terminated(self)
    execution = self.execution
    status = execution.exec_status.value if execution.exec_status else None
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": _epoch_ms(execution.start_date),
        "stopDate": _epoch_ms(execution.stop_date),
        "input": json.dumps(execution.input_data),
        "output": json.dumps(execution.output) if status == "SUCCEEDED" else None,
        "error": execution.error,
        "cause": execution.cause,
    }
    events_backends[execution.account_id][execution.region_name].put_events(
        [{"Source": "aws.states", "DetailType": "Step Functions Execution Status Change", "Detail": json.dumps(detail), "Resources": [execution.exec_arn]}]
    )


BaseExecutionWorkerCommunication.terminated = _terminated

from moto.stepfunctions.parser.asl.eval.environment import Environment as _Environment  # noqa: E402
from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning, ProgramStopped, ProgramTimedOut  # noqa: E402

_original_set_stop = _Environment.set_stop


def _set_stop(self, stop_date, cause, error):
    """AWS ends a stopped execution at once, also while a task waits for its token; moto's waiting task would
    only see the stop when its callback timed out."""
    _original_set_stop(self, stop_date, cause, error)
    for endpoint in list(self.callback_pool_manager._pool.values()):
        endpoint.interrupt_all()


_Environment.set_stop = _set_stop

_original_set_error = _Environment.set_error


def _set_error(self, error):
    """AWS keeps a stopped execution ABORTED (a timed-out one TIMED_OUT); in moto the error its interrupted task
    raises would turn it FAILED."""
    if isinstance(self.program_state(), (ProgramStopped, ProgramTimedOut)):
        return
    _original_set_error(self, error)


_Environment.set_error = _set_error


# The execution timeout. AWS ends an execution TIMED_OUT as soon as the definition's top-level TimeoutSeconds
# have passed since it started, whatever its state is doing (a Lambda call, a Wait, a task waiting for a worker):
# the history ends with ExecutionTimedOut and the "Step Functions Execution Status Change" event says TIMED_OUT.
# moto 5.2 counts those seconds in real time, which no scenario can wait for when Wait states and Retry intervals
# last a thousandth of theirs; and its waiting task would go on (into its Catch) after the timeout.
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent  # noqa: E402
from moto.stepfunctions.parser.asl.component.program.program import Program  # noqa: E402
from moto.stepfunctions.parser.utils import TMP_THREADS  # noqa: E402


def _program_eval(self, env):
    """The execution timeout is compressed like Wait states: it elapses after TIER_TIME_SCALE of its seconds (the
    work in between, Lambda calls included, takes real time)."""
    timeout = self.timeout_seconds.timeout_seconds if self.timeout_seconds else None
    env.next_state_name = self.start_at.start_at_name
    worker_thread = threading.Thread(target=EvalComponent.eval, args=(self, env), daemon=True)
    TMP_THREADS.append(worker_thread)
    worker_thread.start()
    worker_thread.join(timeout=timeout * TIME_SCALE if timeout else None)
    if worker_thread.is_alive():
        env.set_timed_out()


Program.eval = _program_eval

_original_set_timed_out = _Environment.set_timed_out


def _set_timed_out(self):
    """AWS ends a timed-out execution at once, also while a task waits for its token or for a worker, and one
    that ended just before its timeout stays as it ended."""
    if not isinstance(self._program_state, ProgramRunning):
        return
    _original_set_timed_out(self)
    for endpoint in list(self.callback_pool_manager._pool.values()):
        endpoint.interrupt_all()


_Environment.set_timed_out = _set_timed_out


# --------------------------------------------------------------------------------------------------------------
# CloudWatch metric math and Logs Insights: the analysis metrics' queries.
# --------------------------------------------------------------------------------------------------------------
import ast  # noqa: E402
import operator  # noqa: E402

import moto.cloudwatch.models as cloudwatch_models  # noqa: E402
import moto.logs.models as logs_models  # noqa: E402
from moto.cloudwatch.exceptions import ValidationError as CloudWatchValidationError  # noqa: E402
from moto.logs.exceptions import LogsClientError  # noqa: E402
from moto.logs.responses import LogsResponse  # noqa: E402

_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _metric_math(expression, results):
    """AWS evaluates metric math (`errors / requests`) over the other queries' series, timestamp by timestamp; moto
    only returns the series whose id equals the expression. This evaluates arithmetic (+ - * /, numbers,
    parentheses) over ids, the subset the tier's analysis uses; a datapoint missing from an operand, or a division
    by zero, yields no datapoint. Anything else is refused, as AWS refuses an expression it cannot parse."""
    series = {r["id"]: dict(zip(r["timestamps"], r["values"])) for r in results}
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError as error:
        raise CloudWatchValidationError(f"Syntax error in metric math expression '{expression}': {error.msg}")

    def ids(node):
        if isinstance(node, ast.Name):
            return {node.id}
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            return ids(node.left) | ids(node.right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return ids(node.operand)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return set()
        raise CloudWatchValidationError(f"the emulated-AWS tier evaluates metric math of + - * / over query ids only, not '{expression}'")

    used = ids(tree)
    unknown = sorted(used - series.keys())
    if unknown:
        raise CloudWatchValidationError(f"Metric math expression '{expression}' uses unknown ids: {', '.join(unknown)}")

    def evaluate(node, at):
        if isinstance(node, ast.Name):
            return float(series[node.id][at])
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.UnaryOp):
            return -evaluate(node.operand, at)
        return _ARITHMETIC[type(node.op)](evaluate(node.left, at), evaluate(node.right, at))

    stamps = sorted(set.intersection(*(set(series[i]) for i in used)) if used else set(), reverse=True)
    values, timestamps = [], []
    for at in stamps:
        try:
            values.append(evaluate(tree, at))
        except ZeroDivisionError:
            continue
        timestamps.append(at)
    return values, timestamps


cloudwatch_models.parse_expression = _metric_math


class _MalformedQuery(LogsClientError):
    def __init__(self, message: str):
        self.code = 400
        super().__init__("MalformedQueryException", message)


_FILTER = re.compile(r"^filter\s+@message\s+like\s+/(.*)/$")
_STATS_COUNT = re.compile(r"^stats\s+count\(\*?\)(?:\s+as\s+([A-Za-z_][A-Za-z0-9_]*))?$")


def _insights(query: str):
    """The part of the Logs Insights language the tier's queries use: `filter @message like /regex/` and a final
    `stats count() [as name]`; None for a query moto's own parser handles (fields, sort, limit)."""
    commands = [c.strip() for c in query.split("|")]
    if not any(_FILTER.match(c) or c.startswith("stats") for c in commands):
        return None
    patterns, count_as = [], None
    for index, command in enumerate(commands):
        filtered, counted = _FILTER.match(command), _STATS_COUNT.match(command)
        if filtered:
            patterns.append(re.compile(filtered.group(1)))
        elif counted and index == len(commands) - 1:
            count_as = counted.group(1) or "count()"
        else:
            raise _MalformedQuery(f"the emulated-AWS tier runs Logs Insights queries of 'filter @message like /…/' and a last 'stats count()' only, not '{command}'")
    return patterns, count_as


_original_log_query_init = logs_models.LogQuery.__init__


def _log_query_init(self, query_id, start_time, end_time, query, log_groups):
    """AWS runs the Logs Insights language; moto knows `fields`, `sort` and `limit` and ignores `filter` and `stats`,
    so a `stats count()` query answers rows of @ptr. This runs filter and a count as AWS does: no row when no line
    matched (so a count metric says noData: success)."""
    parsed = _insights(query)
    if parsed is None:
        return _original_log_query_init(self, query_id, start_time, end_time, query, log_groups)
    patterns, count_as = parsed
    self.query_id, self.start_time, self.end_time, self.query = query_id, start_time, end_time, query
    self.log_group_names = [group.name for group in log_groups]
    self.create_time = logs_models.unix_time_millis()
    matched = [
        event
        for group in log_groups
        for stream in group.streams.values()
        for event in stream.events
        if start_time * 1000 <= event.timestamp <= end_time * 1000 and all(p.search(event.message) for p in patterns)
    ]
    if count_as is None:
        self.results = [{"@ptr": e.event_id, "@timestamp": e.timestamp, "@message": e.message} for e in matched]
    else:
        self.results = [{count_as: len(matched)}] if matched else []
    self.status = "Complete"


logs_models.LogQuery.__init__ = _log_query_init


def _stop_query(self):
    """AWS stops a running query (false when it had ended already); moto has no StopQuery. Queries here complete
    at once, so there is nothing left to stop."""
    query_id = self._get_param("queryId")
    if query_id not in self.logs_backend.queries:
        raise logs_models.ResourceNotFoundException("The specified query does not exist.")
    return json.dumps({"success": False})


LogsResponse.stop_query = _stop_query


# --------------------------------------------------------------------------------------------------------------
# SSM Run Command: commands run on fake hosts.
# AWS: SendCommand hands the script to the SSM Agent of each instance, which runs it; each invocation goes from
# Pending/InProgress to Success or Failed with the script's exit code and output. moto 5.2 runs nothing and marks
# every invocation Success with no output. Here the tier's hosts are fake: each instance has a version (the control
# file's `ssmHosts.initialVersion` until a command changes it), and the scripts the tier's ssm-hosts stack
# configures are `tier-host <verb> [version]`: `current` prints the version, `deploy`/`rollback` set it, `ready`
# exits 0 when the host runs that version, unless `ssmHosts.failReady` names the host with that version. Anything
# else exits 127, as a shell would for an unknown command. Every run is appended to TIER_HOST_LOG.
# --------------------------------------------------------------------------------------------------------------
from moto.ssm.models import SimpleSystemManagerBackend  # noqa: E402

_original_send_command = SimpleSystemManagerBackend.send_command
_host_log_lock = threading.Lock()


def _fake_host_run(versions: dict[str, str], host: str, script: str) -> tuple[int, str, str]:
    settings_ = Control.get().get("ssmHosts", {})
    version = versions.setdefault(host, settings_.get("initialVersion", "v1"))
    words = script.split()
    if len(words) < 2 or words[0] != "tier-host":
        return 127, "", f"sh: 1: {words[0] if words else ''}: not found"
    verb, argument = words[1], (words[2] if len(words) > 2 else None)
    if verb == "current":
        return 0, f"{version}\n", ""
    if verb in ("deploy", "rollback") and argument:
        versions[host] = argument
        return 0, f"{verb}: {version} -> {argument}\n", ""
    if verb == "ready" and argument:
        if version != argument:
            return 1, "", f"runs {version}, not {argument}"
        if settings_.get("failReady", {}).get(host) == argument:
            return 7, "", f"curl: (7) Failed to connect to 127.0.0.1 port 3000: Connection refused (DB_PASSWORD=tier-secret-{host})"
        return 0, f"{argument} answers /health\n", ""
    return 2, "", f"tier-host: cannot {script!r}"


def _send_command(self, **kwargs):
    command = _original_send_command(self, **kwargs)
    # Each new `scenario` starts every fake host afresh: a file that deploys its stack once sets it per scenario
    # (test/emulated-aws/emulated-aws.ts, `isolate`).
    scenario = Control.get().get("scenario", 0)
    versions = self.__dict__.setdefault("_tier_host_versions", {}).setdefault(scenario, {})
    script = "\n".join((kwargs.get("parameters") or {}).get("commands", []))
    failed = 0
    for invocation in command.invocations:
        host = invocation["InstanceId"]
        code, out, err = _fake_host_run(versions, host, script)
        failed += code != 0
        invocation.update(
            Status="Success" if code == 0 else "Failed",
            StatusDetails="Success" if code == 0 else "Failed",
            ResponseCode=code,
            StandardOutputContent=out,
            StandardErrorContent=err,
        )
        with _host_log_lock, open(HOST_LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps({"host": host, "script": script, "comment": command.comment, "exit": code, "version": versions.get(host)}) + "\n")
    command.status = "Success" if failed == 0 else "Failed"
    command.error_count = failed
    return command


SimpleSystemManagerBackend.send_command = _send_command

from moto.ssm.models import Command as _SsmCommand  # noqa: E402

_instances_of_targets = _SsmCommand._get_instance_ids_from_targets


def _targeted_instances(self):
    """AWS: a command without Targets goes to its InstanceIds only. moto 5.2 turns no Targets into an empty EC2
    filter, which matches every instance of the account, and adds them all."""
    return _instances_of_targets(self) if self.targets else []


_SsmCommand._get_instance_ids_from_targets = _targeted_instances


# --------------------------------------------------------------------------------------------------------------
# EventBridge Scheduler. AWS: CloudFormation creates an AWS::Scheduler::Schedule (Ref: its name, Arn attribute), which
# GetSchedule reads back. moto 5.2 has the scheduler API but no CloudFormation model for it: the stack's schedule was
# skipped with a warning. Here the template's properties are handed to moto's own CreateSchedule. Nothing fires it
# (moto runs no schedule): the tier starts the execution the schedule would start, as the schedule's role.
# --------------------------------------------------------------------------------------------------------------
from moto.scheduler.models import scheduler_backends  # noqa: E402


class _CfnSchedule(CloudFormationModel):
    """AWS::Scheduler::Schedule: Ref is the name, as on AWS."""

    # moto files every model under the service its module names (moto.<service>.…).
    __module__ = "moto.scheduler.tier_schedule"

    def __init__(self, schedule):
        self.schedule = schedule

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::Schedule"

    @property
    def physical_resource_id(self) -> str:
        return self.schedule.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.schedule.arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json.get("Properties", {})
        schedule = scheduler_backends[account_id][region_name].create_schedule(
            description=p.get("Description"),
            end_date=p.get("EndDate"),
            flexible_time_window=p["FlexibleTimeWindow"],
            group_name=p.get("GroupName"),
            kms_key_arn=p.get("KmsKeyArn"),
            name=p.get("Name", resource_name),
            schedule_expression=p["ScheduleExpression"],
            schedule_expression_timezone=p.get("ScheduleExpressionTimezone"),
            start_date=p.get("StartDate"),
            state=p.get("State"),
            target=p["Target"],
            action_after_completion=None,
        )
        return cls(schedule)


# --------------------------------------------------------------------------------------------------------------
# Start
# --------------------------------------------------------------------------------------------------------------
if __name__ == "__main__":
    from moto.server import main

    main(["-H", "127.0.0.1", "-p", os.environ["MOTO_PORT"]])
