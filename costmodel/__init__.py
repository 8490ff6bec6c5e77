"""callwise.costmodel: what calling functions costs.

A price catalog with sources, exact billing per provider, bills from real logs,
architecture comparison, simulation of resilience policies, plots and a CLI.
"""

from .billing import Bill, Usage, estimate
from .errors import CostModelError, InvalidFile, InvalidUsage, UnknownProvider
from .logs import LogBill, MalformedLine, bill_from_logs, read_logs
from .pricing import (
    COMPONENTS,
    Meter,
    PriceSheet,
    Tier,
    load_price_sheet,
    price_sheet,
    providers,
)

__all__ = [
    "COMPONENTS",
    "Bill",
    "CostModelError",
    "InvalidFile",
    "InvalidUsage",
    "LogBill",
    "MalformedLine",
    "Meter",
    "PriceSheet",
    "Tier",
    "UnknownProvider",
    "Usage",
    "bill_from_logs",
    "estimate",
    "load_price_sheet",
    "price_sheet",
    "providers",
    "read_logs",
]
