"""Billing: usage to an itemised bill, and billing a resilience Ledger.

``engine`` turns usage into a :class:`Bill` (per-invocation rounding, volume tiers, free
tiers pooled once per bill) and holds ``estimate``; ``ledger`` bills a ``resilience.Ledger``
(``bill_ledger``, :class:`LedgerBill`).
"""
