"""Architectures: what a design costs and how slow it is, by Monte Carlo.

``distributions`` (fixed, lognormal, empirical, CpuBound), ``compositions`` (Function,
monolith, sync and async chains, fan-out, workflow, and ``simulate_usage``, the vectorized
Monte Carlo), ``comparison`` (``compare``, ``sweep``), ``file`` (architecture TOML files).
"""
