"""callwise.costmodel: what calling functions costs.

A price catalog with sources, exact billing per provider, bills from real logs,
architecture comparison, simulation of resilience policies, plots and a CLI.
"""

from .billing import Bill, Usage, estimate
from .errors import CostModelError, InvalidFile, InvalidUsage, UnknownProvider
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
    "Meter",
    "PriceSheet",
    "Tier",
    "UnknownProvider",
    "Usage",
    "estimate",
    "load_price_sheet",
    "price_sheet",
    "providers",
]
