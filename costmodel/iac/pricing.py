"""Each resource of a deployment priced for a month, once per Monte Carlo draw.

Every resource draws its amounts from its own random stream, seeded by ``(seed,
resource key, usage key)``: the same resource with the same usage gets the same numbers
in any deployment (common random numbers), so a diff of two deployments shows the
change, not noise. Monthly figures (``monthly_requests``, ``monthly_transitions``) are
drawn once per sample month; per-request figures (``request_duration_ms``,
``request_size_kb``, ``workflow_duration_ms``) are drawn per request and rounded by the
provider's rules (:func:`costmodel.estimate` rounds each one).

Sheets: functions ``aws-lambda`` (memory, architecture, ephemeral storage above 512 MB,
provisioned concurrency for the 730 hours of a month), queues ``aws-sqs-standard`` /
``aws-sqs-fifo``, REST APIs ``aws-apigw-rest``, HTTP APIs ``aws-apigw-http``, state
machines ``aws-sfn-standard`` / ``aws-sfn-express``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..billing.engine import Bill, FreeTier, estimate
from .resources import (
    ApiResource,
    FunctionResource,
    QueueResource,
    Resource,
    StateMachineResource,
    Unresolved,
)
from .usage import ResourceUsage

__all__ = ["HOURS_PER_MONTH", "PER_REQUEST_DRAWS", "Priced", "price_resource", "stream"]

#: Hours in a month for always-on charges (provisioned concurrency), as Infracost uses.
HOURS_PER_MONTH = 730.0
#: Requests drawn to stand for a month's per-request distribution (duration, size).
PER_REQUEST_DRAWS = 10_000


def stream(seed: int, key: str, name: str) -> np.random.Generator:
    """The random stream of usage key ``name`` of resource ``key``."""
    return np.random.default_rng([seed, zlib.crc32(key.encode()), zlib.crc32(name.encode())])


@dataclass
class Priced:
    """One resource priced: ``bills`` (one per sample month, the same object repeated
    when no amount varies), ``pooled`` (the same with the free tier, to be pooled),
    ``notes`` (what was assumed), ``unresolved`` (what could not be priced)."""

    resource: Resource
    bills: list[Bill]
    pooled: list[Bill]
    notes: list[str] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)


@dataclass
class _Quote:
    sheet: str
    month: dict[str, np.ndarray] = field(default_factory=dict)  # drawn per sample month
    fixed: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Context:
    samples: int
    seed: int
    usages: Mapping[str, ResourceUsage]
    resources: Mapping[str, Resource]
    notes: list[str] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)

    def month(self, key: str, name: str) -> np.ndarray | None:
        usage = self.usages.get(key)
        found = usage.amounts.get(name) if usage else None
        if found is None:
            return None
        return found.sample(stream(self.seed, key, name), self.samples)

    def per_request(self, key: str, name: str) -> float | np.ndarray | None:
        usage = self.usages.get(key)
        found = usage.amounts.get(name) if usage else None
        if found is None:
            return None
        draws = found.sample(stream(self.seed, key, name), PER_REQUEST_DRAWS)
        return float(draws[0]) if np.all(draws == draws[0]) else draws

    def zeros(self) -> np.ndarray:
        return np.zeros(self.samples)


def _requests(ctx: _Context, key: str) -> np.ndarray:
    found = ctx.month(key, "monthly_requests")
    if found is None and key in ctx.usages:
        ctx.notes.append("no monthly_requests in its usage: no requests billed")
    return ctx.zeros() if found is None else found


_PRICED_METERS = ("requests", "transitions", "duration")


def _price_note(quote: _Quote, region: str | None) -> str:
    """``monthly cost depends on usage: $0.20 per 1M requests, ...`` (as Infracost says it)."""
    from ..catalog.sheets import price_sheet
    from ..tables import unit_price

    sheet = price_sheet(quote.sheet).in_region(region)
    arch = quote.fixed.get("arch")
    names = (*_PRICED_METERS, f"duration-{arch}") if arch else _PRICED_METERS
    prices = [
        unit_price(m.tiers[0].unit_price, m.unit, sheet.currency)
        for m in sheet.meters
        if m.name in names
    ]
    return "no usage in the usage file: monthly cost depends on usage: " + ", ".join(prices)


def _function(ctx: _Context, fn: FunctionResource) -> list[_Quote]:
    quote = _Quote("aws-lambda", {"invocations": _requests(ctx, fn.key)})
    duration = ctx.per_request(fn.key, "request_duration_ms")
    if duration is None:
        duration = 0.0
        if ctx.usages.get(fn.key):
            ctx.notes.append(
                "no request_duration_ms: billed at the 1 ms minimum, as Infracost does"
            )
    quote.fixed.update(duration_ms=duration, memory_mb=fn.memory_mb, arch=fn.arch)
    if fn.ephemeral_storage_mb > 512:
        quote.fixed["ephemeral_storage_mb"] = fn.ephemeral_storage_mb
    if fn.provisioned_concurrency > 0:
        quote.fixed.update(
            provisioned_concurrency=fn.provisioned_concurrency, provisioned_hours=HOURS_PER_MONTH
        )
        ctx.notes.append(
            f"provisioned concurrency {fn.provisioned_concurrency:g} for {HOURS_PER_MONTH:g} h; "
            "every request billed at the on-demand duration rate (an upper bound)"
        )
    if fn.snap_start:
        ctx.notes.append("SnapStart cache and restores are not priced (give them to estimate)")
    return [quote]


def _queue(ctx: _Context, queue: QueueResource) -> list[_Quote]:
    quote = _Quote("aws-sqs-fifo" if queue.fifo else "aws-sqs-standard")
    quote.month["invocations"] = _requests(ctx, queue.key)
    size = ctx.per_request(queue.key, "request_size_kb")
    if size is not None:
        quote.fixed["payload_kb"] = size
    return [quote]


def _api(ctx: _Context, api: ApiResource) -> list[_Quote]:
    quote = _Quote("aws-apigw-rest" if api.protocol == "rest" else "aws-apigw-http")
    requests = ctx.month(api.key, "monthly_requests")
    if requests is None and any(ctx.month(r, "monthly_requests") is not None for r in api.routes):
        parts = [ctx.month(r, "monthly_requests") for r in api.routes]
        requests = sum((p for p in parts if p is not None), ctx.zeros())
        ctx.notes.append(f"monthly_requests: the sum of its routes' ({', '.join(api.routes)})")
    quote.month["invocations"] = requests if requests is not None else _requests(ctx, api.key)
    size = ctx.per_request(api.key, "request_size_kb") if api.protocol == "http" else None
    if size is not None:
        quote.fixed["payload_kb"] = size
    return [quote]


def _state_machine(ctx: _Context, sm: StateMachineResource) -> list[_Quote]:
    executions = _requests(ctx, sm.key)
    if sm.workflow == "express":
        return [_express(ctx, sm, executions)]
    transitions = ctx.month(sm.key, "monthly_transitions")
    if transitions is not None:
        ctx.notes.append("monthly_transitions given: it overrides the definition, as in Infracost")
        return [_Quote("aws-sfn-standard", {"invocations": transitions}, {"transitions": 1})]
    per_execution = _asl_transitions(ctx, sm) if executions.any() else None
    if per_execution is None:
        return [_Quote("aws-sfn-standard", {"invocations": ctx.zeros()}, {"transitions": 1})]
    return [_Quote("aws-sfn-standard", {"invocations": executions}, {"transitions": per_execution})]


def _express(ctx: _Context, sm: StateMachineResource, executions: np.ndarray) -> _Quote:
    usage = ctx.usages.get(sm.key)
    memory = usage.point("memory_mb") if usage else None
    if memory is None:
        memory = 64.0
        ctx.notes.append("no memory_mb: Express billed at its 64 MB minimum")
    duration = ctx.per_request(sm.key, "workflow_duration_ms")
    if duration is None:
        duration = 0.0
        if usage:
            ctx.notes.append("no workflow_duration_ms: billed at the 100 ms minimum")
    return _Quote(
        "aws-sfn-express",
        {"invocations": executions},
        {"duration_ms": duration, "memory_mb": memory},
    )


def _asl_transitions(ctx: _Context, sm: StateMachineResource) -> float | None:
    """Mean transitions per execution derived from the definition (costmodel.iac.asl)."""
    if sm.definition is None:
        return None
    try:
        from .asl import from_asl
    except ImportError:
        ctx.unresolved.append(
            Unresolved(
                sm.source,
                "transitions per execution need costmodel.iac.asl (not installed)",
                "not priced: give monthly_transitions",
            )
        )
        return None
    usage = ctx.usages.get(sm.key)
    machine = from_asl(
        sm.definition,
        name=sm.key,
        kind=sm.workflow,
        usage=dict(usage.raw) if usage else None,
        substitutions=sm.substitutions or None,
        functions=None,
        source=sm.source,
    )
    draws = np.asarray(machine.transitions(samples=PER_REQUEST_DRAWS, seed=ctx.seed), dtype=float)
    ctx.notes.append(f"transitions per execution from the definition: mean {draws.mean():.4g}")
    return float(draws.mean())


_QUOTES: dict[str, Callable[[_Context, Any], list[_Quote]]] = {
    "function": _function,
    "queue": _queue,
    "api": _api,
    "state_machine": _state_machine,
}


def _bills(quote: _Quote, samples: int, free_tier: FreeTier, region: str | None) -> list[Bill]:
    varying = any(not np.all(a == a[0]) for a in quote.month.values())
    indices = range(samples) if varying else [0]
    bills = [
        estimate(
            quote.sheet,
            free_tier=free_tier,
            region=region,
            **quote.fixed,
            **{k: float(v[i]) for k, v in quote.month.items()},
        )
        for i in indices
    ]
    return bills if varying else bills * samples


def price_resource(
    resource: Resource,
    usages: Mapping[str, ResourceUsage],
    resources: Mapping[str, Resource],
    *,
    samples: int,
    seed: int,
    free_tier: FreeTier,
    region: str | None,
) -> Priced:
    """``resource`` priced for ``samples`` sample months (see the module docstring)."""
    ctx = _Context(samples, seed, usages, resources)
    quotes = _QUOTES[resource.kind](ctx, resource)
    if resource.key not in usages and not ctx.notes:
        ctx.notes.append(_price_note(quotes[0], region))
    bills: list[Bill] = []
    pooled: list[Bill] = []
    for quote in quotes:  # one quote per sheet; a resource has one today
        bills = _bills(quote, samples, False, region)
        pooled = (
            bills if free_tier in (False, "none") else _bills(quote, samples, free_tier, region)
        )
    return Priced(resource, bills, pooled, ctx.notes, ctx.unresolved)
