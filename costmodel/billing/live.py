"""A live price per attempt, for :mod:`resilience.telemetry`'s ``callwise.cost`` counter.

:class:`LivePricer` implements resilience's pricing protocol (``price(record) -> {component:
USD}``, DESIGN "Layering": resilience defines it, costmodel implements it): each attempt
that ran the callee is priced on a function platform of the catalog, with the platform's
rounding (billed duration rounded up per invocation, memory to its step) at the
**marginal first-tier price**.

It is an estimate: graduated tiers and free tiers apply to a month's pooled usage, which
no single attempt can know. For the month's bill, use :func:`costmodel.bill_ledger` on the
ledger (tiers and free tiers applied once).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..catalog.sheets import PriceSheet, price_sheet
from ..errors import InvalidUsage
from .engine import estimate
from .ledger import BYTES_PER_GB, EXECUTED_OUTCOMES
from .quantities import _step_up

__all__ = ["LivePricer"]

_EXECUTED = frozenset(EXECUTED_OUTCOMES)


class LivePricer:
    """Prices each attempt at the first-tier unit prices of a FaaS price sheet.

    Args:
        provider: a catalog key with a request price and a GB-s duration price
            (``"aws-lambda"``, ``"azure-functions-consumption"``,
            ``"huawei-functiongraph"``), or a :class:`~costmodel.PriceSheet` of that form.
        memory_mb: the callee's configured memory, MB; or a mapping from the name on the
            ledger rows (the Policy's name, else the function's) to its memory. Functions
            missing from a mapping are not priced. Memory comes from your configuration,
            never from a cloud API call.
        region: a region of the sheet (None: its default region).
        arch: ``"x86_64"`` or ``"arm64"`` where the sheet prices them apart.
        response_egress: the callee's responses leave the provider's network: each
            attempt's ``response_bytes`` is priced as ``transfer`` at the sheet's egress
            price.

    Raises:
        InvalidUsage: an unknown provider or region, a sheet without those meters, a
            memory size the platform does not offer.

    Example:
        >>> from resilience import Record
        >>> pricer = LivePricer("aws-lambda", memory_mb=1024)
        >>> record = Record("quote", "attempt", 0.0, duration_s=0.1004, outcome="ok")  # 101 ms
        >>> {k: round(v, 12) for k, v in pricer.price(record).items()}
        {'requests': 2e-07, 'compute': 1.683337e-06}
    """

    def __init__(
        self,
        provider: str | PriceSheet = "aws-lambda",
        *,
        memory_mb: float | Mapping[str, float],
        region: str | None = None,
        arch: str = "x86_64",
        response_egress: bool = False,
    ) -> None:
        sheet = provider if isinstance(provider, PriceSheet) else price_sheet(provider)
        self.sheet = sheet.in_region(region)
        self.arch = arch
        meters = {m.name for m in self.sheet.meters}
        compute = f"duration-{arch}" if f"duration-{arch}" in meters else "duration"
        if "requests" not in meters or compute not in meters:
            raise InvalidUsage(
                f"provider={self.sheet.key!r}: LivePricer needs a sheet with a 'requests' meter "
                f"and a GB-s 'duration' (or 'duration-{arch}') meter, e.g. 'aws-lambda'"
            )
        if not isinstance(response_egress, bool):
            raise InvalidUsage(f"response_egress={response_egress!r}: must be True or False")
        if response_egress and "egress" not in meters:
            raise InvalidUsage(
                f"response_egress=True: {self.sheet.key} has no egress meter to price it"
            )
        rules = self.sheet.rules
        self._step_ms = float(rules.get("duration_step_ms", 1))
        self._min_ms = float(rules.get("min_billed_ms", 0))
        self._request_usd = self.sheet.meter("requests").first_unit_price
        self._gb_s_usd = self.sheet.meter(compute).first_unit_price
        self._gb_usd = self.sheet.meter("egress").first_unit_price if response_egress else 0.0
        self._memory_gb = self._check_memory(memory_mb, rules)
        self.memory_mb = memory_mb if not isinstance(memory_mb, Mapping) else dict(memory_mb)

    def _check_memory(self, memory_mb: object, rules: Mapping[str, Any]) -> Any:
        """GB billed per function (a float for all, or a read-only mapping)."""

        def billed_gb(name: str, value: Any) -> float:
            # the estimate's own checks (range, steps) name the parameter and the value
            options: dict[str, Any] = {"arch": self.arch} if "archs" in rules else {}
            estimate(self.sheet, invocations=1, duration_ms=1.0, memory_mb=value, **options)
            step, minimum = rules.get("memory_step_mb", 1), rules.get("min_memory_mb", 0)
            return _step_up(float(value), step, minimum) / 1024

        if isinstance(memory_mb, Mapping):
            if not memory_mb or not all(isinstance(k, str) for k in memory_mb):
                raise InvalidUsage(
                    f"memory_mb={memory_mb!r}: a mapping needs at least one function name "
                    "(str) -> MB"
                )
            return MappingProxyType({k: billed_gb(k, v) for k, v in memory_mb.items()})
        return billed_gb("memory_mb", memory_mb)

    def price(self, record: Any) -> Mapping[str, float]:
        """USD per component for one ledger ``record`` (an executed attempt), else ``{}``.

        Attempts the callee never ran (``rejected``, ``rate_limited``, ``bulkhead_full``)
        and call rows cost nothing here: the call's cost is the sum of its attempts'.
        """
        if record.kind != "attempt" or record.outcome not in _EXECUTED:
            return {}
        memory = self._memory_gb
        if not isinstance(memory, float):
            found = memory.get(record.function)
            if found is None:
                return {}
            memory = found
        # to the nanosecond first: a clock's float noise (120.0000000008 ms) is not a
        # millisecond more
        duration_ms = round(max(record.duration_s, 0.0) * 1000.0, 6)
        billed_ms = max(math.ceil(duration_ms / self._step_ms) * self._step_ms, self._min_ms)
        priced = {
            "requests": self._request_usd,
            "compute": memory * billed_ms / 1000.0 * self._gb_s_usd,
        }
        if self._gb_usd and record.response_bytes:
            priced["transfer"] = record.response_bytes / BYTES_PER_GB * self._gb_usd
        return priced

    def __repr__(self) -> str:
        return f"LivePricer({self.sheet.key!r}, memory_mb={self.memory_mb!r}, arch={self.arch!r})"
