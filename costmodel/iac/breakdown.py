"""A deployment's monthly cost per resource and cost component, with Monte Carlo bands.

:func:`breakdown` prices every resource of a :class:`~costmodel.iac.deployment.Deployment`
for ``samples`` sample months (:mod:`costmodel.iac.pricing`) and summarises each cost
component by its mean (``cost_usd``) and its 5th, 50th and 95th percentiles. When no
amount of the usage varies, every sample month is the same and the bands equal the point.

Each resource is priced on its own, without the free tier (one resource rarely owns its
account's allowance). The deployment's total pools every bill (``bill_a + bill_b``):
graduated tiers then apply to the summed volume, and the free tier, when asked
(``free_tier=``), once; the difference is the line ``account: free tier and pooled tiers``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from resilience._validate import Number, number

from ..billing.engine import FreeTier, free_tier_choice
from ..errors import InvalidUsage
from .pricing import Priced, price_resource
from .resources import Resource, Skipped, Unresolved
from .usage import ResourceUsage


class Priceable(Protocol):
    """What :func:`breakdown` reads of a :class:`~costmodel.iac.deployment.Deployment`."""

    @property
    def source(self) -> str: ...
    @property
    def resources(self) -> Mapping[str, Resource]: ...
    @property
    def skipped(self) -> tuple[Skipped, ...]: ...
    @property
    def unresolved(self) -> tuple[Unresolved, ...]: ...
    @property
    def usage(self) -> Mapping[str, ResourceUsage]: ...


__all__ = ["ACCOUNT_LINE", "LINE_COLUMNS", "Breakdown", "Priceable", "breakdown"]

#: The line of the pooled adjustment (free tier and tiers on the summed volume).
ACCOUNT_LINE = "account: free tier and pooled tiers"
#: Columns of :attr:`Breakdown.lines`.
LINE_COLUMNS = [
    "resource", "type", "component", "item", "unit", "quantity", "unit_price",
    "cost_usd", "p5_usd", "p50_usd", "p95_usd",
]  # fmt: skip

_SAMPLES = Number(low=1, high=1_000_000, integral=True, allowed="an integer from 1 to 1,000,000")
_SEED = Number(low=0, integral=True, allowed="an integer >= 0")


def _rows(frame: pd.DataFrame) -> list[Any]:
    """The rows of ``frame`` as named tuples (typed loosely: their fields vary)."""
    return list(frame.itertuples(index=False))


def _bands(values: np.ndarray) -> tuple[float, float, float, float]:
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return float(values.mean()), float(p5), float(p50), float(p95)


@dataclass(frozen=True, eq=False)
class Breakdown:
    """A deployment's monthly cost.

    Attributes:
        lines: one row per resource and bill item (a graduated tier is its own item):
            ``resource, type, component, item, unit, quantity`` (mean), ``unit_price``,
            ``cost_usd`` (mean over the sample months), ``p5_usd``, ``p50_usd``,
            ``p95_usd``.
        resources: one row per resource: ``resource, type, cost_usd, p5_usd, p50_usd,
            p95_usd, notes`` (what was assumed).
        total_usd, p5_usd, p50_usd, p95_usd: the deployment's month, pooled.
        account_usd: what pooling changed (the free tier, tiers on summed volume), <= 0.
        month_totals: the pooled total of each sample month (for :func:`costmodel.diff`).
        resource_months: ``{resource: each sample month's cost}``.
        skipped, unresolved: what the file had that is not priced or not settled.
        free_tier: the free-tier choice (``"none"``, ``"always"``, ``"legacy-12-month"``).
        samples, seed, currency, source: how it was computed and from what.
    """

    lines: pd.DataFrame
    resources: pd.DataFrame
    total_usd: float
    p5_usd: float
    p50_usd: float
    p95_usd: float
    account_usd: float
    month_totals: np.ndarray = field(repr=False)
    resource_months: Mapping[str, np.ndarray] = field(repr=False)
    skipped: tuple[Skipped, ...]
    unresolved: tuple[Unresolved, ...]
    free_tier: str
    samples: int
    seed: int
    currency: str
    source: str

    def __repr__(self) -> str:
        return (
            f"Breakdown({self.source!r}: {len(self.resources)} resources, "
            f"${self.total_usd:,.2f}/month (p5 ${self.p5_usd:,.2f}, p95 ${self.p95_usd:,.2f}), "
            f"{len(self.skipped)} skipped, {len(self.unresolved)} unresolved)"
        )

    def to_dict(self) -> dict[str, Any]:
        """The breakdown as JSON-ready data, keys in Infracost's spirit
        (``totalMonthlyCost``, ``currency``, ``resources[].costComponents``) plus the
        bands (``totalMonthlyCostP5`` ...), the free tier and what was skipped."""
        resources = []
        for row in _rows(self.resources):
            items = self.lines[self.lines["resource"] == row.resource]
            resources.append(
                {
                    "name": row.resource,
                    "resourceType": row.type,
                    "monthlyCost": row.cost_usd,
                    "monthlyCostP5": row.p5_usd,
                    "monthlyCostP50": row.p50_usd,
                    "monthlyCostP95": row.p95_usd,
                    "notes": list(row.notes),
                    "costComponents": [_component(item) for item in _rows(items)],
                }
            )
        return {
            "currency": self.currency,
            "totalMonthlyCost": self.total_usd,
            "totalMonthlyCostP5": self.p5_usd,
            "totalMonthlyCostP50": self.p50_usd,
            "totalMonthlyCostP95": self.p95_usd,
            "freeTier": self.free_tier,
            "accountAdjustment": self.account_usd,
            "samples": self.samples,
            "seed": self.seed,
            "source": self.source,
            "resources": resources,
            "skipped": [
                {"name": s.key, "resourceType": s.type, "reason": s.reason} for s in self.skipped
            ],
            "unresolved": [
                {"where": u.where, "reason": u.reason, "used": u.used} for u in self.unresolved
            ],
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=2)


def _component(item: Any) -> dict[str, Any]:
    return {
        "name": item.item,
        "component": item.component,
        "unit": item.unit,
        "monthlyQuantity": item.quantity,
        "price": item.unit_price,
        "monthlyCost": item.cost_usd,
        "monthlyCostP5": item.p5_usd,
        "monthlyCostP50": item.p50_usd,
        "monthlyCostP95": item.p95_usd,
    }


def _item_rows(priced: Priced) -> list[list[Any]]:
    """One row per bill item of a resource, summarised over its sample months."""
    samples = len(priced.bills)
    items: dict[str, dict[str, Any]] = {}
    unique = {id(b): b for b in priced.bills}
    for index, bill in enumerate(priced.bills if len(unique) > 1 else priced.bills[:1]):
        for _, component, item, quantity, unit, unit_price, cost in bill.items:
            entry = items.setdefault(
                item,
                {"component": component, "unit": unit, "price": unit_price,
                 "cost": np.zeros(samples), "quantity": np.zeros(samples)},
            )  # fmt: skip
            entry["cost"][index] += cost
            entry["quantity"][index] += quantity
    rows = []
    for item, entry in items.items():
        costs, quantities = entry["cost"], entry["quantity"]
        if len(unique) == 1:
            costs, quantities = np.full(samples, costs[0]), np.full(samples, quantities[0])
        rows.append(
            [priced.resource.key, priced.resource.type, entry["component"], item, entry["unit"],
             float(quantities.mean()), entry["price"], *_bands(costs)]
        )  # fmt: skip
    return rows


def _pooled_totals(priced: Sequence[Priced], samples: int) -> np.ndarray:
    """The pooled total of each sample month: the resources whose bill is the same every
    month are summed once, then each month adds the bills that vary (a sum of bills is
    priced again on the summed quantities, so the order of the additions does not matter)."""
    varying = [p for p in priced if len({id(b) for b in p.pooled}) > 1]
    fixed = [p.pooled[0] for p in priced if len({id(b) for b in p.pooled}) == 1]
    base = sum(fixed[1:], fixed[0]) if fixed else None
    if not varying:
        return np.full(samples, base.total if base is not None else 0.0)
    totals = np.empty(samples)
    for i in range(samples):
        month = [p.pooled[i] for p in varying]
        start = month[0] if base is None else base + month[0]
        totals[i] = sum(month[1:], start).total
    return totals


def _check(samples: object, seed: object) -> tuple[int, int]:
    return (
        int(number("samples", samples, _SAMPLES, error=InvalidUsage)),
        int(number("seed", seed, _SEED, error=InvalidUsage)),
    )


def breakdown(
    deployment: Priceable,
    *,
    samples: int = 1000,
    seed: int = 0,
    free_tier: FreeTier = False,
    region: str | None = None,
) -> Breakdown:
    """Price ``deployment`` for a month (see :meth:`Deployment.breakdown`)."""
    samples, seed = _check(samples, seed)
    choice = free_tier_choice(free_tier)
    resources: Mapping[str, Resource] = deployment.resources
    priced = [
        price_resource(
            resource,
            deployment.usage,
            resources,
            samples=samples,
            seed=seed,
            free_tier=choice,
            region=region,
        )
        for resource in resources.values()
    ]
    rows = [row for p in priced for row in _item_rows(p)]
    lines = pd.DataFrame(rows, columns=LINE_COLUMNS)
    months = {p.resource.key: np.array([b.total for b in p.bills]) for p in priced}
    per_resource = pd.DataFrame(
        [
            [p.resource.key, p.resource.type, *_bands(months[p.resource.key]), tuple(p.notes)]
            for p in priced
        ],
        columns=["resource", "type", "cost_usd", "p5_usd", "p50_usd", "p95_usd", "notes"],
    )
    totals = _pooled_totals(priced, samples)
    standalone = sum(months.values(), np.zeros(samples))
    total, p5, p50, p95 = _bands(totals)
    currencies = {b.currency for p in priced for b in p.bills[:1]} or {"USD"}
    return Breakdown(
        lines=lines,
        resources=per_resource,
        total_usd=total,
        p5_usd=p5,
        p50_usd=p50,
        p95_usd=p95,
        account_usd=float((totals - standalone).mean()),
        month_totals=totals,
        resource_months=months,
        skipped=tuple(deployment.skipped),
        unresolved=(*deployment.unresolved, *(u for p in priced for u in p.unresolved)),
        free_tier=choice,
        samples=samples,
        seed=seed,
        currency=currencies.pop(),
        source=deployment.source,
    )
