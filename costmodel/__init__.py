"""callwise.costmodel: what calling functions costs.

A price catalog with sources, exact billing per provider, bills from real logs,
architecture comparison, simulation of resilience policies, plots and a CLI.
"""

from resilience.virtual_time import VirtualClock, VirtualTimeLoop

from .architectures.comparison import SubstitutedServiceWarning, compare, latency_samples, sweep
from .architectures.compositions import (
    Function,
    async_chain,
    fan_out,
    monolith,
    simulate_usage,
    sync_chain,
    workflow,
)
from .architectures.distributions import CpuBound, empirical, fixed, lognormal
from .architectures.file import ArchitectureFile, load_architectures
from .billing.engine import Bill, Usage, accepted_options, estimate
from .billing.ledger import LedgerBill, bill_ledger
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
    PoissonArrivals,
    Scenario,
    TraceArrivals,
    Window,
    load_scenario,
)

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
    "Function",
    "InvalidFile",
    "InvalidUsage",
    "LedgerBill",
    "LogBill",
    "MalformedLine",
    "Meter",
    "PoissonArrivals",
    "PriceSheet",
    "Scenario",
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
    "Window",
    "accepted_options",
    "async_chain",
    "bill_from_logs",
    "bill_ledger",
    "compare",
    "compare_policies",
    "empirical",
    "estimate",
    "fan_out",
    "fixed",
    "latency_samples",
    "load_architectures",
    "load_price_sheet",
    "load_scenario",
    "load_simulation",
    "lognormal",
    "monolith",
    "price_sheet",
    "providers",
    "read_logs",
    "simulate",
    "simulate_usage",
    "summarize",
    "sweep",
    "sync_chain",
    "workflow",
]


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed distribution's metadata on first use."""
    if name == "__version__":
        from importlib.metadata import version

        return version("callwise")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
