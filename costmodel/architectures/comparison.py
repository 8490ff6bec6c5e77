"""Price architectures side by side, and sweep volume, memory or error rate.

:func:`compare` simulates each architecture
(:func:`costmodel.architectures.compositions.simulate_usage`), then
prices its usage with :func:`costmodel.estimate`, one service at a time: every
function on ``provider`` (each invocation's duration rounded by the provider's rules),
gateways, queues, storage requests, workflows on the services named in ``services``
(the AWS sheets of the catalog by default), egress on the platform's own egress meter
where it has one (aws-lambda, gcp-functions-gen1), else on ``services["egress"]``. The
sheets used are in ``frame.attrs["services"]``; when one of another vendor stands in for
the platform's own (the catalog has AWS's only) and ``services`` does not name it, a
:class:`SubstitutedServiceWarning` says so. All bills of one architecture are added, so
graduated tiers and free tiers apply to the pooled usage, once.

:func:`sweep` repeats this over monthly volume, memory size or error rate and reports
where architectures break even and which memory size is cheapest (the question AWS
Lambda Power Tuning answers for one function; how duration changes with memory is
the model you give, see :class:`costmodel.architectures.distributions.CpuBound`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from resilience._validate import Number, number

from ..billing.engine import Bill, FreeTier, accepted_options, estimate, free_tier_choice
from ..catalog.sheets import DEFAULT_SERVICES, PriceSheet, price_sheet, providers
from ..errors import InvalidUsage
from .compositions import (
    INIT_BILLED,
    Architecture,
    ArchitectureUsage,
    Function,
    FunctionUsage,
    map_functions,
    simulate_usage,
)
from .distributions import CpuBound
from .strategies import keep_warm_bills, keep_warm_cold_starts

__all__ = [
    "COMPONENT_ORDER",
    "DEFAULT_SERVICES",
    "SubstitutedServiceWarning",
    "Sweep",
    "compare",
    "latency_samples",
    "price_usage",
    "sweep",
]

#: Cost components, in the order of the columns.
COMPONENT_ORDER = ("requests", "compute", "gateway", "queue", "storage", "orchestration", "egress")

_QUANTILES = ((50, "latency_p50_ms"), (95, "latency_p95_ms"), (99, "latency_p99_ms"))

#: Billing models of function platforms (the ``provider`` of :func:`compare`).
_FUNCTION_MODELS = (
    "faas",
    "gcp-gen1",
    "cloud-run",
    "alibaba-fc3",
    "workers",
    "vercel-fluid",
    "cloud-run-service",
    "azure-flex",
)

#: Function platforms that bill CPU time: each function needs cpu_ms or cpu_share.
_CPU_MODELS = ("workers", "vercel-fluid")
#: Function platforms that do not bill memory (memory_mb is not passed to them).
_NO_MEMORY_MODELS = ("workers",)


def _check_provider(provider: str) -> None:
    """``provider`` must be a function platform of the catalog (UnknownProvider if unknown)."""
    if price_sheet(provider).model not in _FUNCTION_MODELS:
        catalog = providers()
        platforms = catalog.loc[catalog["model"].isin(_FUNCTION_MODELS), "key"]
        raise InvalidUsage(
            f"provider={provider!r}: not a function platform; the functions run on one of "
            f"{', '.join(platforms)} (queues, gateways, storage, workflows and egress are "
            "priced with services=)"
        )


def _accepts(provider: str | PriceSheet, option: str) -> bool:
    return option in accepted_options(provider)


class SubstitutedServiceWarning(UserWarning):
    """A service was priced on another vendor's sheet than the function platform's.

    The catalog's gateways, queues, storage, workflows and data transfer are AWS's: with
    another platform they stand in for that vendor's services unless ``services=`` names
    the sheets (naming them, even the AWS ones, is the explicit choice: no warning).
    """


def _services(services: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(DEFAULT_SERVICES)
    for key, value in (services or {}).items():
        if key not in DEFAULT_SERVICES:
            raise InvalidUsage(
                f"services: unknown service {key!r}; known: {', '.join(DEFAULT_SERVICES)}"
            )
        price_sheet(value)  # UnknownProvider early
        merged[key] = value
    return merged


_SET_BY_COMPARE = {
    "egress_gb": "comes from each Function's egress_kb; set it there",
    "provisioned_concurrency": "is configured per function; price it with estimate()",
    "provisioned_hours": "is configured per function; price it with estimate()",
    "provisioned_invocations": "is configured per function; price it with estimate()",
    "provisioned_duration_ms": "is configured per function; price it with estimate()",
}


def _function_options(provider: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validated provider options for every function bill (see :func:`compare`)."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise InvalidUsage(f"options={options!r}: must be a mapping {{option: value}}")
    accepted = accepted_options(provider)
    for key in options:
        if key in _SET_BY_COMPARE:
            raise InvalidUsage(f"options: {key!r} {_SET_BY_COMPARE[key]}")
        if key not in accepted:
            usable = [o for o in accepted if o not in _SET_BY_COMPARE]
            raise InvalidUsage(
                f"options: {provider} does not bill {key!r}; it accepts "
                f"{', '.join(usable) or 'no option'}"
            )
    return dict(options)


def _ordered(used: Mapping[str, str]) -> dict[str, str]:
    """``used`` in a stable order: functions, then :data:`DEFAULT_SERVICES` order."""
    return {role: used[role] for role in ("functions", *DEFAULT_SERVICES) if role in used}


def _warn_substituted(
    provider: str, used: Mapping[str, str], services: Mapping[str, str] | None, stacklevel: int
) -> None:
    vendor = price_sheet(provider).vendor
    foreign = {
        role: key
        for role, key in used.items()
        if role not in (services or {}) and price_sheet(key).vendor != vendor
    }
    if foreign:
        foreign = _ordered(foreign)
        names = ", ".join(f"{role}={key}" for role, key in foreign.items())
        others = sorted({price_sheet(key).vendor for key in foreign.values()})
        warnings.warn(
            f"{provider}: {names} priced on {'/'.join(others)} sheets (the catalog has no "
            f"{vendor} sheet for them); name the sheets in services= to choose them",
            SubstitutedServiceWarning,
            stacklevel=stacklevel + 1,
        )


def price_usage(
    usage: ArchitectureUsage,
    *,
    provider: str,
    invocations: float,
    free_tier: FreeTier = False,
    init_billed: bool | None = None,
    services: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
    region: str | None = None,
) -> tuple[Bill, float]:
    """The monthly bill of ``invocations`` requests with this usage, and its billed GB-s.

    Args:
        usage: from :func:`costmodel.architectures.compositions.simulate_usage`
            (``usage.samples`` requests).
        provider: function platform key (``"aws-lambda"``, ``"alibaba-fc3"`` ...).
        invocations: requests per month into the architecture.
        free_tier: the free offers to apply, as in :func:`costmodel.estimate` (once per
            bill; a vendor's shared pools once).
        init_billed: bill cold-start init time (default: :data:`INIT_BILLED`).
        services: catalog keys for the other services (see :data:`DEFAULT_SERVICES`).
        options: provider options for every function's bill, as in :func:`compare`.
        region: the provider's region (default: its sheet's own); services of the same
            vendor are priced in it too.

    Warns:
        SubstitutedServiceWarning: a service not named in ``services`` was priced on
            another vendor's sheet than ``provider``'s (``bill.provider`` lists the sheets).

    >>> from costmodel.architectures.compositions import Function, simulate_usage
    >>> u = simulate_usage(Function("f", memory_mb=1024, duration=100), samples=1000)
    >>> bill, gb_s = price_usage(u, provider="aws-lambda", invocations=1_000_000)
    >>> round(bill.total, 4), gb_s
    (1.8667, 100000.0)
    """
    _check_provider(provider)
    parts, billed_gb_s, used = _price_parts(
        usage,
        provider=provider,
        invocations=invocations,
        free_tier=free_tier,
        init_billed=init_billed,
        services=services,
        options=_function_options(provider, options),
        region=region,
    )
    _warn_substituted(provider, used, services, stacklevel=2)
    return sum(parts[1:], parts[0]), billed_gb_s


#: What price_usage has always taken for ``invocations``: whatever float() takes.
_MONTHLY_INVOCATIONS = Number(low=0, convert=True)


def _price_parts(
    usage: ArchitectureUsage,
    *,
    provider: str,
    invocations: float,
    free_tier: FreeTier,
    init_billed: bool | None,
    services: Mapping[str, str] | None,
    options: Mapping[str, Any],
    region: str | None = None,
    cold_pings: Mapping[str, float] | None = None,
) -> tuple[list[Bill], float, dict[str, str]]:
    """The architecture's bill (pooled, as a one-item list), its billed GB-s and the sheet
    used for each service (``{"functions": provider, "storage": "aws-s3", ...}``).

    ``region`` prices the functions, and the services of the platform's vendor, in that
    region (other vendors' sheets in their own); ``cold_pings`` is the share of each
    keep-warm function's pings that start cold (default 0)."""
    count = number("invocations", invocations, _MONTHLY_INVOCATIONS, error=InvalidUsage)
    keys = _services(services)
    init = INIT_BILLED.get(provider, False) if init_billed is None else init_billed
    scale = count / usage.samples
    used: dict[str, str] = {"functions": provider}
    egress_gb = usage.egress_gb * scale
    # Egress goes on the platform's own meter where it has one, unless services= says.
    egress_here = "egress" not in (services or {}) and _accepts(provider, "egress_gb")
    egress_on_platform = egress_gb != 0 and egress_here and bool(usage.functions)
    bills, billed_gb_s = _function_bills(
        usage,
        provider=provider,
        scale=scale,
        free_tier=free_tier,
        init_billed=init,
        options=options,
        egress_gb=egress_gb if egress_on_platform else None,
        region=region,
        cold_pings=cold_pings or {},
    )
    if egress_on_platform:
        used["egress"] = provider
    vendor = price_sheet(provider).vendor

    def on(role: str) -> PriceSheet:
        used[role] = keys[role]
        sheet = price_sheet(keys[role])
        return sheet.in_region(region) if sheet.vendor == vendor else sheet

    bills += _service_bills(usage, scale=scale, free_tier=free_tier, service=on)
    if egress_gb != 0 and not egress_on_platform:
        bills.append(estimate(on("egress"), egress_gb=egress_gb, free_tier=free_tier))
    _currency(bills)
    # One bill: tiers apply per sheet to its pooled usage, and free pools are shared by
    # the sheets of one vendor (AWS's free egress, SQS standard and FIFO requests).
    return [sum(bills[1:], bills[0])], billed_gb_s, used


def _function_bills(
    usage: ArchitectureUsage,
    *,
    provider: str,
    scale: float,
    free_tier: FreeTier,
    init_billed: bool,
    options: Mapping[str, Any],
    egress_gb: float | None,
    region: str | None = None,
    cold_pings: Mapping[str, float],
) -> tuple[list[Bill], float]:
    """One bill per function on ``provider`` (``egress_gb``, if given, on the first one's),
    and their billed GB-s."""
    bills: list[Bill] = []
    billed_gb_s = 0.0
    for name, fn_usage in usage.functions.items():
        function = fn_usage.function
        opts = _function_bill_options(name, fn_usage, provider=provider, options=options)
        if egress_gb is not None:
            opts["egress_gb"] = egress_gb
            egress_gb = None
        durations = np.maximum(fn_usage.durations_ms(init_billed=init_billed), 1e-9)
        if price_sheet(provider).model not in _NO_MEMORY_MODELS:
            opts["memory_mb"] = function.memory_mb
        try:
            bill = estimate(
                provider,
                invocations=fn_usage.invocations * scale,
                duration_ms=durations,
                free_tier=free_tier,
                region=region,
                **opts,
            )
        except InvalidUsage as exc:
            arch = f" ({opts['arch']})" if "arch" in opts else ""
            raise InvalidUsage(f"function {name!r} on {provider}{arch}: {exc}") from exc
        billed_gb_s += _billed_gb_s(bill, function, float(durations.sum()) * scale)
        bills.append(bill)
        if function.keep_warm is not None:  # its pings, scheduler and warmer, per month
            bills += keep_warm_bills(
                function,
                provider=provider,
                free_tier=free_tier,
                region=region,
                options=opts,
                cold_pings=cold_pings.get(name, 0.0),
                init_billed=init_billed,
            )
    return bills, billed_gb_s


def _warm_usage(
    architecture: Architecture,
    usage: ArchitectureUsage,
    *,
    provider: str,
    invocations: float,
    region: str | None,
    samples: int,
    seed: int,
) -> tuple[ArchitectureUsage, dict[str, float]]:
    """``usage`` with the keep-warm model's cold starts at ``invocations`` requests a month,
    and the share of each keep-warm function's pings that start cold.

    A keep-warm function's calls per month are ``invocations`` times its invocations per
    request in ``usage``; its cold-start probability becomes what
    :func:`~costmodel.architectures.strategies.keep_warm_cold_starts` leaves at that
    traffic, and the architecture is simulated again with the same seed (common random
    numbers: a call warm without pings stays warm) when one changed."""
    probabilities: dict[str, float] = {}
    cold_pings: dict[str, float] = {}
    for name, fn_usage in usage.functions.items():
        function = fn_usage.function
        if function.keep_warm is None:
            continue
        calls = fn_usage.invocations / usage.samples * invocations
        cold, pings = keep_warm_cold_starts(
            function, calls_per_month=calls, provider=provider, region=region
        )
        cold_pings[name] = pings
        if cold != function.cold_start_probability:
            probabilities[name] = cold
    if not probabilities:
        return usage, cold_pings

    def warmed(function: Function) -> Function:
        if function.name not in probabilities:
            return function
        return replace(function, cold_start_probability=probabilities[function.name])

    changed = map_functions(architecture, warmed)
    return simulate_usage(changed, samples=samples, seed=seed), cold_pings


def _billed_gb_s(bill: Bill, function: Function, wall_ms: float) -> float:
    """The memory GB-s a function's bill charges: its own figure where the model gives one
    (GB-s, or Vercel's GB-hours), 0 where memory is not billed (Workers), else memory x
    billed time."""
    usage = bill.usage
    if "gb_seconds" in usage:
        return usage["gb_seconds"]
    if "memory_gb_hours" in usage:
        return usage["memory_gb_hours"] * 3600.0
    if "cpu_ms" in usage:  # a CPU-time biller that does not bill memory
        return 0.0
    return function.memory_mb / 1024.0 * usage.get("billed_duration_ms", wall_ms) / 1000.0


def _function_bill_options(
    name: str, fn_usage: FunctionUsage, *, provider: str, options: Mapping[str, Any]
) -> dict[str, Any]:
    """The provider options of one function's bill: ``options``, with the function's vCPUs
    where the provider bills them (alibaba-fc3 requires them) and each invocation's CPU
    time where it bills CPU time (the function must give cpu_ms or cpu_share)."""
    function = fn_usage.function
    opts: dict[str, Any] = dict(options)
    if price_sheet(provider).model in _CPU_MODELS:
        cpu = fn_usage.cpu_ms
        if cpu is None:
            raise InvalidUsage(
                f"function {name!r}: {provider} bills CPU time, not wall time; give the "
                "function cpu_ms= or cpu_share="
            )
        opts["cpu_ms"] = cpu if cpu.size else 0.0
    if _accepts(provider, "vcpu"):
        if function.vcpu is not None:
            opts["vcpu"] = function.vcpu
        elif "vcpu" not in opts and price_sheet(provider).model == "alibaba-fc3":
            raise InvalidUsage(
                f"function {name!r}: vcpu is required by {provider} (it bills vCPU-seconds)"
            )
    return opts


def _service_bills(
    usage: ArchitectureUsage,
    *,
    scale: float,
    free_tier: FreeTier,
    service: Callable[[str], PriceSheet],
) -> list[Bill]:
    """The bills of the gateways, queues, storage and workflows the usage calls on;
    ``service(role)`` names the sheet of each role (and records it)."""
    bills: list[Bill] = []
    for (component, kind, payload_kb), total in usage.meters.items():
        requests = total * scale
        if component in ("gateway", "queue"):
            key = service(f"{component}_{kind}")
            opts: dict[str, Any] = {"payload_kb": payload_kb} if _accepts(key, "payload_kb") else {}
            bills.append(estimate(key, invocations=requests, free_tier=free_tier, **opts))
        elif component == "storage":
            key = service("storage")
            if kind == "put":
                bills.append(estimate(key, invocations=requests, free_tier=free_tier))
            else:
                bills.append(estimate(key, get_requests=requests, free_tier=free_tier))
        elif kind == "standard_transitions":
            bills.append(
                estimate(service("workflow_standard"), invocations=requests, free_tier=free_tier)
            )
    for (_, memory_mb), durations in usage.express_ms.items():
        bills.append(
            estimate(
                service("workflow_express"),
                invocations=durations.size * scale,
                duration_ms=np.maximum(durations, 1e-9),
                memory_mb=memory_mb,
                free_tier=free_tier,
            )
        )
    return bills


def _suffix(currency: str) -> str:
    return currency.lower()


def _currency(parts: list[Bill]) -> str:
    currencies = {bill.currency for bill in parts}
    if len(currencies) != 1:
        raise InvalidUsage(
            f"services: bills in several currencies {sorted(currencies)}; "
            "use sheets of one currency"
        )
    return currencies.pop()


def _latency(usage: ArchitectureUsage) -> dict[str, float]:
    latency = np.percentile(usage.latency_ms, [q for q, _ in _QUANTILES])
    return {name: float(value) for (_, name), value in zip(_QUANTILES, latency, strict=True)}


def _row(
    usage: ArchitectureUsage,
    parts: list[Bill],
    billed_gb_s: float,
    invocations: float,
    latency: Mapping[str, float] | None = None,
) -> dict[str, float]:
    cur = _suffix(_currency(parts))
    components = parts[0].component_costs()
    for bill in parts[1:]:
        for name, cost in bill.component_costs().items():
            components[name] = components.get(name, 0.0) + cost
    row = {f"{c}_{cur}": float(components.get(c, 0.0)) for c in (*COMPONENT_ORDER, "subscription")}
    total = float(sum(bill.total for bill in parts))
    row[f"total_{cur}"] = total
    row[f"{cur}_per_million"] = total / invocations * 1e6
    row["billed_gb_s"] = billed_gb_s
    row.update(_latency(usage) if latency is None else latency)
    calls = sum(u.invocations for u in usage.functions.values())
    row["function_invocations"] = calls / usage.samples * invocations
    row["failed_share"] = 1.0 - float(usage.complete.mean())
    return row


@contextmanager
def _naming(architecture: str) -> Iterator[None]:
    """Prefix an InvalidUsage raised while pricing with the architecture's name."""
    try:
        yield
    except InvalidUsage as exc:
        raise InvalidUsage(f"architecture {architecture!r}: {exc}") from exc


def _check_volume(invocations: object) -> float:
    """Requests per month for compare/sweep: a finite number > 0 (per million needs one)."""
    ok = isinstance(invocations, (int, float, np.integer, np.floating)) and not isinstance(
        invocations, (bool, np.bool_)
    )
    if not (ok and math.isfinite(float(invocations)) and float(invocations) > 0):  # type: ignore[arg-type]
        raise InvalidUsage(
            f"invocations={invocations!r}: must be a finite number > 0 (requests per month; "
            "a month without requests has no cost per million)"
        )
    return float(invocations)  # type: ignore[arg-type]


def _check_architectures(architectures: Mapping[str, Architecture]) -> None:
    if not isinstance(architectures, Mapping) or not architectures:
        raise InvalidUsage(
            f"architectures={architectures!r}: must be a non-empty mapping {{name: architecture}}"
        )


def _check_comparison(
    architectures: Mapping[str, Architecture],
    provider: str,
    invocations: object,
    services: Mapping[str, str] | None,
    options: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Check the arguments :func:`compare` and :func:`sweep` share; the function options."""
    _check_architectures(architectures)
    _check_provider(provider)
    _check_volume(invocations)
    _services(services)
    return _function_options(provider, options)


def _providers(provider: str | Sequence[str]) -> list[str]:
    """One platform key, a comma-separated string of them, or a list: unique, non-empty."""
    names = provider.split(",") if isinstance(provider, str) else list(provider)
    keys = [str(name).strip() for name in names]
    if not keys or not all(keys) or len(set(keys)) != len(keys):
        raise InvalidUsage(
            f"provider={provider!r}: give one function platform key or several distinct ones"
        )
    return keys


def _regions_of(region: str | Mapping[str, str] | None, keys: Sequence[str]) -> dict[str, Any]:
    """The region of each provider: one code for all, or ``{provider: code}`` (unnamed
    providers in their sheets' own region); each checked against its sheet."""
    if isinstance(region, Mapping):
        unknown = sorted(set(region) - set(keys))
        if unknown:
            raise InvalidUsage(
                f"region: {', '.join(unknown)} not among the providers compared ({', '.join(keys)})"
            )
        regions = {key: region.get(key) for key in keys}
    else:
        regions = dict.fromkeys(keys, region)
    for key, code in regions.items():
        price_sheet(key, region=code)  # UnknownProvider / unknown region, before simulating
    return regions


def _one_currency(keys: Sequence[str], regions: Mapping[str, Any]) -> None:
    """Every platform's bills in one currency: a table holds one currency."""
    currencies = {key: price_sheet(key, region=regions[key]).currency for key in keys}
    if len(set(currencies.values())) > 1:
        shown = ", ".join(f"{key}={cur}" for key, cur in currencies.items())
        raise InvalidUsage(
            f"provider: bills in several currencies ({shown}); one table holds one currency: "
            "compare sheets of one currency (derive or load one in the other)"
        )


def compare(
    architectures: Mapping[str, Architecture],
    *,
    provider: str | Sequence[str] = "aws-lambda",
    invocations: float,
    samples: int = 100_000,
    seed: int = 0,
    free_tier: FreeTier = False,
    init_billed: bool | None = None,
    services: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
    region: str | Mapping[str, str] | None = None,
    client: Any = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Cost and latency of each architecture for a month of ``invocations`` requests.

    Args:
        architectures: ``{name: architecture}`` (functions or compositions).
        provider: function platform key (see :func:`costmodel.providers`), or several
            (a list, or keys joined by commas): one table, each architecture priced on
            each platform from one simulation. All in one currency (else InvalidUsage).
        invocations: requests per month into each architecture, > 0 (a month without
            requests has no cost per million: InvalidUsage).
        samples: Monte Carlo requests simulated per architecture.
        seed: random seed (each architecture starts from it: common random numbers).
        free_tier: the free offers to apply, ``"none"`` (default, as ``False``),
            ``"always"`` (as ``True``) or ``"legacy-12-month"``, as in
            :func:`costmodel.estimate`; once per bill (a vendor's shared pools once). The
            choice is in ``frame.attrs["free_tier"]``.
        init_billed: bill cold-start init (default: per provider, :data:`INIT_BILLED`).
        services: sheets for gateways, queues, storage, workflows, egress (roles of
            :data:`DEFAULT_SERVICES`). Egress defaults to the platform's own meter.
        options: provider options for every function's bill, as :func:`estimate` takes
            them (validated with :func:`costmodel.accepted_options`): ``{"arch":
            "arm64"}``, ``{"ephemeral_storage_mb": 2048}``, a default ``vcpu`` for
            functions without their own. Not ``egress_gb`` (from each function's
            ``egress_kb``) nor provisioned concurrency (per function: use ``estimate``).
            With several providers: ``{provider: {option: value}}``.
        region: the region of the platform (and of the services of its vendor); with
            several providers, ``{provider: region}``. Default: each sheet's own region.
        client: where the simulations run, one task per architecture (see
            :func:`costmodel.cluster.client_for`): a ``distributed.Client``, None (the
            active client, else here) or False (here). The table is the same either way.
        progress: Dask's progress display while the tasks run on a cluster.

    Returns:
        One row per architecture (index ``architecture``; with several providers one row
        per architecture and provider, labelled ``"name @ provider"``, with
        ``frame.attrs["rows"]`` mapping each label to ``(name, provider)``): cost per
        component (``requests_usd`` ... ``egress_usd``, and ``subscription_usd`` when a
        plan's fee is billed), ``total_usd``, ``usd_per_million``, ``billed_gb_s`` (after
        rounding), end-to-end ``latency_p50_ms`` / ``latency_p95_ms`` /
        ``latency_p99_ms``, ``function_invocations`` per month and ``failed_share``
        (requests whose work did not all succeed). The currency is in
        ``frame.attrs["currency"]`` and in the column names; the sheet that priced each
        service used in ``frame.attrs["services"]`` (``{"functions": provider,
        "storage": "aws-s3", ...}``).

    A function with ``keep_warm`` bills its pings, scheduler and warmer, and its
    ``cold_start_probability`` (the baseline without pings) becomes what the pings leave
    of it at its calls per month (``invocations`` times its invocations per request), by
    the stated model (:func:`~costmodel.architectures.strategies.keep_warm_cold_starts`,
    the code :func:`costmodel.warm_strategies` uses); the architecture is then simulated
    again with the same seed.

    Warns:
        SubstitutedServiceWarning: a service not named in ``services`` was priced on
            another vendor's sheet than ``provider``'s.

    >>> a = Function("a", memory_mb=1024, duration=200)
    >>> b = Function("b", memory_mb=1024, duration=300)
    >>> from costmodel.architectures.compositions import sync_chain, async_chain
    >>> table = compare({"sync": sync_chain(a, b), "async": async_chain(a, b)},
    ...                 invocations=1_000_000, samples=1000)
    >>> table["total_usd"].round(2).to_dict()
    {'sync': 13.98, 'async': 8.98}
    """
    keys = _providers(provider)
    regions = _regions_of(region, keys)
    _one_currency(keys, regions)
    per_provider = _options_per_provider(options, keys)
    fn_options = {
        key: _check_comparison(architectures, key, invocations, services, per_provider[key])
        for key in keys
    }
    free = free_tier_choice(free_tier)  # checked before the first simulation
    rows = []
    used: dict[str, dict[str, str]] = {key: {} for key in keys}
    labels: dict[str, tuple[str, str]] = {}
    currency = None
    usages = _simulated(list(architectures.values()), samples, seed, client, progress, "compare")
    for (name, architecture), usage in zip(architectures.items(), usages, strict=True):
        for key in keys:
            label = name if len(keys) == 1 else f"{name} @ {key}"
            with _naming(label):
                warm, cold_pings = _warm_usage(
                    architecture,
                    usage,
                    provider=key,
                    invocations=invocations,
                    region=regions[key],
                    samples=samples,
                    seed=seed,
                )
                parts, gb_s, sheets = _price_parts(
                    warm,
                    provider=key,
                    invocations=invocations,
                    free_tier=free_tier,
                    init_billed=init_billed,
                    services=services,
                    options=fn_options[key],
                    region=regions[key],
                    cold_pings=cold_pings,
                )
            used[key].update(sheets)
            currency = _currency(parts)
            labels[label] = (name, key)
            rows.append(pd.Series(_row(warm, parts, gb_s, invocations), name=label))
    for key in keys:
        _warn_substituted(key, used[key], services, stacklevel=2)
    frame = _drop_unused_subscription(_indexed(rows), currency)
    frame.attrs.update(
        currency=currency,
        provider=",".join(keys),
        invocations=invocations,
        samples=samples,
        free_tier=free,
        services=_merged_services(used),
        region={key: price_sheet(key, region=regions[key]).region for key in keys},
        rows=labels,
    )
    return frame


def _merged_services(used: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The sheet of each role over all providers (several sheets joined by commas)."""
    merged: dict[str, list[str]] = {}
    for sheets in used.values():
        for role, key in _ordered(sheets).items():
            if key not in merged.setdefault(role, []):
                merged[role].append(key)
    return {role: ",".join(keys) for role, keys in merged.items()}


def _options_per_provider(
    options: Mapping[str, Any] | None, keys: Sequence[str]
) -> dict[str, Mapping[str, Any] | None]:
    """``options`` for each provider: the same mapping for all, or (several providers)
    ``{provider: options}``."""
    if len(keys) > 1 and isinstance(options, Mapping) and set(options) <= set(keys):
        return {key: options.get(key) for key in keys}
    return dict.fromkeys(keys, options)


def _indexed(rows: list[pd.Series]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame.index.name = "architecture"
    return frame


def _drop_unused_subscription(frame: pd.DataFrame, currency: str | None) -> pd.DataFrame:
    """The subscription column only when some row pays a plan's fee, so that the tables of
    the platforms without plans keep their columns."""
    column = f"subscription_{_suffix(currency or 'usd')}"
    if column in frame.columns and not frame[column].any():
        frame = frame.drop(columns=column)
    return frame


def _usage(architecture: Architecture, samples: int, seed: int) -> ArchitectureUsage:
    """One architecture's simulation (a task on a cluster)."""
    return simulate_usage(architecture, samples=samples, seed=seed)


def _simulated(
    architectures: list[Architecture],
    samples: int,
    seed: int,
    client: Any,
    progress: bool,
    name: str,
) -> list[ArchitectureUsage]:
    """Each architecture simulated with the same samples and seed: one task each, on the
    cluster when there is one (:func:`costmodel.cluster.run_tasks`), in their order."""
    from ..cluster import run_tasks

    tasks = [(architecture, samples, seed) for architecture in architectures]
    return run_tasks(_usage, tasks, client=client, progress=progress, name=name)


def latency_samples(
    architectures: Mapping[str, Architecture], *, samples: int = 100_000, seed: int = 0
) -> dict[str, np.ndarray]:
    """End-to-end latency of each simulated request, ms, per architecture.

    The same simulation as :func:`compare` (same ``samples`` and ``seed``, same numbers).

    >>> lat = latency_samples({"f": Function("f", memory_mb=128, duration=80)}, samples=3)
    >>> lat["f"].tolist()
    [80.0, 80.0, 80.0]
    """
    _check_architectures(architectures)
    return {
        name: simulate_usage(architecture, samples=samples, seed=seed).latency_ms
        for name, architecture in architectures.items()
    }


Over = Literal["invocations", "memory_mb", "error_rate"]


@dataclass(frozen=True, slots=True)
class Sweep:
    """The result of :func:`sweep`.

    Attributes:
        over: the swept parameter.
        frame: one row per (architecture, value): the :func:`compare` columns.
        break_even: where two architectures cost the same: ``architecture_a``,
            ``architecture_b``, ``value`` (interpolated between grid points; on a log
            scale for volumes), ``cheaper_below`` and ``cheaper_above``.
        cheapest: per architecture, the value with the lowest total and that total,
            with its p50 latency (for memory sweeps: the cheapest memory size), and
            ``edge``: for a memory sweep, ``"smallest"`` or ``"largest"`` when the
            cheapest size is the smallest or largest one tried (the optimum may lie
            outside the range: see :attr:`edge_notes`), else ``""``.
    """

    over: str
    frame: pd.DataFrame = field(repr=False)
    break_even: pd.DataFrame = field(repr=False)
    cheapest: pd.DataFrame = field(repr=False)

    @property
    def currency(self) -> str:
        """Currency of the costs."""
        return str(self.frame.attrs.get("currency", "USD"))

    def _repr_html_(self) -> str:
        """Jupyter's view: the cheapest value per architecture, warnings, break-evens."""
        from ..tables import sweep_html

        return sweep_html(self)

    @property
    def edge_notes(self) -> list[str]:
        """One warning per architecture whose cheapest value is at an edge of the range
        tried: the optimum may lie beyond it (try smaller or larger values)."""
        if "edge" not in self.cheapest.columns:
            return []
        unit = " MB" if self.over == "memory_mb" else ""
        what = "memory size" if self.over == "memory_mb" else self.over
        beyond = {"smallest": "below", "largest": "above"}
        return [
            f"{name}: the cheapest {what} is the {edge} one tried "
            f"({row['value']:,.0f}{unit}); the optimum may lie {beyond[edge]} the range"
            for name, row in self.cheapest.iterrows()
            if (edge := str(row["edge"]))
        ]


def _values(over: str, values: Iterable[float]) -> list[float]:
    try:
        result = sorted({float(v) for v in values})
    except (TypeError, ValueError) as exc:
        raise InvalidUsage(f"values: must be numbers: {exc}") from exc
    if len(result) < 2:
        raise InvalidUsage(f"values: need at least two distinct {over} values")
    if over == "error_rate" and (result[0] < 0 or result[-1] > 1):
        raise InvalidUsage(f"values: error rates must be in [0, 1], got {result[0]}..{result[-1]}")
    if over == "memory_mb" and result[0] <= 0:
        raise InvalidUsage(f"values: memory sizes must be > 0 MB, got {result[0]}")
    if over == "invocations" and result[0] <= 0:
        raise InvalidUsage(f"values: volumes must be > 0, got {result[0]:g}")
    return result


def _break_even(frame: pd.DataFrame, over: str, total: str) -> pd.DataFrame:
    wide = frame.pivot(index="value", columns="architecture", values=total)
    names = list(dict.fromkeys(frame["architecture"]))
    x = wide.index.to_numpy(dtype=float)
    logx = over == "invocations" and bool(np.all(x > 0))
    coord = np.log(x) if logx else x
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            diff = (wide[a] - wide[b]).to_numpy()
            for k in range(diff.size - 1):
                d0, d1 = diff[k], diff[k + 1]
                if d0 == 0 or np.sign(d0) == np.sign(d1) or (d1 == 0 and k + 2 < diff.size):
                    continue
                t = d0 / (d0 - d1)
                at = coord[k] + t * (coord[k + 1] - coord[k])
                value = float(np.exp(at)) if logx else float(at)
                below, above = (b, a) if d0 > 0 else (a, b)
                rows.append(
                    {
                        "architecture_a": a,
                        "architecture_b": b,
                        "value": value,
                        "cheaper_below": below,
                        "cheaper_above": above,
                    }
                )
    return pd.DataFrame(
        rows,
        columns=["architecture_a", "architecture_b", "value", "cheaper_below", "cheaper_above"],
    )


def sweep(
    architectures: Mapping[str, Architecture],
    *,
    over: Over,
    values: Iterable[float],
    provider: str = "aws-lambda",
    invocations: float = 1_000_000,
    function: str | None = None,
    scaling: CpuBound | None = None,
    samples: int = 10_000,
    seed: int = 0,
    free_tier: FreeTier = False,
    init_billed: bool | None = None,
    services: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
    region: str | None = None,
    client: Any = None,
    progress: bool = False,
) -> Sweep:
    """Compare architectures over a range of monthly volumes, memory sizes or error rates.

    Args:
        architectures: ``{name: architecture}``.
        over: ``"invocations"`` (requests per month), ``"memory_mb"`` or ``"error_rate"``.
        values: the values swept (volumes > 0).
        provider: function platform key.
        invocations: requests per month when sweeping memory or error rate.
        function: with ``memory_mb``/``error_rate``: change only this function (default:
            all of them; a monolith follows its parts).
        scaling: with ``memory_mb``: how duration changes with memory (e.g.
            ``CpuBound(cpu_share=0.8)``); without it durations do not change, so the
            smallest memory is always cheapest.
        samples: Monte Carlo requests per configuration (the same seed for all, so
            curves differ only by the swept value).
        seed: as in :func:`compare`.
        free_tier: as in :func:`compare`.
        init_billed: as in :func:`compare`.
        services: as in :func:`compare`.
        options: as in :func:`compare`.
        region: the provider's region, as in :func:`compare` (one provider).
        client: as in :func:`compare`: one task per architecture and swept value (one
            per architecture for a volume sweep, which reuses its simulation).
        progress: as in :func:`compare`.

    >>> from costmodel.architectures.compositions import sync_chain, async_chain, workflow
    >>> a = Function("a", memory_mb=128, duration=20)
    >>> b = Function("b", memory_mb=128, duration=20)
    >>> s = sweep({"chain": async_chain(a, b), "workflow": workflow(a, b)},
    ...           over="invocations", values=[1e3, 1e6], samples=200)
    >>> s.break_even.empty  # the workflow costs more at every volume
    True
    """
    fn_options = _check_comparison(architectures, provider, invocations, services, options)
    price_sheet(provider, region=region)  # an unknown region, before simulating
    free = free_tier_choice(free_tier)  # checked before the first simulation
    _ = _choice_over(over)
    grid = _values(over, values)
    if scaling is not None and not isinstance(scaling, CpuBound):
        raise InvalidUsage(f"scaling={scaling!r}: must be a CpuBound model or None")
    if function is not None:
        for name, architecture in architectures.items():
            from .compositions import functions_of

            if function not in {f.name for f in functions_of(architecture)}:
                raise InvalidUsage(f"function={function!r}: not in architecture {name!r}")
    records: list[dict[str, Any]] = []
    currency = "USD"
    used: dict[str, str] = {}
    plans = {
        name: [architecture]
        if over == "invocations"
        else [map_functions(architecture, _changer(over, v, function, scaling)) for v in grid]
        for name, architecture in architectures.items()
    }
    flat = [changed for variants in plans.values() for changed in variants]
    simulated = iter(_simulated(flat, samples, seed, client, progress, "sweep"))
    for name, variants in plans.items():
        base_usage = next(simulated) if over == "invocations" else None
        # A volume sweep reuses one simulation, so its latency quantiles too (unless the
        # keep-warm model changes cold starts with the volume: then one per volume).
        base_latency = _latency(base_usage) if base_usage is not None else None
        for index, value in enumerate(grid):
            volume = value if over == "invocations" else invocations
            if base_usage is not None:
                changed, usage = variants[0], base_usage
            else:
                changed, usage = variants[index], next(simulated)
            with _naming(name):
                warm, cold_pings = _warm_usage(
                    changed,
                    usage,
                    provider=provider,
                    invocations=volume,
                    region=region,
                    samples=samples,
                    seed=seed,
                )
                parts, gb_s, sheets = _price_parts(
                    warm,
                    provider=provider,
                    invocations=volume,
                    free_tier=free_tier,
                    init_billed=init_billed,
                    services=services,
                    options=fn_options,
                    region=region,
                    cold_pings=cold_pings,
                )
            used.update(sheets)
            currency = _currency(parts)
            records.append(
                {
                    "architecture": name,
                    "value": value,
                    **_row(warm, parts, gb_s, volume, base_latency if warm is usage else None),
                }
            )
    _warn_substituted(provider, used, services, stacklevel=2)
    frame = _drop_unused_subscription(pd.DataFrame(records), currency)
    frame.attrs.update(
        currency=currency,
        provider=provider,
        over=over,
        free_tier=free,
        services=_ordered(used),
    )
    total = f"total_{_suffix(currency)}"
    best = frame.loc[frame.groupby("architecture", sort=False)[total].idxmin()]
    cheapest = best.set_index("architecture")[["value", total, "latency_p50_ms"]]
    cheapest["edge"] = [_edge(over, float(v), grid) for v in cheapest["value"]]
    return Sweep(over, frame, _break_even(frame, over, total), cheapest)


def _edge(over: str, value: float, grid: list[float]) -> str:
    """``"smallest"``/``"largest"`` when a memory sweep's cheapest value is at an edge of
    the grid (volumes and error rates are cheapest at their low end by nature)."""
    if over != "memory_mb":
        return ""
    return "smallest" if value == grid[0] else "largest" if value == grid[-1] else ""


def _choice_over(over: object) -> str:
    if over not in ("invocations", "memory_mb", "error_rate"):
        raise InvalidUsage(
            f"over={over!r}: must be one of 'invocations', 'memory_mb', 'error_rate'"
        )
    return str(over)


def _changer(over: str, value: float, only: str | None, scaling: CpuBound | None) -> Any:
    def change(f: Function) -> Function:
        if only is not None and f.name != only:
            return f
        if over == "memory_mb":
            return f.with_memory(value, scaling=scaling)
        return replace(f, error_rate=value)

    return change
