"""Architectures compared over many seeds: one :func:`~costmodel.compare` (or
:func:`~costmodel.sweep`) per replicate.

Each replicate is a whole :func:`costmodel.compare` with its own seed (drawn from one base
seed by :func:`costmodel.spawn_seeds`), so every architecture of a replicate sees the
same random numbers (common random numbers: the table's differences are the
architectures', not the luck's) and the spread across replicates is the Monte Carlo's.
One task per replicate, on the cluster of ``client=`` or the active one, else here: the
rows are the same either way.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from resilience._validate import Number, number

from ..cluster import client_for, run_tasks
from ..errors import InvalidUsage
from ..simulation.seeds import SeedRuns, _seed_list, _seed_runs
from .comparison import compare, sweep
from .compositions import Architecture

__all__ = ["compare_seeds", "sweep_seeds"]

_SAMPLES = Number(low=1, integral=True, allowed="an integer >= 1")


def compare_seeds(
    architectures: Mapping[str, Architecture],
    *,
    invocations: float,
    seeds: int | Sequence[int] = 10,
    seed: int = 0,
    samples: int = 20_000,
    client: Any = None,
    progress: bool = False,
    **options: Any,
) -> SeedRuns:
    """:func:`costmodel.compare` over many seeds, with the bands across them.

    Args:
        architectures: ``{name: architecture}``, as :func:`costmodel.compare` takes them.
        invocations: requests per month.
        seeds: how many replicates (seeds by :func:`costmodel.spawn_seeds` from
            ``seed``), or the list of seeds.
        seed: the base seed when ``seeds`` is a count.
        samples: Monte Carlo requests per architecture and replicate.
        client: a ``distributed.Client``; None: the active one, else here; False: here.
        progress: Dask's progress display while the tasks run on a cluster.
        **options: the other arguments of :func:`costmodel.compare` (``provider``,
            ``free_tier``, ``services``, ``options``, ``region``, ...).

    Returns:
        :class:`~costmodel.SeedRuns` grouped by ``architecture`` (a row label of
        :func:`costmodel.compare`): each replicate's columns, and their bands.

    Raises:
        InvalidUsage: bad seeds or samples, or any argument :func:`costmodel.compare`
            refuses: checked here, on a small run, before a task is submitted.

    >>> from costmodel import Function, async_chain, lognormal, sync_chain
    >>> a = Function("a", memory_mb=1024, duration=lognormal(p50_ms=150, p99_ms=900))
    >>> b = Function("b", memory_mb=1024, duration=lognormal(p50_ms=250, p99_ms=1500))
    >>> runs = compare_seeds({"sync": sync_chain(a, b), "async": async_chain(a, b)},
    ...                      invocations=1e6, seeds=5, samples=2000, client=False)
    >>> band = runs.band("total_usd")
    >>> band.index.tolist(), bool((band["p5"] < band["p95"]).all())
    (['sync', 'async'], True)
    """
    seed_list = _seed_list(seeds, seed)
    count = int(number("samples", samples, _SAMPLES, error=InvalidUsage))
    arguments = {"invocations": invocations, **options}
    frames = _replicates("compare", architectures, arguments, count, seed_list, client, progress)
    records = []
    for replicate, (run_seed, frame) in enumerate(zip(seed_list, frames, strict=True)):
        for label, row in frame.iterrows():
            records.append({"architecture": label, "replicate": replicate, "seed": run_seed, **row})
    return _seed_runs(records, ("architecture",), seed_list)


def sweep_seeds(
    architectures: Mapping[str, Architecture],
    *,
    over: str,
    values: Sequence[float],
    seeds: int | Sequence[int] = 10,
    seed: int = 0,
    samples: int = 10_000,
    client: Any = None,
    progress: bool = False,
    **options: Any,
) -> SeedRuns:
    """:func:`costmodel.sweep` over many seeds, with the bands per architecture and value.

    As :func:`compare_seeds`: one task per replicate, a whole sweep with its seed (every
    architecture and value on it), checked on a small run before anything is submitted.

    Args:
        architectures: ``{name: architecture}``.
        over: ``"invocations"``, ``"memory_mb"`` or ``"error_rate"``.
        values: the values swept.
        seeds: how many replicates, or the list of seeds.
        seed: the base seed when ``seeds`` is a count.
        samples: Monte Carlo requests per configuration and replicate.
        client: a ``distributed.Client``; None: the active one, else here; False: here.
        progress: Dask's progress display while the tasks run on a cluster.
        **options: the other arguments of :func:`costmodel.sweep`.

    Returns:
        :class:`~costmodel.SeedRuns` grouped by ``architecture`` and ``value``: the rows
        of each replicate's ``Sweep.frame``.

    >>> from costmodel import CpuBound, Function, lognormal
    >>> encode = Function("encode", memory_mb=1024, duration=lognormal(p50_ms=900, p99_ms=3000))
    >>> runs = sweep_seeds({"encode": encode}, over="memory_mb", values=[512, 1769],
    ...                    scaling=CpuBound(cpu_share=0.8), seeds=3, samples=500, client=False)
    >>> runs.band("total_usd").index.tolist()
    [('encode', 512.0), ('encode', 1769.0)]
    """
    seed_list = _seed_list(seeds, seed)
    count = int(number("samples", samples, _SAMPLES, error=InvalidUsage))
    arguments = {"over": over, "values": values, **options}
    sweeps = _replicates("sweep", architectures, arguments, count, seed_list, client, progress)
    records = []
    for replicate, (run_seed, result) in enumerate(zip(seed_list, sweeps, strict=True)):
        for row in result.frame.to_dict("records"):
            records.append({**row, "replicate": replicate, "seed": run_seed})
    return _seed_runs(records, ("architecture", "value"), seed_list)


def _replicates(
    kind: str,
    architectures: Mapping[str, Architecture],
    arguments: Mapping[str, Any],
    samples: int,
    seeds: list[int],
    client: Any,
    progress: bool,
) -> list[Any]:
    """Every check ``compare``/``sweep`` makes, now, on a small run (its warnings given
    once: the tasks' are the same), then one task per seed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _replicate(kind, architectures, min(samples, 100), 0, arguments, quiet=False)
    for warning in _unique(caught):
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    cluster = client_for(client)
    tasks = [(kind, architectures, samples, run_seed, arguments) for run_seed in seeds]
    here = False if cluster is None else cluster
    return run_tasks(_replicate, tasks, client=here, progress=progress, name=f"{kind}-seeds")


def _unique(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    seen: dict[tuple[type, str], warnings.WarningMessage] = {}
    for warning in caught:
        seen.setdefault((warning.category, str(warning.message)), warning)
    return list(seen.values())


def _replicate(
    kind: str,
    architectures: Mapping[str, Architecture],
    samples: int,
    seed: int,
    arguments: Mapping[str, Any],
    *,
    quiet: bool = True,
) -> Any:
    """One replicate (a task): the compare table, or the Sweep, of one seed (its
    warnings were given once, by the check run)."""
    run = compare if kind == "compare" else sweep
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        return run(architectures, samples=samples, seed=seed, client=False, **arguments)
