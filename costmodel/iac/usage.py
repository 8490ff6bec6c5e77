"""Usage files: how much each resource is used, in Infracost's form plus distributions.

A usage file is YAML, exactly as Infracost reads it::

    version: 0.1
    resource_usage:
      OrderFunction:                      # a logical ID (SAM/CFN) or a plan address
        monthly_requests: 3000000         # Infracost's keys, verbatim
        request_duration_ms: {lognormal: {p50: 120, p99: 900}}   # or a distribution
        calls: {PaymentFunction: sync}    # callwise: which function it calls, sync/async

The keys of each resource type are Infracost's (read from the ``infracost_usage``
struct tags of infracost/infracost ``internal/resources/aws/*.go`` at v0.10.x: lambda
``monthly_requests``, ``request_duration_ms``; ``aws_sqs_queue`` ``monthly_requests``,
``request_size_kb``; ``aws_api_gateway_rest_api`` ``monthly_requests``;
``aws_apigatewayv2_api`` ``monthly_requests``, ``request_size_kb``;
``aws_sfn_state_machine`` ``monthly_requests``, ``monthly_transitions``,
``workflow_duration_ms``, ``memory_mb``), see :data:`USAGE_KEYS`, plus callwise's
``error_rate`` and ``calls`` for functions, and the keys a state machine's ASL reader
takes (``states:`` ...), passed on to it as they are. Every value is an amount of
:mod:`costmodel.iac.values` (a number, or ``{lognormal: ...}``, ``{uniform: ...}``,
``{poisson: ...}``, ``{empirical: ...}``).

Monthly figures (``monthly_requests``, ``monthly_transitions``) are what you do not know
about the month: a distribution there makes the Monte Carlo bands. Per-request figures
(``request_duration_ms``, ``request_size_kb``, ``workflow_duration_ms``) describe single
requests: each drawn request is rounded as the provider bills it.

A resource of the file that the deployment does not have, and a key a resource type
does not take, are warnings (:class:`UsageFileWarning`, naming the file, the resource
and the key), as Infracost ignores them; a wrong value is an error
(:class:`~costmodel.errors.InvalidFile` naming ``resource_usage.<resource>.<key>``).
"""

from __future__ import annotations

import difflib
import fnmatch
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidFile, InvalidUsage
from .intrinsics import load_document
from .resources import Resource, StateMachineResource
from .values import Amount, amount

__all__ = [
    "CALL_MODES",
    "USAGE_KEYS",
    "ResourceUsage",
    "UsageFile",
    "UsageFileWarning",
    "bind_usage",
    "merge_usage",
    "read_usage",
    "usage_skeleton",
]

#: Keys of each kind of resource: ``{key: (low, high, what it is)}``.
USAGE_KEYS: dict[str, dict[str, tuple[float, float | None, str]]] = {
    "function": {
        "monthly_requests": (0.0, None, "requests a month"),
        "request_duration_ms": (0.0, 900_000.0, "duration of one request, ms"),
        "error_rate": (0.0, 1.0, "share of attempts that fail (compare/simulate)"),
    },
    "queue": {
        "monthly_requests": (0.0, None, "API requests a month (send, receive, delete)"),
        "request_size_kb": (0.0, 262_144.0, "size of one request, KB (64 KB chunks)"),
    },
    "api:rest": {"monthly_requests": (0.0, None, "API requests a month")},
    "api:http": {
        "monthly_requests": (0.0, None, "API requests a month"),
        "request_size_kb": (0.0, None, "size of one request, KB (512 KB chunks)"),
    },
    "state_machine": {
        "monthly_requests": (0.0, None, "executions a month"),
        "monthly_transitions": (0.0, None, "state transitions a month (overrides the ASL)"),
        "workflow_duration_ms": (0.0, None, "duration of one Express execution, ms"),
        "memory_mb": (0.0, None, "memory of an Express execution, MB (billed from 64 MB)"),
    },
}

#: How a function calls another (``calls: {Callee: sync}``).
CALL_MODES = ("sync", "async")

#: Keys a state machine's usage may have beyond Infracost's, read by ``costmodel.iac.asl``.
_ASL_KEYS = ("states", "items", "retries", "choices", "iterations", "children")


class UsageFileWarning(UserWarning):
    """A usage file names a resource the deployment lacks, or a key a type does not take."""


def kind_of(resource: Resource) -> str:
    """The row of :data:`USAGE_KEYS` for a resource."""
    if resource.kind == "api":
        return f"api:{resource.protocol}"
    return resource.kind


@dataclass(frozen=True, slots=True)
class ResourceUsage:
    """The usage of one resource: ``amounts`` by key, ``calls`` ``{callee: mode}``, and
    the raw mapping (passed on to the ASL reader for a state machine)."""

    key: str
    amounts: Mapping[str, Amount] = field(default_factory=dict)
    calls: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    def point(self, key: str) -> float | None:
        """The mean of amount ``key``, or None when not given."""
        found = self.amounts.get(key)
        return None if found is None else found.mean


@dataclass(frozen=True, slots=True)
class UsageFile:
    """A usage file as read: ``resources`` ``{key as written: mapping}``."""

    path: str
    resources: Mapping[str, Mapping[str, Any]]


def read_usage(source: str | Path | Mapping[str, Any] | UsageFile) -> UsageFile:
    """A usage file (a path, or the mapping it holds), checked for its shape.

    Raises:
        InvalidFile: malformed YAML (with the line), no ``version: 0.1``, or
            ``resource_usage`` not a mapping of mappings.

    >>> read_usage({"version": 0.1, "resource_usage": {"Fn": {"monthly_requests": 5}}}).resources
    {'Fn': {'monthly_requests': 5}}
    """
    if isinstance(source, UsageFile):
        return source
    if isinstance(source, Mapping):
        path, document = "<usage>", source
    else:
        path, document = str(source), load_document(Path(source))
    if not isinstance(document, Mapping):
        raise InvalidFile(
            path, "version", "a usage file is a mapping with version and resource_usage"
        )
    if str(document.get("version")) != "0.1":
        raise InvalidFile(
            path, "version", f"{document.get('version')!r}: must be 0.1 (Infracost's form)"
        )
    usage = document.get("resource_usage") or {}
    if not isinstance(usage, Mapping):
        raise InvalidFile(path, "resource_usage", "must map each resource to its usage keys")
    for key, values in usage.items():
        if not isinstance(values, Mapping):
            raise InvalidFile(
                path, f"resource_usage.{key}", f"{values!r}: must be a mapping of usage keys"
            )
    return UsageFile(path, {str(k): dict(v) for k, v in usage.items()})


def _matches(written: str, key: str) -> bool:
    """``aws_lambda_function.fn[*]`` matches every instance, as in Infracost's files."""
    if written == key:
        return True
    return "[*]" in written and fnmatch.fnmatchcase(key, written.replace("[*]", "[[]*[]]"))


def _warn(path: str, message: str) -> None:
    warnings.warn(f"{path}: {message}", UsageFileWarning, stacklevel=4)


def _calls(path: str, key: str, raw: object, functions: Iterable[str]) -> dict[str, str]:
    field_ = f"resource_usage.{key}.calls"
    if not isinstance(raw, Mapping):
        raise InvalidFile(path, field_, f"{raw!r}: must map each callee to sync or async")
    known = sorted(functions)
    calls: dict[str, str] = {}
    for callee, mode in raw.items():
        if callee not in known:
            close = difflib.get_close_matches(str(callee), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InvalidFile(
                path, f"{field_}.{callee}", f"no such function in the deployment{hint}"
            )
        if mode not in CALL_MODES:
            raise InvalidFile(path, f"{field_}.{callee}", f"{mode!r}: must be sync or async")
        calls[str(callee)] = str(mode)
    return calls


def _resource_usage(
    path: str, key: str, values: Mapping[str, Any], resource: Resource, functions: Iterable[str]
) -> ResourceUsage:
    allowed = USAGE_KEYS[kind_of(resource)]
    amounts: dict[str, Amount] = {}
    calls: dict[str, str] = {}
    for name, value in values.items():
        if name in allowed:
            low, high, _ = allowed[name]
            amounts[name] = amount(
                value, field=f"resource_usage.{key}.{name}", path=path, low=low, high=high
            )
        elif name == "calls" and resource.kind == "function":
            calls = _calls(path, key, value, functions)
        elif not (resource.kind == "state_machine" and name in _ASL_KEYS):
            close = difflib.get_close_matches(str(name), list(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            _warn(
                path,
                f"resource_usage.{key}.{name}: {resource.type} takes no usage key {name!r}{hint}; "
                f"ignored (it takes {', '.join(allowed)})",
            )
    return ResourceUsage(resource.key, amounts, calls, dict(values))


def bind_usage(
    usage: str | Path | Mapping[str, Any] | UsageFile | None, resources: Mapping[str, Resource]
) -> dict[str, ResourceUsage]:
    """The usage of each resource of ``resources`` (keyed by resource key).

    Warns:
        UsageFileWarning: for a resource of the file that ``resources`` lacks, and for
            a key its type does not take.

    Raises:
        InvalidFile: a wrong value (naming ``resource_usage.<resource>.<key>``).
    """
    if usage is None:
        return {}
    file = read_usage(usage)
    functions = [k for k, r in resources.items() if r.kind == "function"]
    bound: dict[str, ResourceUsage] = {}
    for written, values in file.resources.items():
        keys = [k for k in resources if _matches(written, k)]
        if not keys:
            close = difflib.get_close_matches(written, list(resources), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            _warn(
                file.path,
                f"resource_usage.{written}: no such resource in the deployment{hint}; ignored",
            )
        for key in keys:
            if key in bound and written != key:
                continue  # an exact entry wins over a wildcard
            bound[key] = _resource_usage(file.path, key, values, resources[key], functions)
    return bound


def usage_skeleton(resources: Mapping[str, Resource]) -> dict[str, Any]:
    """A usage file with every resource and each of its keys at 0 (Infracost's defaults).

    >>> from costmodel.iac.resources import QueueResource
    >>> usage_skeleton({"Q": QueueResource("Q", "AWS::SQS::Queue")})
    {'version': 0.1, 'resource_usage': {'Q': {'monthly_requests': 0, 'request_size_kb': 0}}}
    """
    body: dict[str, Any] = {}
    for key, resource in resources.items():
        keys = USAGE_KEYS[kind_of(resource)]
        body[key] = _machine_skeleton(resource) or {
            name: (64 if name == "memory_mb" else 0) for name in keys if name != "error_rate"
        }
    return {"version": 0.1, "resource_usage": body}


def _machine_skeleton(resource: Resource) -> dict[str, Any] | None:
    """A state machine with its definition: the keys its transitions are derived from
    (``monthly_requests``, and per state the Map items, loop bounds, Express durations,
    at 0), without ``monthly_transitions`` (a 0 there would override the definition)."""
    if not isinstance(resource, StateMachineResource) or resource.definition is None:
        return None
    from .asl import usage_skeleton as needs

    try:
        wanted = needs(
            resource.definition,
            kind=resource.workflow,
            substitutions=resource.substitutions or None,
            source=resource.source,
        )
    except InvalidUsage:  # a definition the reader refuses: the plain keys, as Infracost's
        return None
    states = {
        state: {name: 0 if value is None else value for name, value in keys.items()}
        for state, keys in wanted.get("states", {}).items()
    }
    top = {k: 0 if v is None else v for k, v in wanted.items() if k != "states"}
    return {**top, "states": states} if states else top


def merge_usage(existing: Mapping[str, Any] | None, skeleton: Mapping[str, Any]) -> dict[str, Any]:
    """``existing`` with what ``skeleton`` adds: new resources, and new keys of known
    ones. The user's values (and resources the skeleton lacks) are kept as they are.

    >>> merge_usage({"version": 0.1, "resource_usage": {"Q": {"monthly_requests": 9}}},
    ...             {"version": 0.1, "resource_usage": {"Q": {"monthly_requests": 0,
    ...                                                       "request_size_kb": 0}}})
    {'version': 0.1, 'resource_usage': {'Q': {'monthly_requests': 9, 'request_size_kb': 0}}}
    """
    merged: dict[str, Any] = {"version": 0.1, **dict(existing or {})}
    current = dict(merged.get("resource_usage") or {})
    for key, values in skeleton["resource_usage"].items():
        mine = dict(current.get(key) or {})
        current[key] = {**mine, **{k: v for k, v in values.items() if k not in mine}}
    merged["resource_usage"] = current
    return merged
