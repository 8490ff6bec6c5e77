"""AWS SAM and CloudFormation templates (YAML or JSON) as the resources they deploy.

:func:`read_template` resolves Parameters (their ``Default``, or ``parameters=``),
Mappings, Conditions (a resource whose ``Condition`` is false is skipped) and
``Globals.Function``, then reads:

- ``AWS::Serverless::Function`` / ``AWS::Lambda::Function``: ``MemorySize``, ``Timeout``,
  ``Architectures``, ``EphemeralStorage``, ``ProvisionedConcurrencyConfig`` (SAM; for
  CloudFormation on an ``AWS::Lambda::Version`` or ``AWS::Lambda::Alias``), ``SnapStart``,
  ``ReservedConcurrentExecutions``, and the ``Events`` of SAM functions (an ``Api`` or
  ``HttpApi`` event without an API id creates SAM's implicit ``ServerlessRestApi`` /
  ``ServerlessHttpApi``); ``AWS::Lambda::EventSourceMapping`` links a queue to a function;
- ``AWS::Serverless::Api`` / ``AWS::ApiGateway::RestApi`` (REST), ``AWS::Serverless::HttpApi``
  / ``AWS::ApiGatewayV2::Api`` (HTTP; a WebSocket API is skipped, not priced);
- ``AWS::SQS::Queue`` (standard or FIFO);
- ``AWS::Serverless::StateMachine`` / ``AWS::StepFunctions::StateMachine``: ``Definition``
  (inline), ``DefinitionString``, ``DefinitionUri`` (a local file, relative to the
  template), ``DefinitionSubstitutions`` (resolved), ``Type`` / ``StateMachineType``.
  An S3 ``DefinitionUri`` or ``DefinitionS3Location`` is reported as unresolved.

Any other type is skipped and listed. A property the template does not settle is
reported (:class:`~costmodel.iac.resources.Unresolved`) with the default used instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InvalidFile
from .intrinsics import Resolver, Unknown, load_document
from .resources import (
    SAM_DEFAULTS,
    ApiResource,
    EventSource,
    FunctionResource,
    QueueResource,
    Resource,
    Skipped,
    StateMachineResource,
    Unresolved,
)

__all__ = ["FUNCTION_TYPES", "TemplateResources", "read_template"]

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
_REST = ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi")
_HTTP = ("AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api")
_STATE_MACHINES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
_IMPLICIT = {"Api": ("ServerlessRestApi", "rest"), "HttpApi": ("ServerlessHttpApi", "http")}
_EVENT_TARGET = {"Api": "RestApiId", "HttpApi": "ApiId", "SQS": "Queue"}


@dataclass
class TemplateResources:
    """What :func:`read_template` found."""

    kind: str
    resources: dict[str, Resource] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)


@dataclass
class _Reading:
    path: Path
    resolver: Resolver
    found: TemplateResources
    globals_: Mapping[str, Any]
    routes: dict[str, list[str]] = field(default_factory=dict)

    def where(self, key: str, prop: str | None = None) -> str:
        tail = f".Properties.{prop}" if prop else ""
        return f"{self.path.name}: Resources.{key}{tail}"

    def prop(self, key: str, props: Mapping[str, Any], name: str, default: Any) -> Any:
        """Property ``name`` resolved; an unknown one is reported and ``default`` used."""
        if name not in props:
            return default
        value = self.resolver.value(props[name])
        if isinstance(value, Unknown):
            used = f"used {default!r}" if default is not None else "not priced"
            self.found.unresolved.append(Unresolved(self.where(key, name), value.reason, used))
            return default
        return value

    def number(self, key: str, props: Mapping[str, Any], name: str, default: Any) -> Any:
        value = self.prop(key, props, name, default)
        if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return None if value is None else float(value)
        try:
            return float(str(value))
        except ValueError:
            raise InvalidFile(
                str(self.path), f"Resources.{key}.Properties.{name}", f"{value!r} is not a number"
            ) from None


def read_template(
    path: str | Path,
    *,
    parameters: Mapping[str, object] | None = None,
    region: str = "us-east-1",
    document: Any = None,
) -> TemplateResources:
    """The resources of the SAM or CloudFormation template at ``path``.

    Args:
        path: the template (YAML or JSON).
        parameters: values of its Parameters (default: each parameter's ``Default``).
        region: the value of ``AWS::Region``.
        document: the parsed template, if already read.

    Raises:
        InvalidFile: malformed YAML/JSON, no ``Resources`` mapping, a resource without
            ``Type``, a property of the wrong kind (the message names file and field).
        InvalidUsage: a parameter given that the template does not declare.
    """
    path = Path(path)
    doc = load_document(path) if document is None else document
    if not isinstance(doc, Mapping) or not isinstance(doc.get("Resources"), Mapping):
        raise InvalidFile(str(path), "Resources", "a template needs a Resources mapping")
    transform = doc.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    kind = (
        "sam" if any(str(t).startswith("AWS::Serverless") for t in transforms) else "cloudformation"
    )
    reading = _Reading(
        path,
        Resolver(doc, path=str(path), parameters=parameters, region=region),
        TemplateResources(kind),
        _mapping(_mapping(doc.get("Globals")).get("Function")),
    )
    for key, spec in doc["Resources"].items():
        _read_resource(reading, str(key), spec)
    _link_routes(reading)
    _link_provisioned(reading, doc["Resources"])
    _link_event_source_mappings(reading, doc["Resources"])
    _link_state_machine_tasks(reading)
    return reading.found


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _read_resource(reading: _Reading, key: str, spec: Any) -> None:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("Type"), str):
        raise InvalidFile(str(reading.path), f"Resources.{key}", "a resource needs a Type")
    kind = spec["Type"]
    props = _mapping(spec.get("Properties"))
    if "Condition" in spec:
        deployed = reading.resolver.condition(spec["Condition"])
        if isinstance(deployed, Unknown):
            reading.found.unresolved.append(
                Unresolved(reading.where(key), deployed.reason, "priced as deployed")
            )
        elif not deployed:
            reading.found.skipped.append(
                Skipped(key, kind, f"condition {spec['Condition']} is false")
            )
            return
    reader = _READERS.get(kind)
    if reader is None:
        reading.found.skipped.append(Skipped(key, kind, "not priced by callwise"))
        return
    reader(reading, key, kind, props)


# ---------------------------------------------------------------------- functions


def _function(reading: _Reading, key: str, kind: str, props: Mapping[str, Any]) -> None:
    if kind == "AWS::Serverless::Function":
        props = {**reading.globals_, **props}
    number = reading.number
    archs = reading.prop(key, props, "Architectures", [SAM_DEFAULTS["arch"]])
    storage = _mapping(reading.prop(key, props, "EphemeralStorage", {}))
    provisioned = _mapping(reading.prop(key, props, "ProvisionedConcurrencyConfig", {}))
    snap = _mapping(reading.prop(key, props, "SnapStart", {}))
    name = reading.prop(key, props, "FunctionName", None)
    function = FunctionResource(
        key,
        kind,
        memory_mb=number(key, props, "MemorySize", SAM_DEFAULTS["memory_mb"]),
        timeout_s=number(key, props, "Timeout", SAM_DEFAULTS["timeout_s"]),
        arch=str(archs[0]) if isinstance(archs, list) and archs else SAM_DEFAULTS["arch"],
        ephemeral_storage_mb=number(key, storage, "Size", SAM_DEFAULTS["ephemeral_storage_mb"]),
        provisioned_concurrency=number(key, provisioned, "ProvisionedConcurrentExecutions", 0.0),
        reserved_concurrency=number(key, props, "ReservedConcurrentExecutions", None),
        snap_start=snap.get("ApplyOn") == "PublishedVersions",
        events=_events(reading, key, props),
        name=name if isinstance(name, str) else None,
        source=reading.where(key),
    )
    reading.found.resources[key] = function


def _events(reading: _Reading, key: str, props: Mapping[str, Any]) -> tuple[EventSource, ...]:
    events = []
    for name, event in _mapping(props.get("Events")).items():
        event = _mapping(event)
        kind = str(event.get("Type", "?"))
        target = _target(_mapping(event.get("Properties")).get(_EVENT_TARGET.get(kind, "")))
        if target is None and kind in _IMPLICIT:
            target = _implicit_api(reading, kind)
        if target is not None and kind in _IMPLICIT:
            reading.routes.setdefault(target, []).append(key)
        events.append(EventSource(str(name), kind, target))
    return tuple(events)


def _target(raw: Any) -> str | None:
    """The logical id a ``!Ref X`` or ``!GetAtt X.Arn`` names."""
    if isinstance(raw, Mapping) and len(raw) == 1:
        ((fn, arg),) = raw.items()
        if fn == "Ref" and isinstance(arg, str):
            return arg
        if fn == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            return str(parts[0]) if isinstance(parts, list) and parts else None
    return None


def _implicit_api(reading: _Reading, kind: str) -> str:
    key, protocol = _IMPLICIT[kind]
    if key not in reading.found.resources:
        reading.found.resources[key] = ApiResource(
            key,
            "implicit AWS::Serverless::" + ("Api" if protocol == "rest" else "HttpApi"),
            protocol="rest" if protocol == "rest" else "http",
            implicit=True,
            source=f"{reading.path.name}: created by SAM for {kind} events without an API id",
        )
    return key


def _link_routes(reading: _Reading) -> None:
    """Each API's ``routes``: the functions whose Api/HttpApi events name it."""
    for api, functions in reading.routes.items():
        found = reading.found.resources.get(api)
        if isinstance(found, ApiResource):
            reading.found.resources[api] = replace(found, routes=tuple(functions))


def _link_provisioned(reading: _Reading, resources: Mapping[str, Any]) -> None:
    """``AWS::Lambda::Version`` / ``Alias`` with ``ProvisionedConcurrencyConfig``."""
    for key, spec in resources.items():
        spec = _mapping(spec)
        if spec.get("Type") not in ("AWS::Lambda::Version", "AWS::Lambda::Alias"):
            continue
        props = _mapping(spec.get("Properties"))
        config = _mapping(props.get("ProvisionedConcurrencyConfig"))
        if not config:
            continue
        function = _target(props.get("FunctionName"))
        count = reading.number(str(key), config, "ProvisionedConcurrentExecutions", 0.0)
        found = reading.found.resources.get(function or "")
        if isinstance(found, FunctionResource):
            total = found.provisioned_concurrency + (count or 0.0)
            reading.found.resources[found.key] = replace(found, provisioned_concurrency=total)
        else:
            reading.found.unresolved.append(
                Unresolved(
                    reading.where(str(key), "FunctionName"),
                    "provisioned concurrency for a function not in this template",
                    "not priced",
                )
            )


def _link_event_source_mappings(reading: _Reading, resources: Mapping[str, Any]) -> None:
    for key, spec in resources.items():
        spec = _mapping(spec)
        if spec.get("Type") != "AWS::Lambda::EventSourceMapping":
            continue
        props = _mapping(spec.get("Properties"))
        function = reading.found.resources.get(_target(props.get("FunctionName")) or "")
        if isinstance(function, FunctionResource):
            event = EventSource(
                str(key), "EventSourceMapping", _target(props.get("EventSourceArn"))
            )
            reading.found.resources[function.key] = replace(
                function, events=(*function.events, event)
            )


# ---------------------------------------------------------------------- APIs, queues


def _api(reading: _Reading, key: str, kind: str, props: Mapping[str, Any]) -> None:
    protocol = "rest" if kind in _REST else "http"
    if kind == "AWS::ApiGatewayV2::Api":
        declared = str(reading.prop(key, props, "ProtocolType", "HTTP")).upper()
        if declared != "HTTP":
            reading.found.skipped.append(
                Skipped(key, kind, f"ProtocolType {declared}: WebSocket APIs are not priced")
            )
            return
    reading.found.resources[key] = ApiResource(
        key, kind, protocol="rest" if protocol == "rest" else "http", source=reading.where(key)
    )


def _queue(reading: _Reading, key: str, kind: str, props: Mapping[str, Any]) -> None:
    fifo = reading.prop(key, props, "FifoQueue", False)
    reading.found.resources[key] = QueueResource(
        key, kind, fifo=str(fifo).lower() == "true", source=reading.where(key)
    )


# ---------------------------------------------------------------------- state machines


def _state_machine(reading: _Reading, key: str, kind: str, props: Mapping[str, Any]) -> None:
    type_prop = "Type" if kind == "AWS::Serverless::StateMachine" else "StateMachineType"
    workflow = str(reading.prop(key, props, type_prop, "STANDARD")).lower()
    if workflow not in ("standard", "express"):
        raise InvalidFile(
            str(reading.path),
            f"Resources.{key}.Properties.{type_prop}",
            f"{workflow.upper()!r}: must be STANDARD or EXPRESS",
        )
    substitutions = dict(_mapping(reading.prop(key, props, "DefinitionSubstitutions", {})))
    reading.found.resources[key] = StateMachineResource(
        key,
        kind,
        workflow="express" if workflow == "express" else "standard",
        definition=_definition(reading, key, props, substitutions),
        substitutions=substitutions,
        source=reading.where(key),
    )


def _definition(
    reading: _Reading, key: str, props: Mapping[str, Any], substitutions: Mapping[str, Any]
) -> dict[str, Any] | None:
    for name in ("Definition", "DefinitionString", "DefinitionUri", "DefinitionS3Location"):
        if name in props:
            return _DEFINITIONS[name](reading, key, props[name], substitutions)
    reading.found.unresolved.append(
        Unresolved(
            reading.where(key), "no Definition, DefinitionString or DefinitionUri", "not priced"
        )
    )
    return None


def _substituted(text: str, substitutions: Mapping[str, Any]) -> str:
    """``${Name}`` placeholders replaced as SAM does, in the text, before parsing (a
    placeholder may stand for a number outside any JSON string)."""
    for name, value in substitutions.items():
        if not isinstance(value, Unknown):
            text = text.replace("${" + str(name) + "}", str(value))
    return text


def _inline(
    reading: _Reading, key: str, raw: Any, substitutions: Mapping[str, Any]
) -> dict[str, Any] | None:
    del substitutions  # from_asl substitutes inside an inline definition's strings
    value = reading.resolver.value(raw)
    if isinstance(value, Unknown):
        reading.found.unresolved.append(
            Unresolved(reading.where(key, "Definition"), value.reason, "not priced")
        )
        return None
    return dict(_mapping(value))


def _string(
    reading: _Reading, key: str, raw: Any, substitutions: Mapping[str, Any]
) -> dict[str, Any] | None:
    value = reading.resolver.value(raw)
    if isinstance(value, Unknown):
        reading.found.unresolved.append(
            Unresolved(reading.where(key, "DefinitionString"), value.reason, "not priced")
        )
        return None
    try:
        return dict(json.loads(_substituted(str(value), substitutions)))
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise InvalidFile(
            str(reading.path),
            f"Resources.{key}.Properties.DefinitionString",
            f"not an ASL JSON document: {exc}",
        ) from None


def _uri(
    reading: _Reading, key: str, raw: Any, substitutions: Mapping[str, Any]
) -> dict[str, Any] | None:
    value = reading.resolver.value(raw)
    if isinstance(value, Mapping) or (isinstance(value, str) and value.startswith("s3://")):
        reading.found.unresolved.append(
            Unresolved(
                reading.where(key, "DefinitionUri"), "a definition in S3 is not read", "not priced"
            )
        )
        return None
    if isinstance(value, Unknown):
        reading.found.unresolved.append(
            Unresolved(reading.where(key, "DefinitionUri"), value.reason, "not priced")
        )
        return None
    file = reading.path.parent / str(value)
    if not file.is_file():
        raise InvalidFile(
            str(reading.path), f"Resources.{key}.Properties.DefinitionUri", f"no such file: {file}"
        )
    text = _substituted(file.read_text(encoding="utf-8-sig"), substitutions)
    document = load_document(file, text=text)
    if not isinstance(document, Mapping):
        raise InvalidFile(str(file), "States", "an ASL definition is a mapping with States")
    return dict(document)


def _s3_location(
    reading: _Reading, key: str, raw: Any, substitutions: Mapping[str, Any]
) -> dict[str, Any] | None:
    del raw, substitutions
    reading.found.unresolved.append(
        Unresolved(
            reading.where(key, "DefinitionS3Location"),
            "a definition in S3 is not read",
            "not priced",
        )
    )
    return None


_DEFINITIONS: dict[
    str, Callable[[_Reading, str, Any, Mapping[str, Any]], dict[str, Any] | None]
] = {
    "Definition": _inline,
    "DefinitionString": _string,
    "DefinitionUri": _uri,
    "DefinitionS3Location": _s3_location,
}


def _link_state_machine_tasks(reading: _Reading) -> None:
    """``{ARN or name: function key}`` of the template's functions, for each machine."""
    functions = [r for r in reading.found.resources.values() if isinstance(r, FunctionResource)]
    tasks: dict[str, str] = {}
    for function in functions:
        tasks[function.key] = function.key
        tasks[reading.resolver.arn(function.key)] = function.key
        if function.name:
            tasks[function.name] = function.key
    for key, found in list(reading.found.resources.items()):
        if isinstance(found, StateMachineResource):
            reading.found.resources[key] = replace(found, tasks=dict(tasks))


_READERS: dict[str, Callable[[_Reading, str, str, Mapping[str, Any]], None]] = {
    **dict.fromkeys(FUNCTION_TYPES, _function),
    **dict.fromkeys(_REST + _HTTP, _api),
    "AWS::SQS::Queue": _queue,
    **dict.fromkeys(_STATE_MACHINES, _state_machine),
}
