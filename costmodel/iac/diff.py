"""The cost difference between two deployments, both priced with the same random numbers.

:func:`diff` prices BASE and HEAD with one seed. Each resource draws from a stream
seeded by its key and usage key (:func:`costmodel.iac.pricing.stream`), so a resource
with the same usage draws the same sample months in both, and the band of the
difference (``diff_p5_usd`` ... ``diff_p95_usd``) shows what changed, not Monte Carlo
noise: an unchanged deployment has a difference of exactly 0 in every sample month.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..billing.engine import FreeTier
from ..errors import InvalidUsage
from .breakdown import Breakdown
from .deployment import Deployment

__all__ = ["DIFF_COLUMNS", "CostDiff", "diff", "parse_threshold"]

#: Columns of :attr:`CostDiff.resources`.
DIFF_COLUMNS = [
    "resource", "type", "status", "past_usd", "new_usd", "diff_usd", "diff_p5_usd", "diff_p95_usd",
]  # fmt: skip


@dataclass(frozen=True, eq=False)
class CostDiff:
    """BASE (past) against HEAD (new).

    Attributes:
        resources: one row per resource of either: ``resource, type, status``
            (``added``, ``removed``, ``changed``, ``unchanged``), ``past_usd``,
            ``new_usd``, ``diff_usd`` (means over the sample months) and the band of
            the difference ``diff_p5_usd``, ``diff_p95_usd``.
        past, new: the two breakdowns.
        diff_usd, diff_p5_usd, diff_p95_usd: the difference of the pooled totals.
    """

    resources: pd.DataFrame
    past: Breakdown
    new: Breakdown
    diff_usd: float
    diff_p5_usd: float
    diff_p95_usd: float
    month_diffs: np.ndarray = field(repr=False)

    @property
    def past_usd(self) -> float:
        """BASE's monthly total."""
        return self.past.total_usd

    @property
    def new_usd(self) -> float:
        """HEAD's monthly total."""
        return self.new.total_usd

    @property
    def diff_percent(self) -> float | None:
        """The change relative to BASE, in %; None when BASE costs nothing."""
        return None if self.past_usd == 0 else 100.0 * self.diff_usd / self.past_usd

    def __repr__(self) -> str:
        return (
            f"CostDiff(${self.past_usd:,.2f} -> ${self.new_usd:,.2f}: "
            f"{self.diff_usd:+,.2f}/month, p5 {self.diff_p5_usd:+,.2f}, "
            f"p95 {self.diff_p95_usd:+,.2f})"
        )

    def exceeds(self, threshold: tuple[float, bool]) -> bool:
        """Whether the INCREASE is above ``threshold`` (``(value, is_percent)``, as
        :func:`parse_threshold` returns): a decrease never exceeds it."""
        value, percent = threshold
        if self.diff_usd <= 0:
            return False
        if not percent:
            return self.diff_usd > value
        return self.past_usd == 0 or 100.0 * self.diff_usd / self.past_usd > value

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: Infracost's ``pastTotalMonthlyCost``, ``totalMonthlyCost``,
        ``diffTotalMonthlyCost``, ``currency``, plus the band of the difference and the
        per-resource rows."""
        rows = json.loads(self.resources.to_json(orient="records"))
        return {
            "currency": self.new.currency,
            "pastTotalMonthlyCost": self.past_usd,
            "totalMonthlyCost": self.new_usd,
            "diffTotalMonthlyCost": self.diff_usd,
            "diffTotalMonthlyCostP5": self.diff_p5_usd,
            "diffTotalMonthlyCostP95": self.diff_p95_usd,
            "diffPercent": self.diff_percent,
            "freeTier": self.new.free_tier,
            "samples": self.new.samples,
            "seed": self.new.seed,
            "base": self.past.source,
            "head": self.new.source,
            "resources": rows,
        }


def parse_threshold(text: str) -> tuple[float, bool]:
    """``"10%"`` -> ``(10.0, True)`` (relative to BASE), ``"50"`` -> ``(50.0, False)``
    (dollars a month).

    >>> parse_threshold("10%"), parse_threshold("50")
    ((10.0, True), (50.0, False))
    """
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw.rstrip("%").replace(",", "").replace("$", ""))
    except ValueError:
        raise InvalidUsage(
            f"--fail-above {text!r}: give a percentage (10%) or dollars (50)"
        ) from None
    if not np.isfinite(value) or value < 0:
        raise InvalidUsage(f"--fail-above {text!r}: must be a finite number >= 0")
    return value, percent


def _status(past: np.ndarray | None, new: np.ndarray | None, same_type: bool) -> str:
    if past is None:
        return "added"
    if new is None:
        return "removed"
    return "unchanged" if same_type and np.array_equal(past, new) else "changed"


def diff(
    base: Deployment,
    head: Deployment,
    *,
    samples: int = 1000,
    seed: int = 0,
    free_tier: FreeTier = False,
    region: str | None = None,
) -> CostDiff:
    """Past (``base``), new (``head``) and their difference, per resource and in total.

    Args:
        base: the deployment before the change (e.g. the main branch's template).
        head: the deployment after it (e.g. a pull request's).
        samples: Monte Carlo sample months, as in ``Deployment.breakdown``.
        seed: the random seed: both are priced with it (common random numbers).
        free_tier: the free offers, as in ``Deployment.breakdown``.
        region: the AWS region's prices.

    >>> from importlib import resources
    >>> from costmodel.iac.deployment import from_sam
    >>> examples = resources.files("costmodel") / "examples" / "iac"
    >>> usage = examples / "orders-usage.yml"
    >>> same = diff(from_sam(examples / "orders.yaml", usage),
    ...             from_sam(examples / "orders.yaml", usage), samples=200)
    >>> same.diff_usd, same.diff_p5_usd, same.diff_p95_usd
    (0.0, 0.0, 0.0)
    >>> arm = diff(from_sam(examples / "orders.yaml", usage),
    ...            from_sam(examples / "orders-arm.yaml", usage), samples=200)
    >>> arm.resources.set_index("resource").loc["FulfilFunction", "status"]
    'changed'
    >>> round(arm.diff_usd, 2), round(arm.diff_p95_usd - arm.diff_p5_usd, 9)
    (-7.19, 0.0)

    The band of the change is a point although OrderFunction's volume is uncertain: it
    draws the same months in both, and the change (FulfilFunction) does not depend on it.
    """
    past = base.breakdown(samples=samples, seed=seed, free_tier=free_tier, region=region)
    new = head.breakdown(samples=samples, seed=seed, free_tier=free_tier, region=region)
    rows = []
    keys = list(dict.fromkeys([*past.resource_months, *new.resource_months]))
    zero = np.zeros(past.samples)
    for key in keys:
        a, b = past.resource_months.get(key), new.resource_months.get(key)
        kinds = [d.resources[key].type for d in (base, head) if key in d.resources]
        change = (b if b is not None else zero) - (a if a is not None else zero)
        p5, p95 = np.percentile(change, [5, 95])
        rows.append(
            [key, kinds[-1], _status(a, b, len(set(kinds)) == 1),
             float(a.mean()) if a is not None else 0.0, float(b.mean()) if b is not None else 0.0,
             float(change.mean()), float(p5), float(p95)]
        )  # fmt: skip
    month_diffs = new.month_totals - past.month_totals
    low, high = np.percentile(month_diffs, [5, 95])
    return CostDiff(
        resources=pd.DataFrame(rows, columns=DIFF_COLUMNS),
        past=past,
        new=new,
        diff_usd=float(month_diffs.mean()),
        diff_p5_usd=float(low),
        diff_p95_usd=float(high),
        month_diffs=month_diffs,
    )
