"""callwise.costmodel: what calling functions costs.

A price catalog with sources, exact billing per provider, bills from real logs,
architecture comparison, simulation of resilience policies, plots and a CLI.
"""

from .errors import CostModelError, InvalidFile, InvalidUsage, UnknownProvider

__all__ = ["CostModelError", "InvalidFile", "InvalidUsage", "UnknownProvider"]
