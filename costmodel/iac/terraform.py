"""Terraform plan JSON (``terraform show -json plan.out``) as the resources it deploys.

:func:`read_plan` walks ``planned_values.root_module`` and its ``child_modules`` (so a
resource keeps its full address, ``module.api.aws_lambda_function.handler``, the key of
Infracost's usage files), and reads ``aws_lambda_function`` (``memory_size``,
``timeout``, ``architectures``, ``ephemeral_storage``, ``reserved_concurrent_executions``,
``snap_start``), ``aws_lambda_provisioned_concurrency_config`` (added to the function
it names), ``aws_sfn_state_machine`` (``definition``, ``type``), ``aws_sqs_queue``
(``fifo_queue``), ``aws_api_gateway_rest_api`` and ``aws_apigatewayv2_api`` (HTTP; a
WebSocket API is skipped). A plan without ``planned_values`` (one that only destroys)
is read from ``resource_changes`` (their ``after`` values). Data sources and every other
type are skipped and listed. A value the plan leaves to apply time (``null``, e.g. a
definition built from another resource's ARN) is reported, with the default used.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import InvalidFile
from .resources import (
    SAM_DEFAULTS,
    ApiResource,
    FunctionResource,
    QueueResource,
    Skipped,
    StateMachineResource,
    Unresolved,
)
from .templates import TemplateResources

__all__ = ["is_plan", "read_plan"]


def is_plan(document: Any) -> bool:
    """Whether a parsed JSON document is a Terraform plan (``format_version`` and
    ``planned_values`` or ``resource_changes``) rather than a CloudFormation template.

    >>> is_plan({"format_version": "1.2", "planned_values": {}}), is_plan({"Resources": {}})
    (True, False)
    """
    return (
        isinstance(document, Mapping)
        and "format_version" in document
        and ("planned_values" in document or "resource_changes" in document)
    )


def _resources(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from module.get("resources") or ()
    for child in module.get("child_modules") or ():
        yield from _resources(child)


def _planned(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    root = (plan.get("planned_values") or {}).get("root_module")
    if isinstance(root, Mapping):
        return list(_resources(root))
    found: list[Mapping[str, Any]] = []
    for change in plan.get("resource_changes") or ():
        after = (change.get("change") or {}).get("after")
        if after is not None:
            found.append({**change, "values": after})
    return found


class _Plan:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.found = TemplateResources("terraform")

    def where(self, address: str, attribute: str | None = None) -> str:
        return f"{self.path.name}: {address}{'.' + attribute if attribute else ''}"

    def value(self, address: str, values: Mapping[str, Any], name: str, default: Any) -> Any:
        if name not in values:
            return default
        value = values[name]
        if value is None and default is not None:
            self.found.unresolved.append(
                Unresolved(self.where(address, name), "known only after apply", f"used {default!r}")
            )
            return default
        return value

    def number(self, address: str, values: Mapping[str, Any], name: str, default: Any) -> Any:
        value = self.value(address, values, name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidFile(str(self.path), f"{address}.{name}", f"{value!r} is not a number")
        return float(value)


def _block(values: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A nested block (a list of one mapping in plan JSON)."""
    block = values.get(name)
    if isinstance(block, list) and block and isinstance(block[0], Mapping):
        return block[0]
    return block if isinstance(block, Mapping) else {}


def _function(plan: _Plan, address: str, kind: str, values: Mapping[str, Any]) -> None:
    archs = plan.value(address, values, "architectures", [SAM_DEFAULTS["arch"]])
    reserved = plan.number(address, values, "reserved_concurrent_executions", None)
    snap = _block(values, "snap_start")
    plan.found.resources[address] = FunctionResource(
        address,
        kind,
        memory_mb=plan.number(address, values, "memory_size", SAM_DEFAULTS["memory_mb"]),
        timeout_s=plan.number(address, values, "timeout", SAM_DEFAULTS["timeout_s"]),
        arch=str(archs[0]) if isinstance(archs, list) and archs else SAM_DEFAULTS["arch"],
        ephemeral_storage_mb=plan.number(
            address,
            _block(values, "ephemeral_storage"),
            "size",
            SAM_DEFAULTS["ephemeral_storage_mb"],
        ),
        reserved_concurrency=None if reserved is None or reserved < 0 else reserved,
        snap_start=snap.get("apply_on") == "PublishedVersions",
        name=values.get("function_name") if isinstance(values.get("function_name"), str) else None,
        source=plan.where(address),
    )


def _queue(plan: _Plan, address: str, kind: str, values: Mapping[str, Any]) -> None:
    fifo = bool(plan.value(address, values, "fifo_queue", False))
    plan.found.resources[address] = QueueResource(
        address, kind, fifo=fifo, source=plan.where(address)
    )


def _api(plan: _Plan, address: str, kind: str, values: Mapping[str, Any]) -> None:
    if kind == "aws_apigatewayv2_api":
        protocol = str(plan.value(address, values, "protocol_type", "HTTP")).upper()
        if protocol != "HTTP":
            plan.found.skipped.append(
                Skipped(address, kind, f"protocol_type {protocol}: WebSocket APIs are not priced")
            )
            return
    plan.found.resources[address] = ApiResource(
        address,
        kind,
        protocol="rest" if kind == "aws_api_gateway_rest_api" else "http",
        source=plan.where(address),
    )


def _state_machine(plan: _Plan, address: str, kind: str, values: Mapping[str, Any]) -> None:
    workflow = str(plan.value(address, values, "type", "STANDARD") or "STANDARD").lower()
    if workflow not in ("standard", "express"):
        raise InvalidFile(
            str(plan.path), f"{address}.type", f"{workflow.upper()!r}: must be STANDARD or EXPRESS"
        )
    raw = values.get("definition")
    definition = None
    if isinstance(raw, str):
        try:
            definition = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidFile(
                str(plan.path), f"{address}.definition", f"not an ASL JSON document: {exc.msg}"
            ) from None
    else:
        plan.found.unresolved.append(
            Unresolved(plan.where(address, "definition"), "known only after apply", "not priced")
        )
    plan.found.resources[address] = StateMachineResource(
        address,
        kind,
        workflow="express" if workflow == "express" else "standard",
        definition=definition if isinstance(definition, dict) else None,
        source=plan.where(address),
    )


_READERS: dict[str, Callable[[_Plan, str, str, Mapping[str, Any]], None]] = {
    "aws_lambda_function": _function,
    "aws_sqs_queue": _queue,
    "aws_api_gateway_rest_api": _api,
    "aws_apigatewayv2_api": _api,
    "aws_sfn_state_machine": _state_machine,
}


def _provisioned(plan: _Plan, configs: list[tuple[str, Mapping[str, Any]]]) -> None:
    functions = [r for r in plan.found.resources.values() if isinstance(r, FunctionResource)]
    for address, values in configs:
        name = values.get("function_name")
        count = plan.number(address, values, "provisioned_concurrent_executions", 0.0) or 0.0
        match = next((f for f in functions if name is not None and name in (f.name, f.key)), None)
        if match is None:
            plan.found.unresolved.append(
                Unresolved(
                    plan.where(address, "function_name"),
                    f"{name!r} names no aws_lambda_function of the plan "
                    "(or is known only after apply)",
                    "not priced",
                )
            )
            continue
        current = plan.found.resources[match.key]
        assert isinstance(current, FunctionResource)
        total = current.provisioned_concurrency + count
        plan.found.resources[match.key] = replace(current, provisioned_concurrency=total)


def _link_tasks(plan: _Plan) -> None:
    tasks: dict[str, str] = {}
    for resource in plan.found.resources.values():
        if isinstance(resource, FunctionResource):
            tasks[resource.key] = resource.key
            if resource.name:
                tasks[resource.name] = resource.key
    for key, resource in list(plan.found.resources.items()):
        if isinstance(resource, StateMachineResource):
            plan.found.resources[key] = replace(resource, tasks=dict(tasks))


def read_plan(path: str | Path, *, document: Any = None) -> TemplateResources:
    """The resources of the Terraform plan JSON at ``path`` (``document``: parsed).

    Raises:
        InvalidFile: not a plan, malformed JSON, or an attribute of the wrong kind.
    """
    path = Path(path)
    if document is None:
        from .intrinsics import load_document

        document = load_document(path)
    if not is_plan(document):
        raise InvalidFile(
            str(path), "format_version", "not a Terraform plan (terraform show -json plan.out)"
        )
    plan = _Plan(path)
    configs = []
    for resource in _planned(document):
        address, kind = str(resource.get("address")), str(resource.get("type"))
        values = resource.get("values") or {}
        if resource.get("mode") == "data":
            plan.found.skipped.append(Skipped(address, kind, "a data source (not deployed)"))
        elif kind == "aws_lambda_provisioned_concurrency_config":
            configs.append((address, values))
        elif kind in _READERS:
            _READERS[kind](plan, address, kind, values)
        else:
            plan.found.skipped.append(Skipped(address, kind, "not priced by callwise"))
    _provisioned(plan, configs)
    _link_tasks(plan)
    return plan.found
