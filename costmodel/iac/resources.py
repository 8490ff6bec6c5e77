"""What a template or a plan deploys, as far as the bill is concerned.

Each priced resource is one of :class:`FunctionResource`, :class:`QueueResource`,
:class:`ApiResource` or :class:`StateMachineResource`, keyed as the usage file keys it
(a logical ID of a template, a full address of a plan such as
``module.api.aws_lambda_function.handler``). A resource callwise does not price is a
:class:`Skipped` (listed, like Infracost's ``--show-skipped``); a property the file does
not settle is an :class:`Unresolved` (reported, with what was used instead).

>>> f = FunctionResource("Resize", "AWS::Serverless::Function", source="t.yaml: Resources.Resize")
>>> f.memory_mb, f.timeout_s, f.arch
(128.0, 3.0, 'x86_64')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

__all__ = [
    "SAM_DEFAULTS",
    "ApiResource",
    "EventSource",
    "FunctionResource",
    "QueueResource",
    "Resource",
    "Skipped",
    "StateMachineResource",
    "Unresolved",
]

#: Defaults of a function that does not set them, in AWS SAM and CloudFormation alike:
#: ``Architectures`` x86_64 (AWS SAM, AWS::Serverless::Function,
#: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html),
#: ``MemorySize`` 128 MB and ``Timeout`` 3 s (the Lambda API's defaults, which SAM and
#: CloudFormation pass through: CreateFunction's "The default value is 128 MB" and "The
#: default is 3 seconds", https://docs.aws.amazon.com/lambda/latest/dg/API_CreateFunction.html,
#: and the developer guide's "The default timeout is 3 seconds",
#: https://docs.aws.amazon.com/lambda/latest/dg/resource-model.html; read 2026-12-04 in
#: stored copies), ephemeral storage 512 MB (not billed).
SAM_DEFAULTS: dict[str, Any] = {
    "memory_mb": 128.0,
    "timeout_s": 3.0,
    "arch": "x86_64",
    "ephemeral_storage_mb": 512.0,
}


@dataclass(frozen=True, slots=True)
class EventSource:
    """What invokes a function: ``kind`` is the SAM event type (``Api``, ``HttpApi``,
    ``SQS``, ``SNS``, ``S3``, ``Schedule``, ``EventBridgeRule`` ...) or ``EventSourceMapping``;
    ``target`` the key of the API or queue it comes through, if it is in the deployment."""

    name: str
    kind: str
    target: str | None = None

    @property
    def synchronous(self) -> bool:
        """Whether the caller waits for the function (API requests)."""
        return self.kind in ("Api", "HttpApi")


@dataclass(frozen=True, slots=True)
class FunctionResource:
    """A Lambda function.

    Attributes:
        key: its logical ID or address.
        type: the resource type (``AWS::Serverless::Function``, ``aws_lambda_function`` ...).
        memory_mb, timeout_s, arch, ephemeral_storage_mb: its configuration.
        provisioned_concurrency: concurrent executions kept provisioned (0: none).
        reserved_concurrency: reserved concurrent executions (None: unreserved; no price).
        snap_start: whether SnapStart is on (its cache and restores are not priced).
        events: what invokes it.
        name: its function name where the file gives one.
        source: where it is declared (``file: Resources.Id``).
    """

    key: str
    type: str
    memory_mb: float = SAM_DEFAULTS["memory_mb"]
    timeout_s: float = SAM_DEFAULTS["timeout_s"]
    arch: str = SAM_DEFAULTS["arch"]
    ephemeral_storage_mb: float = SAM_DEFAULTS["ephemeral_storage_mb"]
    provisioned_concurrency: float = 0.0
    reserved_concurrency: float | None = None
    snap_start: bool = False
    events: tuple[EventSource, ...] = ()
    name: str | None = None
    source: str = ""
    kind: Literal["function"] = field(default="function", init=False)


@dataclass(frozen=True, slots=True)
class QueueResource:
    """An SQS queue (``fifo``: a FIFO queue, priced on its own sheet)."""

    key: str
    type: str
    fifo: bool = False
    source: str = ""
    kind: Literal["queue"] = field(default="queue", init=False)


@dataclass(frozen=True, slots=True)
class ApiResource:
    """An API Gateway API: ``protocol`` ``"rest"`` (REST API) or ``"http"`` (HTTP API).

    ``implicit``: created by SAM for functions whose Api/HttpApi events name no API
    (``ServerlessRestApi``, ``ServerlessHttpApi``). ``routes``: the functions behind it.
    """

    key: str
    type: str
    protocol: Literal["rest", "http"] = "rest"
    implicit: bool = False
    routes: tuple[str, ...] = ()
    source: str = ""
    kind: Literal["api"] = field(default="api", init=False)


@dataclass(frozen=True, slots=True)
class StateMachineResource:
    """A Step Functions state machine.

    Attributes:
        workflow: ``"standard"`` or ``"express"``.
        definition: the ASL definition (a dict), or None when the file does not hold it
            (then the reason is in the deployment's ``unresolved``).
        substitutions: ``DefinitionSubstitutions`` with their intrinsic functions resolved.
        tasks: ``{Task resource ARN or name: function key}`` for the functions of the
            deployment the definition may invoke.
    """

    key: str
    type: str
    workflow: Literal["standard", "express"] = "standard"
    definition: dict[str, Any] | None = None
    substitutions: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)
    source: str = ""
    kind: Literal["state_machine"] = field(default="state_machine", init=False)


Resource: TypeAlias = FunctionResource | QueueResource | ApiResource | StateMachineResource


@dataclass(frozen=True, slots=True)
class Skipped:
    """A resource not priced: its key, type and why (an unknown type, a false condition,
    a data source)."""

    key: str
    type: str
    reason: str


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A property the file does not settle.

    Attributes:
        where: ``file: Resources.Id.Properties.Name`` (or the plan address and attribute).
        reason: why it is unknown.
        used: what was used instead (a documented default), or ``"not priced"``.
    """

    where: str
    reason: str
    used: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}; {self.used}"
