"""simulate_seeds: many seeds and grids, on a real LocalCluster or here; bands across seeds."""

from __future__ import annotations

import dataclasses
import functools
import threading
from typing import Any

import numpy as np
import pandas as pd
import pytest
from support.paths import EXAMPLES

from costmodel import InvalidUsage
from costmodel.simulation.run import SimulationContext, load_simulation, simulate
from costmodel.simulation.scenario import Downstream, PoissonArrivals, Scenario
from costmodel.simulation.seeds import BAND_COLUMNS, seed_bands, simulate_seeds, spawn_seeds
from resilience import Policy, retry

SHORT = Scenario(
    arrivals=PoissonArrivals(rate_per_s=8, duration_s=30),
    downstream=Downstream(latency=60.0, error_rate=0.2, error_latency_ms=5),
)


def _factories() -> tuple[Any, Any]:
    """The tests' Policy factories, made as local functions: distributed pickles a module's
    function by reference (its module and name), and a worker process cannot import this
    test module under `make test-installed` (no checkout on its path), so the worker failed
    to read the task. Local functions travel by value, as a notebook's functions do."""

    def retrying(sim: SimulationContext, attempts: int = 1) -> Policy:
        """A Policy with a retry of ``attempts`` attempts (a grid parameter)."""
        return Policy(
            name="retrying",
            ledger=sim.ledger,
            clock=sim.clock,
            retry=retry(attempts=attempts, backoff_s=0.05, clock=sim.clock, rng=sim.rng),
        )

    def bare(sim: SimulationContext) -> Policy:
        """No protection."""
        return Policy(name="bare", ledger=sim.ledger, clock=sim.clock)

    return retrying, bare


retrying, bare = _factories()


@pytest.fixture(scope="module")
def outage() -> Any:
    """examples/outage_short.toml, its traffic cut to 75 s (the hang starts at 60 s)."""
    spec = load_simulation(EXAMPLES / "outage_short.toml")
    arrivals = dataclasses.replace(spec.scenario.arrivals, duration_s=75)
    return dataclasses.replace(spec, scenario=dataclasses.replace(spec.scenario, arrivals=arrivals))


def test_seeds_are_spawned_from_the_base_seed() -> None:
    """Replicate i's seed is SeedSequence(seed).spawn(n)[i]'s first word, halved."""
    children = np.random.SeedSequence(42).spawn(5)
    expected = [int(c.generate_state(1, dtype=np.uint64)[0]) // 2 for c in children]
    assert spawn_seeds(42, 5) == expected
    assert spawn_seeds(42, 3) == expected[:3]  # more replicates keep the first ones
    assert spawn_seeds(43, 5) != expected
    assert all(0 <= s < 2**63 for s in expected)


def test_the_file_policies_on_the_cluster_equal_a_serial_run(dask_client: Any, outage: Any) -> None:
    """Same seeds, same rows, whether the runs are tasks on 2 worker processes or here."""
    from distributed import get_task_stream

    policies = {k: outage.policies[k] for k in ("no protection", "breaker + fallback")}
    kwargs = {"seeds": 3, "seed": 5, "provider": outage.provider}
    serial = simulate_seeds(policies, outage.scenario, client=False, **kwargs)
    with get_task_stream(dask_client) as stream:
        spread = simulate_seeds(policies, outage.scenario, client=dask_client, **kwargs)
    ran = [task for task in stream.data if str(task["key"]).startswith("simulate-seeds")]
    assert len(ran) == 6  # one task per (policy, seed), on the workers
    pd.testing.assert_frame_equal(spread.rows, serial.rows)
    pd.testing.assert_frame_equal(spread.bands, serial.bands)
    assert spread.seeds == tuple(spawn_seeds(5, 3))
    # and each row is the plain simulate() of that policy and seed
    one = simulate(policies["no protection"], outage.scenario, seed=spread.seeds[1])
    row = serial.rows[serial.rows["policy"] == "no protection"].iloc[1]
    assert row["total_cost"] == one.total_cost
    assert row["latency_p95_ms"] == one.latency_ms()["p95"]


def test_the_active_client_is_used_and_module_factories_travel(dask_client: Any) -> None:
    """client=None takes the active client; a grid over a factory's parameter there."""
    grid = {"attempts": [1, 3]}
    serial = simulate_seeds(retrying, SHORT, seeds=2, grid=grid, client=False)
    with dask_client.as_current():
        spread = simulate_seeds(retrying, SHORT, seeds=2, grid=grid)
    pd.testing.assert_frame_equal(spread.rows, serial.rows)


def test_bands_are_numpy_over_the_per_seed_rows() -> None:
    """mean, std (ddof=1), sem and the 5/50/95th percentiles of each group's rows."""
    runs = simulate_seeds({"bare": bare, "retrying": retrying}, SHORT, seeds=5, client=False)
    for policy in ("bare", "retrying"):
        for metric in ("total_cost", "failed_share", "latency_p95_ms", "calls"):
            values = runs.rows.loc[runs.rows["policy"] == policy, metric].to_numpy(float)
            band = runs.bands.loc[(policy, metric)]
            assert band["seeds"] == 5
            assert band["mean"] == pytest.approx(values.mean())
            assert band["std"] == pytest.approx(values.std(ddof=1))
            assert band["sem"] == pytest.approx(values.std(ddof=1) / np.sqrt(5))
            for q in (5, 50, 95):
                assert band[f"p{q}"] == pytest.approx(np.percentile(values, q))
    assert list(runs.bands.columns) == list(BAND_COLUMNS)
    assert runs.rows["total_cost"].nunique() > 1  # the seeds do differ
    pd.testing.assert_frame_equal(runs.band("total_cost"), runs.bands.xs("total_cost", level=1))


def test_policies_of_one_replicate_share_its_seed() -> None:
    """Common random numbers: the same arrivals for every policy of a replicate."""
    runs = simulate_seeds({"bare": bare, "retrying": retrying}, SHORT, seeds=3, client=False)
    wide = runs.rows.pivot(index="replicate", columns="policy", values="calls")
    assert (wide["bare"] == wide["retrying"]).all()
    assert wide["bare"].nunique() > 1  # Poisson arrivals: each replicate its own draw


def test_a_grid_over_factory_scenario_and_setting() -> None:
    """Each grid point's row is simulate() with those values; every combination runs."""
    grid = {
        "attempts": [1, 2],
        "scenario.downstream.error_rate": [0.0, 0.3],
        "callee_memory_mb": [256],
    }
    runs = simulate_seeds(retrying, SHORT, seeds=[11], grid=grid, client=False)
    assert runs.by == ("policy", *grid)
    assert len(runs.rows) == 4
    row = runs.rows.iloc[3]
    assert (row["attempts"], row["scenario.downstream.error_rate"]) == (2, 0.3)
    downstream = dataclasses.replace(SHORT.downstream, error_rate=0.3)
    changed = dataclasses.replace(SHORT, downstream=downstream)
    direct = simulate(
        functools.partial(retrying, attempts=2), changed, seed=11, callee_memory_mb=256
    )
    assert row["total_cost"] == direct.total_cost
    assert row["callee_calls"] == len(direct.executions)
    assert runs.rows.loc[runs.rows["scenario.downstream.error_rate"] == 0.0, "errors"].eq(0).all()


def test_a_window_bands_what_started_in_it(outage: Any) -> None:
    """window=(start, end): each row is the run's summary over that span."""
    policies = {"no protection": outage.policies["no protection"]}
    runs = simulate_seeds(policies, outage.scenario, seeds=[3], window=(60, 75), client=False)
    whole = simulate(policies["no protection"], outage.scenario, seed=3)
    assert runs.rows.iloc[0]["calls"] == whole.summary(start_s=60, end_s=75)["calls"]


@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        (0, r"seeds=0: must be an integer >= 1"),
        (-2, r"seeds=-2: must be an integer >= 1"),
        (2.5, r"seeds=2.5: must be a number of seeds"),
        (True, r"seeds=True"),
        ("3", r"seeds='3': must be a number of seeds"),
        ([], r"seeds=\[\]: give at least one seed"),
        ([1, -1], r"seeds\[1\]=-1: must be an integer >= 0"),
        ([4, 4], r"seeds: 4 is given twice"),
    ],
)
def test_bad_seeds(seeds: Any, message: str) -> None:
    """Seeds: a count >= 1 or distinct integers >= 0."""
    with pytest.raises(InvalidUsage, match=message):
        simulate_seeds(bare, SHORT, seeds=seeds, client=False)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"attemps": [1]}, r"'attemps' is not a parameter of policies\['policy'\] .*attempts"),
        ({"scenario.downstrem.latency": [1.0]}, r"Scenario has no field 'downstrem'; known:"),
        ({"scenario.windows.0.end_s": [1.0]}, r"no item '0' \(there are 0\)"),
        ({"scenario.downstream.error_rate": [2.0]}, r"error_rate.*=2.0"),
        ({"attempts": [0]}, r"policies\['policy'\] at attempts=0: .*attempts"),
        ({"callee_memory_mb": [-1]}, r"grid point callee_memory_mb=-1: callee_memory_mb"),
        ({"attempts": 3}, r"grid\['attempts'\]=3: must be a list of values"),
        ({"attempts": []}, r"grid\['attempts'\]: give at least one value"),
        ({"seed": [1]}, r"'seed' cannot be a parameter name"),
    ],
)
def test_bad_grids_fail_before_running(grid: Any, message: str) -> None:
    """An unknown parameter or a refused value, named, before any run."""
    with pytest.raises(InvalidUsage, match=message):
        simulate_seeds(retrying, SHORT, seeds=2, grid=grid, client=False)


def test_a_policy_instance_is_refused() -> None:
    """A Policy carries state from run to run: a factory is required."""
    from resilience.virtual_time import VirtualClock

    policy = Policy(clock=VirtualClock())
    with pytest.raises(InvalidUsage, match=r"policies\['p'\]: a Policy instance cannot run"):
        simulate_seeds({"p": policy}, SHORT, seeds=2, client=False)


def test_an_unpicklable_factory_fails_before_submitting(dask_client: Any) -> None:
    """A closure over a lock cannot reach a worker: a clear error, no task sent."""
    from distributed import get_task_stream

    lock = threading.Lock()

    def locked(sim: SimulationContext) -> Policy:
        with lock:
            return bare(sim)

    simulate_seeds(locked, SHORT, seeds=1, client=False)  # fine in this process
    with (
        get_task_stream(dask_client) as stream,
        pytest.raises(
            InvalidUsage, match=r"policies\['policy'\]: the factory does not pickle.*lock"
        ),
    ):
        simulate_seeds(locked, SHORT, seeds=2, client=dask_client)
    assert not [t for t in stream.data if str(t["key"]).startswith("simulate-seeds")]


def test_a_key_already_on_the_cluster_does_not_answer_for_a_run(dask_client: Any) -> None:
    """Each call's tasks have keys of their own: a future held under a like-named key
    (another user's, another thread's) is not taken for this run's result."""
    held = [dask_client.submit(abs, -1, key=f"simulate-seeds-{i}") for i in range(2)]
    runs = simulate_seeds(bare, SHORT, seeds=2, client=dask_client)
    here = simulate_seeds(bare, SHORT, seeds=2, client=False)
    pd.testing.assert_frame_equal(runs.rows, here.rows)
    assert [f.result() for f in held] == [1, 1]


def test_a_grid_value_of_none_keeps_its_group() -> None:
    """region=None (the sheet's own) is a group like any other, not dropped."""
    runs = simulate_seeds(bare, SHORT, seeds=2, grid={"region": [None, "us-east-1"]},
                          client=False)  # fmt: skip
    assert runs.band("total_cost")["seeds"].tolist() == [2, 2]
    assert runs.band("total_cost").index.get_level_values("region").isna().tolist() == [
        True,
        False,
    ]


def test_progress_uses_dasks_progress_bar(dask_client: Any, capsys: Any) -> None:
    """progress=True draws Dask's own text bar to completion."""
    simulate_seeds(bare, SHORT, seeds=2, client=dask_client, progress=True)
    assert "100% Completed" in capsys.readouterr().out


def test_seed_bands_checks_its_columns() -> None:
    """A missing column is named."""
    with pytest.raises(InvalidUsage, match=r"no column 'cost'"):
        seed_bands(pd.DataFrame({"policy": ["a"]}), by=["policy"], metrics=["cost"])
    one = seed_bands(pd.DataFrame({"p": ["a"], "x": [2.0]}), by=["p"], metrics=["x"])
    assert np.isnan(one.loc[("a", "x"), "std"]) and one.loc[("a", "x"), "p95"] == 2.0


def test_an_unknown_band_metric_lists_the_known() -> None:
    """SeedRuns.band names the metrics it has."""
    runs = simulate_seeds(bare, SHORT, seeds=1, client=False)
    with pytest.raises(InvalidUsage, match=r"metric='cost': not banded; known: calls"):
        runs.band("cost")
