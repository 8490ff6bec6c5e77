"""callwise.costmodel: what calling functions costs.

A price catalog with sources, exact billing per provider, bills from real logs,
architecture comparison, simulation of resilience policies, plots and a CLI.
"""

import typing as _typing

from resilience._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:  # for type checkers and readers; at run time each name loads on first use
    from resilience.virtual_time import VirtualClock, VirtualTimeLoop

    from .architectures.comparison import SubstitutedServiceWarning, compare, latency_samples, sweep
    from .architectures.compositions import (
        Function,
        Hedge,
        async_chain,
        fan_out,
        monolith,
        simulate_usage,
        sync_chain,
        workflow,
    )
    from .architectures.distributions import CpuBound, empirical, fixed, lognormal, mixture
    from .architectures.file import ArchitectureFile, load_architectures
    from .architectures.hedging import hedge_frontier
    from .architectures.keep_warm import KeepWarm
    from .architectures.replicates import compare_seeds, sweep_seeds
    from .architectures.strategies import WarmStrategies, warm_strategies
    from .billing.engine import Bill, Usage, accepted_options, estimate
    from .billing.ledger import LedgerBill, bill_ledger
    from .billing.live import LivePricer
    from .catalog.sheets import (
        COMPONENTS,
        Meter,
        PriceSheet,
        Tier,
        load_price_sheet,
        price_sheet,
        providers,
    )
    from .errors import CostModelError, InvalidFile, InvalidUsage, UnknownProvider
    from .logs.reader import LogBill, MalformedLine, bill_from_logs, read_logs
    from .simulation.run import (
        SimulationContext,
        SimulationFile,
        SimulationResult,
        compare_policies,
        load_simulation,
        simulate,
        summarize,
    )
    from .simulation.scenario import (
        CallerTimeout,
        ConstantRate,
        Downstream,
        DownstreamError,
        DownstreamThrottled,
        DownstreamTimeout,
        Fault,
        PoissonArrivals,
        Scenario,
        TraceArrivals,
        Window,
        load_scenario,
    )
    from .simulation.seeds import SeedRuns, seed_bands, simulate_seeds, spawn_seeds

__all__ = [
    "COMPONENTS",
    "ArchitectureFile",
    "Bill",
    "CallerTimeout",
    "ConstantRate",
    "CostModelError",
    "CpuBound",
    "Downstream",
    "DownstreamError",
    "DownstreamThrottled",
    "DownstreamTimeout",
    "Fault",
    "Function",
    "Hedge",
    "InvalidFile",
    "InvalidUsage",
    "KeepWarm",
    "LedgerBill",
    "LivePricer",
    "LogBill",
    "MalformedLine",
    "Meter",
    "PoissonArrivals",
    "PriceSheet",
    "Scenario",
    "SeedRuns",
    "SimulationContext",
    "SimulationFile",
    "SimulationResult",
    "SubstitutedServiceWarning",
    "Tier",
    "TraceArrivals",
    "UnknownProvider",
    "Usage",
    "VirtualClock",
    "VirtualTimeLoop",
    "WarmStrategies",
    "Window",
    "accepted_options",
    "async_chain",
    "bill_from_logs",
    "bill_ledger",
    "compare",
    "compare_policies",
    "compare_seeds",
    "empirical",
    "estimate",
    "fan_out",
    "fixed",
    "hedge_frontier",
    "latency_samples",
    "load_architectures",
    "load_price_sheet",
    "load_scenario",
    "load_simulation",
    "lognormal",
    "mixture",
    "monolith",
    "price_sheet",
    "providers",
    "read_logs",
    "seed_bands",
    "simulate",
    "simulate_seeds",
    "simulate_usage",
    "spawn_seeds",
    "summarize",
    "sweep",
    "sweep_seeds",
    "sync_chain",
    "warm_strategies",
    "workflow",
]

#: The module that defines each public name: imported on first use (PEP 562), so that
#: importing the package (and the CLI's --help) stays quick.
_EXPORTS: dict[str, str] = {
    "VirtualClock": "resilience.virtual_time",
    "VirtualTimeLoop": "resilience.virtual_time",
    "SubstitutedServiceWarning": ".architectures.comparison",
    "compare": ".architectures.comparison",
    "latency_samples": ".architectures.comparison",
    "sweep": ".architectures.comparison",
    "Function": ".architectures.compositions",
    "Hedge": ".architectures.compositions",
    "async_chain": ".architectures.compositions",
    "fan_out": ".architectures.compositions",
    "monolith": ".architectures.compositions",
    "simulate_usage": ".architectures.compositions",
    "sync_chain": ".architectures.compositions",
    "workflow": ".architectures.compositions",
    "CpuBound": ".architectures.distributions",
    "empirical": ".architectures.distributions",
    "fixed": ".architectures.distributions",
    "lognormal": ".architectures.distributions",
    "mixture": ".architectures.distributions",
    "hedge_frontier": ".architectures.hedging",
    "ArchitectureFile": ".architectures.file",
    "load_architectures": ".architectures.file",
    "KeepWarm": ".architectures.keep_warm",
    "compare_seeds": ".architectures.replicates",
    "sweep_seeds": ".architectures.replicates",
    "WarmStrategies": ".architectures.strategies",
    "warm_strategies": ".architectures.strategies",
    "Bill": ".billing.engine",
    "Usage": ".billing.engine",
    "accepted_options": ".billing.engine",
    "estimate": ".billing.engine",
    "LedgerBill": ".billing.ledger",
    "bill_ledger": ".billing.ledger",
    "LivePricer": ".billing.live",
    "COMPONENTS": ".catalog.sheets",
    "Meter": ".catalog.sheets",
    "PriceSheet": ".catalog.sheets",
    "Tier": ".catalog.sheets",
    "load_price_sheet": ".catalog.sheets",
    "price_sheet": ".catalog.sheets",
    "providers": ".catalog.sheets",
    "CostModelError": ".errors",
    "InvalidFile": ".errors",
    "InvalidUsage": ".errors",
    "UnknownProvider": ".errors",
    "LogBill": ".logs.reader",
    "MalformedLine": ".logs.reader",
    "bill_from_logs": ".logs.reader",
    "read_logs": ".logs.reader",
    "SimulationContext": ".simulation.run",
    "SimulationFile": ".simulation.run",
    "SimulationResult": ".simulation.run",
    "compare_policies": ".simulation.run",
    "load_simulation": ".simulation.run",
    "simulate": ".simulation.run",
    "summarize": ".simulation.run",
    "SeedRuns": ".simulation.seeds",
    "seed_bands": ".simulation.seeds",
    "simulate_seeds": ".simulation.seeds",
    "spawn_seeds": ".simulation.seeds",
    "CallerTimeout": ".simulation.scenario",
    "ConstantRate": ".simulation.scenario",
    "Downstream": ".simulation.scenario",
    "DownstreamError": ".simulation.scenario",
    "DownstreamThrottled": ".simulation.scenario",
    "DownstreamTimeout": ".simulation.scenario",
    "Fault": ".simulation.scenario",
    "PoissonArrivals": ".simulation.scenario",
    "Scenario": ".simulation.scenario",
    "TraceArrivals": ".simulation.scenario",
    "Window": ".simulation.scenario",
    "load_scenario": ".simulation.scenario",
}

if not _typing.TYPE_CHECKING:  # type checkers see the imports above, not a catch-all __getattr__
    __getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS, globals())
