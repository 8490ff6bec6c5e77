"""A deployment's functions chained into the architectures ``compare`` and ``simulate`` take.

The template says what triggers a function (an API, a queue) but not whom its code
calls: the usage file's ``calls: {Callee: sync|async}`` says it. An entry point is a
function nobody calls; from it, a ``sync`` callee joins a :func:`costmodel.sync_chain`
(the caller waits, and is billed while it waits), an ``async`` one an
:func:`costmodel.async_chain` (``via="queue"`` when the callee is triggered by an SQS
queue of the deployment, else a direct async invoke); several callees of one caller are a
:func:`costmodel.fan_out`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import InvalidUsage
from .resources import FunctionResource, Resource, StateMachineResource
from .usage import ResourceUsage

if TYPE_CHECKING:
    from ..architectures.compositions import Architecture, Function


class Deployment(Protocol):
    """What the chaining reads of a :class:`~costmodel.iac.deployment.Deployment`."""

    @property
    def resources(self) -> Mapping[str, Resource]: ...
    @property
    def usage(self) -> Mapping[str, ResourceUsage]: ...
    def functions(self) -> dict[str, Function]: ...


__all__ = ["architectures"]


def _calls(deployment: Deployment) -> dict[str, dict[str, str]]:
    return {key: dict(u.calls) for key, u in deployment.usage.items() if u.calls}


def _queued(deployment: Deployment, key: str) -> bool:
    resource = deployment.resources.get(key)
    return isinstance(resource, FunctionResource) and any(e.kind == "SQS" for e in resource.events)


def _node(
    deployment: Deployment,
    key: str,
    functions: dict[str, Function],
    calls: dict[str, dict[str, str]],
    path: tuple[str, ...],
) -> Architecture:
    from ..architectures.compositions import async_chain, fan_out, sync_chain

    if key in path:
        raise InvalidUsage(
            f"calls: {' -> '.join((*path, key))} is a cycle; an entry point cannot be found"
        )
    callees = calls.get(key, {})
    if not callees:
        return functions[key]
    parts: list[Any] = []
    for callee, mode in callees.items():
        inner = _node(deployment, callee, functions, calls, (*path, key))
        if mode == "sync":
            parts.append(("sync", inner))
        else:
            parts.append(("async", inner, "queue" if _queued(deployment, callee) else "direct"))
    if len(parts) == 1 and parts[0][0] == "sync":
        return sync_chain(functions[key], parts[0][1])
    if len(parts) == 1:
        return async_chain(functions[key], parts[0][1], via=parts[0][2])
    return sync_chain(functions[key], fan_out(*(p[1] for p in parts)))


def architectures(deployment: Deployment) -> dict[str, Architecture]:
    """See :meth:`costmodel.iac.deployment.Deployment.architectures`."""
    functions = deployment.functions()
    calls = _calls(deployment)
    called = {callee for callees in calls.values() for callee in callees}
    found: dict[str, Architecture] = {}
    for key in functions:
        node = _node(deployment, key, functions, calls, ())  # raises on a cycle through key
        if key not in called:
            found[key] = node
    for key, resource in deployment.resources.items():
        if (
            isinstance(resource, StateMachineResource)
            and resource.definition is not None
            and key in deployment.usage
        ):
            machine = _machine(deployment, resource, functions)
            if machine is not None:
                found[key] = machine
    return found


def _machine(
    deployment: Deployment, resource: StateMachineResource, functions: dict[str, Function]
) -> Architecture | None:
    try:
        from .asl import from_asl, task_resources
    except ImportError:
        return None
    definition = resource.definition
    if definition is None:
        return None
    usage = deployment.usage.get(resource.key)
    invoked = task_resources(
        definition, substitutions=resource.substitutions or None, source=resource.source
    )
    tasks = {
        task: functions[key]
        for task, key in resource.tasks.items()
        if key in functions and task in invoked
    }
    machine: Architecture = from_asl(
        definition,
        name=resource.key,
        kind=resource.workflow,
        usage=dict(usage.raw) if usage else None,
        substitutions=resource.substitutions or None,
        functions=tasks,
        source=resource.source,
    )
    return machine
