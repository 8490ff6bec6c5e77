"""Many seeds and parameter grids: simulations fanned out, and their bands across seeds.

One simulation is one draw of the traffic, the downstream's luck and the retry jitter.
:func:`simulate_seeds` runs every policy over many seeds (and over a grid of parameters:
a factory's own, a scenario field, a billing setting), one task per run, on the
``dask.distributed`` cluster of ``client=`` or the active one, else in this process, then
returns each run's summary row and the bands across seeds (:func:`seed_bands`).

Seeds: replicate ``i`` of base seed ``s`` runs with seed ``spawn_seeds(s, n)[i]``, made by
``numpy.random.SeedSequence(s).spawn(n)`` (:func:`spawn_seeds`), so the seeds, and with
them the results, depend on the base seed alone, never on where a task ran: a serial run
and a distributed one are equal, row for row. Every policy and grid point of replicate
``i`` runs with the same seed (common random numbers: the same arrivals and downstream
draws), so their differences are the policies', not the luck's.

A task carries what builds a Policy, never a Policy (a Policy holds locks, a breaker's
and a cache's state): a factory, pickled by Dask (cloudpickle), so a module-level function,
a ``functools.partial`` of one, or the factories of a simulation file
(:func:`costmodel.load_simulation`) all travel; one that does not pickle fails before
anything is submitted.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from resilience import Ledger, Policy
from resilience._validate import Number, number
from resilience.virtual_time import VirtualTimeLoop

from ..cluster import client_for, run_tasks
from ..errors import InvalidUsage
from .run import PolicyFactory, SimulationContext, SimulationResult, _billing, simulate
from .scenario import Scenario

__all__ = ["BAND_COLUMNS", "SeedRuns", "seed_bands", "simulate_seeds", "spawn_seeds"]

#: The columns of a band: how many seeds, their mean, sample standard deviation
#: (``ddof=1``), the standard error of the mean (``std / sqrt(seeds)``), and the 5th,
#: 50th and 95th percentiles across seeds (numpy's linear interpolation).
BAND_COLUMNS = ("seeds", "mean", "std", "sem", "p5", "p50", "p95")

#: Simulation settings a grid may vary (as :func:`costmodel.simulate` takes them).
GRID_SETTINGS = ("provider", "region", "caller_memory_mb", "callee_memory_mb", "loser_billing")

_COUNT = Number(low=1, integral=True, types=(int, np.integer), allowed="an integer >= 1")
_SEED = Number(low=0, integral=True, types=(int, np.integer), allowed="an integer >= 0")


def spawn_seeds(seed: int = 0, n: int = 10) -> list[int]:
    """``n`` seeds drawn from one base seed: replicate ``i`` gets the ``i``-th.

    ``numpy.random.SeedSequence(seed).spawn(n)``, each child's first 64-bit word halved to
    an integer below 2**63 (:func:`costmodel.simulate` takes it as its ``seed``). The
    first seeds do not depend on ``n``: 20 replicates are 10 replicates and 10 more.

    Args:
        seed: the base seed, an integer >= 0.
        n: how many seeds, an integer >= 1.

    >>> spawn_seeds(0, 3) == spawn_seeds(0, 5)[:3]
    True
    >>> len(set(spawn_seeds(7, 100)))
    100
    """
    base = number("seed", seed, _SEED, error=InvalidUsage)
    count = number("seeds", n, _COUNT, error=InvalidUsage)
    children = np.random.SeedSequence(int(base)).spawn(int(count))
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


def _seed_list(seeds: object, seed: object) -> list[int]:
    """``seeds`` as a list: a count spawned from ``seed``, or the integers given."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        return spawn_seeds(seed, seeds)  # type: ignore[arg-type]
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise InvalidUsage(
            f"seeds={seeds!r}: must be a number of seeds (an integer >= 1) or a list of "
            "seeds (integers >= 0)"
        )
    given = list(seeds)
    if not given:
        raise InvalidUsage("seeds=[]: give at least one seed")
    checked = [
        int(number(f"seeds[{i}]", value, _SEED, error=InvalidUsage))
        for i, value in enumerate(given)
    ]
    if len(set(checked)) != len(checked):
        twice = next(s for s in checked if checked.count(s) > 1)
        raise InvalidUsage(f"seeds: {twice} is given twice; each replicate needs its own seed")
    return checked


def seed_bands(rows: pd.DataFrame, *, by: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """The spread of each metric across seeds, per group of rows.

    Args:
        rows: one row per run (e.g. :attr:`SeedRuns.rows`).
        by: the columns that make a group (the policy, the grid's parameters); groups in
            the order they first appear.
        metrics: the numeric columns to band.

    Returns:
        A DataFrame indexed by ``(*by, "metric")`` with the :data:`BAND_COLUMNS`. With one
        seed, ``std`` and ``sem`` are NaN (a spread needs two draws).

    >>> rows = pd.DataFrame({"policy": ["a"] * 4, "cost": [1.0, 2.0, 3.0, 4.0]})
    >>> seed_bands(rows, by=["policy"], metrics=["cost"]).loc[("a", "cost"), ["mean", "p50"]]
    mean    2.5
    p50     2.5
    Name: (a, cost), dtype: float64
    """
    missing = [name for name in (*by, *metrics) if name not in rows.columns]
    if missing:
        raise InvalidUsage(f"seed_bands: no column {missing[0]!r} in rows")
    records = []
    for key, group in rows.groupby(list(by), sort=False, dropna=False):
        keys = key if isinstance(key, tuple) else (key,)
        for metric in metrics:
            values = group[metric].to_numpy(dtype=np.float64)
            records.append((*keys, metric, *_band(values)))
    frame = pd.DataFrame(records, columns=[*by, "metric", *BAND_COLUMNS])
    frame["seeds"] = frame["seeds"].astype(np.int64)
    return frame.set_index([*by, "metric"])


def _band(values: np.ndarray[Any, Any]) -> tuple[float, ...]:
    n = values.size
    std = float(values.std(ddof=1)) if n > 1 else float("nan")
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return (n, float(values.mean()), std, std / np.sqrt(n), float(p5), float(p50), float(p95))


@dataclass(frozen=True, slots=True)
class SeedRuns:
    """Runs over many seeds (and grid points), and their bands.

    Attributes:
        rows: one row per run: the group columns (``policy`` or ``architecture``, then one
            column per grid parameter), ``replicate`` (0, 1, ...), ``seed``, then the
            metrics (for simulations the :func:`costmodel.compare_policies` columns, with
            ``latency_p95_ms`` and ``failed_share``: calls that raised to the user, as a
            share of the calls).
        bands: :func:`seed_bands` of the rows' metrics, per group.
        seeds: the seed of each replicate.
        by: the group columns.
    """

    rows: pd.DataFrame = field(repr=False)
    bands: pd.DataFrame = field(repr=False)
    seeds: tuple[int, ...]
    by: tuple[str, ...]

    def band(self, metric: str) -> pd.DataFrame:
        """One metric's band per group (index: the group columns).

        Raises:
            InvalidUsage: no such metric (the message lists them).
        """
        known = list(dict.fromkeys(self.bands.index.get_level_values("metric")))
        if metric not in known:
            raise InvalidUsage(f"metric={metric!r}: not banded; known: {', '.join(known)}")
        return pd.DataFrame(self.bands.xs(metric, level="metric"))


# -- simulate over seeds and grids -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Point:
    """One grid point: the values, and where each goes."""

    values: tuple[tuple[str, Any], ...]
    factory_kwargs: Mapping[str, Any]
    scenario: Scenario
    settings: Mapping[str, Any]


def simulate_seeds(
    policies: PolicyFactory | Mapping[str, PolicyFactory],
    scenario: Scenario,
    *,
    seeds: int | Sequence[int] = 10,
    seed: int = 0,
    grid: Mapping[str, Sequence[Any]] | None = None,
    window: tuple[float, float] | None = None,
    client: Any = None,
    progress: bool = False,
    provider: str = "aws-lambda",
    caller_memory_mb: float = 512.0,
    callee_memory_mb: float = 1024.0,
    options: Mapping[str, Any] | None = None,
    caller_options: Mapping[str, Any] | None = None,
    region: str | None = None,
    loser_billing: str = "run_to_completion",
) -> SeedRuns:
    """:func:`costmodel.simulate` of each policy over many seeds and grid points; bands.

    :func:`costmodel.compare_policies` over many seeds: every policy and grid point of a
    replicate runs on that replicate's seed (common random numbers). One task per
    (policy, grid point, seed), each a full simulation, on the cluster (one Dask task in a
    worker process) or here; the rows are the same either way.

    Args:
        policies: a factory ``factory(sim) -> Policy``, or ``{name: factory}`` (a
            simulation file's ``policies``). Not a Policy instance: its breaker and
            cache would carry over from one run to the next.
        scenario: the scenario.
        seeds: how many replicates (seeds drawn from ``seed`` by :func:`spawn_seeds`),
            or the list of seeds to run (integers >= 0, each once).
        seed: the base seed when ``seeds`` is a count.
        grid: ``{parameter: [values]}``, every combination run (in the order given). A
            parameter is a keyword argument of the factories (``factory(sim,
            attempts=3)``; every factory must take it), a scenario field by its dotted
            path (``"scenario.downstream.error_rate"``, ``"scenario.windows.0.end_s"``),
            or a setting of :data:`GRID_SETTINGS` (``"callee_memory_mb"``).
        window: ``(start_s, end_s)``: the rows cover what started in that span (see
            :meth:`costmodel.SimulationResult.summary`).
        client: a ``distributed.Client``; None: the active one, else here; False: here.
        progress: Dask's progress display while the tasks run on a cluster.
        provider: function platform key, as :func:`costmodel.simulate` takes it.
        caller_memory_mb: memory of the calling function, MB.
        callee_memory_mb: memory of the called function, MB.
        options: provider options for both bills.
        caller_options: provider options for the caller's bill only.
        region: the provider's region (default: its sheet's own).
        loser_billing: how cancelled executions bill (see :func:`costmodel.simulate`).

    Returns:
        :class:`SeedRuns` grouped by ``policy`` and the grid's parameters.

    Raises:
        InvalidUsage: bad seeds, an unknown grid parameter or a value its target
            refuses, a bad setting, a factory that fails to build a Policy, or (on a
            cluster) one that does not pickle: all before any task is submitted.

    Example:
        >>> from resilience import Policy, retry
        >>> from costmodel import ConstantRate, Downstream, Scenario
        >>> s = Scenario(arrivals=ConstantRate(rate_per_s=5, duration_s=20),
        ...              downstream=Downstream(latency=50.0, error_rate=0.2))
        >>> def retrying(sim, attempts=1):
        ...     return Policy(ledger=sim.ledger, clock=sim.clock,
        ...                   retry=retry(attempts=attempts, clock=sim.clock, rng=sim.rng))
        >>> runs = simulate_seeds({"retry": retrying}, s, seeds=4,
        ...                       grid={"attempts": [1, 3]}, client=False)
        >>> band = runs.band("failed_share")  # a 20% error rate: retries hide most of it
        >>> band.index.tolist(), (band["mean"] < 0.05).tolist()
        ([('retry', 1), ('retry', 3)], [False, True])
    """
    named = _policies(policies)
    if not isinstance(scenario, Scenario):
        raise InvalidUsage(f"scenario={scenario!r}: must be a costmodel.Scenario")
    seed_list = _seed_list(seeds, seed)
    base: dict[str, Any] = {
        "provider": provider,
        "caller_memory_mb": caller_memory_mb,
        "callee_memory_mb": callee_memory_mb,
        "options": options,
        "caller_options": caller_options,
        "region": region,
        "loser_billing": loser_billing,
    }
    if window is not None:
        SimulationResult._span(*window)
    points = _grid_points(grid, named, scenario, base)
    cluster = client_for(client)
    if cluster is not None:
        _check_pickles(named, points)
    tasks = [
        (_factory(factory, point), point.scenario, label, run_seed, dict(point.settings), window)
        for point in points
        for label, factory in named.items()
        for run_seed in seed_list
    ]
    here = False if cluster is None else cluster
    results = run_tasks(_run_one, tasks, client=here, progress=progress, name="simulate-seeds")
    params = [name for name, _ in points[0].values]
    records = []
    index = 0
    for point in points:
        for label in named:
            for replicate, run_seed in enumerate(seed_list):
                row = results[index]
                index += 1
                records.append(
                    {"policy": label, **dict(point.values), "replicate": replicate,
                     "seed": run_seed, **{k: v for k, v in row.items() if k != "policy"}}
                )  # fmt: skip
    return _seed_runs(records, ("policy", *params), seed_list)


def _seed_runs(records: list[dict[str, Any]], by: tuple[str, ...], seeds: list[int]) -> SeedRuns:
    """The rows as a frame, and the bands of every numeric metric."""
    rows = pd.DataFrame(records)
    skip = {*by, "replicate", "seed"}
    metrics = [
        name
        for name in rows.columns
        if name not in skip and pd.api.types.is_numeric_dtype(rows[name])
        and not pd.api.types.is_bool_dtype(rows[name])
    ]  # fmt: skip
    return SeedRuns(
        rows=rows,
        bands=seed_bands(rows, by=list(by), metrics=metrics),
        seeds=tuple(seeds),
        by=by,
    )


def _policies(policies: Any) -> dict[str, PolicyFactory]:
    """``{name: factory}``, a single factory named ``"policy"``; no Policy instances."""
    if isinstance(policies, Mapping):
        named = dict(policies)
        if not named:
            raise InvalidUsage("policies={}: give at least one {name: factory}")
    else:  # one factory (checked below, with the others)
        named = {"policy": policies}
    for label, factory in named.items():
        if isinstance(factory, Policy):
            raise InvalidUsage(
                f"policies[{label!r}]: a Policy instance cannot run over many seeds (its "
                "breaker and cache would carry over from one run to the next, and it does "
                "not pickle to a worker); give a factory sim -> Policy"
            )
        if isinstance(factory, type) or not callable(factory):
            raise InvalidUsage(
                f"policies[{label!r}]={factory!r}: must be a factory (sim -> Policy)"
            )
    return named


def _grid_points(
    grid: Mapping[str, Sequence[Any]] | None,
    policies: Mapping[str, PolicyFactory],
    scenario: Scenario,
    base: Mapping[str, Any],
) -> list[_Point]:
    """Every combination of the grid's values, each checked: the scenario rebuilt, the
    settings checked, every factory built once (bad values fail here, not on a worker)."""
    axes = _grid_axes(grid)
    points = []
    for combination in itertools.product(*(values for _, values in axes)):
        values = tuple((name, value) for (name, _), value in zip(axes, combination, strict=True))
        point = _point(values, policies, scenario, base)
        _check_point(point, policies)
        points.append(point)
    return points


def _grid_axes(grid: object) -> list[tuple[str, list[Any]]]:
    """The grid as ``[(parameter, values)]``, each with at least one value."""
    if grid is None:
        return []
    if not isinstance(grid, Mapping):
        raise InvalidUsage(f"grid={grid!r}: must be a {{parameter: [values]}} dict")
    axes = []
    for name, values in grid.items():
        if not isinstance(name, str) or name in ("policy", "replicate", "seed"):
            raise InvalidUsage(f"grid: {name!r} cannot be a parameter name")
        if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
            raise InvalidUsage(f"grid[{name!r}]={values!r}: must be a list of values")
        listed = list(values)
        if not listed:
            raise InvalidUsage(f"grid[{name!r}]: give at least one value")
        axes.append((name, listed))
    return axes


def _point(
    values: tuple[tuple[str, Any], ...],
    policies: Mapping[str, PolicyFactory],
    scenario: Scenario,
    base: Mapping[str, Any],
) -> _Point:
    """Where each value of one grid point goes: a factory argument, a scenario field or
    a setting."""
    kwargs: dict[str, Any] = {}
    settings = dict(base)
    for name, value in values:
        if name.startswith("scenario."):
            scenario = _replaced(scenario, name, value)
        elif name in GRID_SETTINGS:
            settings[name] = value
        else:
            _check_factory_parameter(name, policies)
            kwargs[name] = value
    return _Point(values=values, factory_kwargs=kwargs, scenario=scenario, settings=settings)


def _check_factory_parameter(name: str, policies: Mapping[str, PolicyFactory]) -> None:
    for label, factory in policies.items():
        parameters: Mapping[str, inspect.Parameter]
        try:
            parameters = inspect.signature(factory).parameters
        except (TypeError, ValueError):
            parameters = {}
        takes = name in parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
        )
        if not takes:
            raise InvalidUsage(
                f"grid: {name!r} is not a parameter of policies[{label!r}] (its parameters: "
                f"{', '.join(parameters) or 'none'}), nor a scenario field "
                f"('scenario.downstream.error_rate', ...), nor a setting "
                f"({', '.join(GRID_SETTINGS)})"
            )


def _replaced(scenario: Scenario, path: str, value: Any) -> Scenario:
    """``scenario`` with the field at the dotted ``path`` set to ``value`` (dataclasses
    rebuilt, so each checks the new value as its constructor does)."""
    steps = path.split(".")[1:]
    if not steps or not all(steps):
        raise InvalidUsage(f"grid: {path!r}: name a scenario field (scenario.keys, ...)")
    try:
        rebuilt: Scenario = _set(scenario, steps, value, path)
    except InvalidUsage as exc:
        raise InvalidUsage(f"grid[{path!r}]={value!r}: {exc}") from None
    return rebuilt


def _set(owner: Any, steps: list[str], value: Any, path: str) -> Any:
    step, rest = steps[0], steps[1:]
    if isinstance(owner, tuple):
        if not step.isdigit() or int(step) >= len(owner):
            raise InvalidUsage(f"{path!r}: no item {step!r} (there are {len(owner)})")
        items = list(owner)
        items[int(step)] = _set(items[int(step)], rest, value, path) if rest else value
        return tuple(items)
    if not dataclasses.is_dataclass(owner) or isinstance(owner, type):
        raise InvalidUsage(f"{path!r}: {type(owner).__name__} has no field {step!r}")
    names = [f.name for f in dataclasses.fields(owner) if f.init and not f.name.startswith("_")]
    if step not in names:
        raise InvalidUsage(
            f"{path!r}: {type(owner).__name__} has no field {step!r}; known: {', '.join(names)}"
        )
    new = _set(getattr(owner, step), rest, value, path) if rest else value
    return dataclasses.replace(owner, **{step: new})


def _factory(factory: PolicyFactory, point: _Point) -> PolicyFactory:
    if not point.factory_kwargs:
        return factory
    return functools.partial(factory, **point.factory_kwargs)


def _check_point(point: _Point, policies: Mapping[str, PolicyFactory]) -> None:
    """The point's settings, and each factory built once with its arguments."""
    where = ", ".join(f"{name}={value!r}" for name, value in point.values)
    try:
        _billing(seed=0, **point.settings)
    except InvalidUsage as exc:
        raise InvalidUsage(f"grid point {where}: {exc}" if where else str(exc)) from None
    loop = VirtualTimeLoop()
    try:
        for label, factory in policies.items():
            probe = SimulationContext(
                clock=loop.clock, ledger=Ledger(max_records=0), rng=random.Random(0), seed=0
            )
            try:
                built = _factory(factory, point)(probe)
            except (InvalidUsage, TypeError, ValueError) as exc:
                at = f" at {where}" if where else ""
                raise InvalidUsage(f"policies[{label!r}]{at}: {exc}") from None
            if not isinstance(built, Policy):
                raise InvalidUsage(
                    f"policies[{label!r}]: the factory returned {built!r}; it must return "
                    "a resilience.Policy"
                )
    finally:
        loop.close()


def _check_pickles(policies: Mapping[str, PolicyFactory], points: list[_Point]) -> None:
    """Each factory and scenario must pickle as Dask sends them (its pickler: pickle, then
    cloudpickle)."""
    from distributed.protocol import pickle as dask_pickle

    for label, factory in policies.items():
        try:
            dask_pickle.dumps(_factory(factory, points[0]))
        except Exception as exc:  # any pickling failure, named
            raise InvalidUsage(
                f"policies[{label!r}]: the factory does not pickle, so it cannot run on a "
                f"worker ({type(exc).__name__}: {exc}); give a module-level function (a "
                "functools.partial for its arguments) or a simulation file's policies, not "
                "a closure over live objects (a Policy, a lock, a connection)"
            ) from None
    try:
        dask_pickle.dumps(points[0].scenario)
    except Exception as exc:
        raise InvalidUsage(f"scenario: does not pickle ({type(exc).__name__}: {exc})") from None


def _run_one(
    factory: PolicyFactory,
    scenario: Scenario,
    name: str,
    seed: int,
    settings: dict[str, Any],
    window: tuple[float, float] | None,
) -> dict[str, Any]:
    """One simulation (a task): its summary row, with the p95 latency and the failed
    share."""
    result = simulate(factory, scenario, seed=seed, name=name, **settings)
    start_s, end_s = window if window is not None else (None, None)
    summary = result.summary(start_s=start_s, end_s=end_s)
    latency = result.latency_ms(start_s=start_s, end_s=end_s)
    row: dict[str, Any] = {}
    for key, value in summary.items():
        row[key] = value
        if key == "latency_p50_ms":
            row["latency_p95_ms"] = latency["p95"]
    calls = summary["calls"]
    row["failed_share"] = summary["errors_seen"] / calls if calls else 0.0
    return row
