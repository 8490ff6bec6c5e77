"""compare / sweep fanned out to a real LocalCluster, and compare over many seeds."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from costmodel import InvalidUsage, SubstitutedServiceWarning
from costmodel.architectures.comparison import compare, sweep
from costmodel.architectures.compositions import Function, async_chain, sync_chain, workflow
from costmodel.architectures.distributions import CpuBound, fixed, lognormal
from costmodel.architectures.replicates import compare_seeds, sweep_seeds
from costmodel.simulation.seeds import spawn_seeds


def _chains() -> dict[str, Any]:
    a = Function("a", memory_mb=1024, duration=lognormal(p50_ms=120, p99_ms=700),
                 error_rate=0.02, cold_start_probability=0.05, init_duration_ms=300)  # fmt: skip
    b = Function("b", memory_mb=512, duration=lognormal(p50_ms=200, p99_ms=1500))
    return {"sync": sync_chain(a, b), "async": async_chain(a, b), "workflow": workflow(a, b)}


def _keys(stream: Any, prefix: str) -> list[str]:
    return [str(t["key"]) for t in stream.data if str(t["key"]).startswith(prefix)]


def test_compare_on_the_cluster_equals_here(dask_client: Any) -> None:
    """One task per architecture on the workers; the same table, to the last bit."""
    from distributed import get_task_stream

    here = compare(_chains(), invocations=3e6, samples=5000, seed=4, client=False)
    with get_task_stream(dask_client) as stream:
        there = compare(_chains(), invocations=3e6, samples=5000, seed=4, client=dask_client)
    assert len(_keys(stream, "compare-")) == 3
    pd.testing.assert_frame_equal(there, here, check_exact=True)
    assert there.attrs == here.attrs


@pytest.mark.parametrize(
    ("over", "values", "tasks"),
    [("memory_mb", [256, 512, 1024, 2048], 12), ("invocations", [1e4, 1e6, 1e8], 3)],
)
def test_sweep_on_the_cluster_equals_here(
    dask_client: Any, over: str, values: list[float], tasks: int
) -> None:
    """A task per architecture and value (per architecture for volumes); same Sweep."""
    from distributed import get_task_stream

    kwargs: dict[str, Any] = {"over": over, "values": values, "samples": 2000, "seed": 2}
    if over == "memory_mb":
        kwargs["scaling"] = CpuBound(cpu_share=0.8)
    here = sweep(_chains(), client=False, **kwargs)
    with get_task_stream(dask_client) as stream, dask_client.as_current():
        there = sweep(_chains(), **kwargs)  # the active client
    assert len(_keys(stream, "sweep-")) == tasks
    pd.testing.assert_frame_equal(there.frame, here.frame, check_exact=True)
    pd.testing.assert_frame_equal(there.break_even, here.break_even, check_exact=True)
    pd.testing.assert_frame_equal(there.cheapest, here.cheapest, check_exact=True)


def test_compare_seeds_on_the_cluster_equals_here_and_each_replicate_is_compare(
    dask_client: Any,
) -> None:
    """Replicate i is compare(seed=spawn_seeds(seed, n)[i]): every architecture on the
    same seed; the same rows on the cluster as here."""
    kwargs: dict[str, Any] = {"invocations": 1e6, "seeds": 4, "seed": 9, "samples": 3000}
    here = compare_seeds(_chains(), client=False, **kwargs)
    there = compare_seeds(_chains(), client=dask_client, **kwargs)
    pd.testing.assert_frame_equal(there.rows, here.rows, check_exact=True)
    pd.testing.assert_frame_equal(there.bands, here.bands, check_exact=True)
    seeds = spawn_seeds(9, 4)
    assert here.seeds == tuple(seeds)
    third = compare(_chains(), invocations=1e6, samples=3000, seed=seeds[2], client=False)
    rows = here.rows[here.rows["replicate"] == 2].set_index("architecture")
    for column in ("total_usd", "latency_p99_ms", "failed_share"):
        assert rows[column].to_dict() == third[column].to_dict()


def test_compare_seeds_bands_are_numpy_over_the_rows() -> None:
    """mean, std (ddof=1) and the 5/50/95th percentiles of each architecture's rows."""
    runs = compare_seeds(_chains(), invocations=1e6, seeds=6, samples=1000, client=False)
    for name in ("sync", "async"):
        values = runs.rows.loc[runs.rows["architecture"] == name, "total_usd"].to_numpy()
        band = runs.band("total_usd").loc[name]
        assert band["mean"] == pytest.approx(values.mean())
        assert band["std"] == pytest.approx(values.std(ddof=1))
        assert band[["p5", "p50", "p95"]].tolist() == pytest.approx(
            np.percentile(values, [5, 50, 95]).tolist()
        )
    assert runs.rows["total_usd"].nunique() > 3  # the seeds differ


def test_compare_seeds_checks_before_submitting(dask_client: Any) -> None:
    """Bad seeds, samples or compare arguments fail here; no task reaches the cluster."""
    from distributed import get_task_stream

    with get_task_stream(dask_client) as stream:
        with pytest.raises(InvalidUsage, match=r"seeds=0: must be an integer >= 1"):
            compare_seeds(_chains(), invocations=1e6, seeds=0, client=dask_client)
        with pytest.raises(InvalidUsage, match=r"samples=0: must be an integer >= 1"):
            compare_seeds(_chains(), invocations=1e6, samples=0, client=dask_client)
        with pytest.raises(InvalidUsage, match=r"invocations"):
            compare_seeds(_chains(), invocations=0, seeds=2, client=dask_client)
    assert _keys(stream, "compare-seeds") == []


def test_compare_seeds_warns_once_for_a_substituted_service() -> None:
    """The warning compare gives (another vendor's sheet) is given once, not per seed."""
    up = Function("upload", memory_mb=1024, duration=fixed(50), vcpu=0.5)
    tx = Function("transcode", memory_mb=2048, duration=fixed(400), vcpu=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare_seeds({"wf": workflow(up, tx)}, provider="alibaba-fc3", invocations=1e6,
                      seeds=3, samples=50, client=False)  # fmt: skip
    substituted = [w for w in caught if issubclass(w.category, SubstitutedServiceWarning)]
    assert len(substituted) == 1


def test_sweep_seeds_on_the_cluster_equals_here_and_bands_each_value(dask_client: Any) -> None:
    """Replicate i is sweep(seed=seeds[i]); bands per (architecture, value), as numpy's."""
    kwargs: dict[str, Any] = {"over": "memory_mb", "values": [512, 1769], "seeds": 3,
                              "samples": 1000, "scaling": CpuBound(cpu_share=0.8)}  # fmt: skip
    here = sweep_seeds(_chains(), client=False, **kwargs)
    there = sweep_seeds(_chains(), client=dask_client, **kwargs)
    pd.testing.assert_frame_equal(there.rows, here.rows, check_exact=True)
    assert here.by == ("architecture", "value")
    second = sweep(_chains(), over="memory_mb", values=[512, 1769], samples=1000,
                   scaling=CpuBound(cpu_share=0.8), seed=here.seeds[1], client=False)  # fmt: skip
    rows = here.rows[here.rows["replicate"] == 1].drop(columns=["replicate", "seed"])
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), second.frame, check_exact=True)
    values = here.rows.query("architecture == 'sync' and value == 1769")["total_usd"].to_numpy()
    band = here.band("total_usd").loc[("sync", 1769.0)]
    assert band["mean"] == pytest.approx(values.mean())
    assert band["p95"] == pytest.approx(np.percentile(values, 95))
