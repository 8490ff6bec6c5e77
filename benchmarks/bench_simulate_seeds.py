"""Simulations over many seeds: serial vs 2 worker processes of a LocalCluster.

:func:`costmodel.simulate_seeds` of two policies of ``examples/outage_short.toml`` ("no
protection" and "breaker + fallback + cache", 6 minutes at 20 requests/s with a 3-minute
hang) over 8 seeds: 16 tasks of a full simulation each. Timed once here
(``client=False``) and once on a ``LocalCluster`` of 2 worker processes of 1 thread
each, started and warmed up beforehand (each worker imported costmodel and ran one
task), best of 2 runs each. The ratio is the cluster's wall time over the serial one
(0.5 would be a perfect split over 2 cores). Both runs' rows are checked to be equal
before the figures are kept.

The second row is the cost of a worker's start: the first batch on a cluster just
started (worker processes importing numpy, pandas and costmodel) against the warm run.
"""

from __future__ import annotations

import logging
import time
from importlib import resources

from benchmarks.harness import Row
from costmodel import load_simulation, simulate_seeds

TITLE = "Simulations over seeds (serial vs 2 worker processes, LocalCluster)"
SEEDS = 8
POLICIES = ("no protection", "breaker + fallback + cache")


def run() -> list[Row]:
    import distributed

    spec = load_simulation(resources.files("costmodel") / "examples/outage_short.toml")
    policies = {name: spec.policies[name] for name in POLICIES}

    def once(client: object) -> tuple[float, object]:
        start = time.perf_counter()
        runs = simulate_seeds(policies, spec.scenario, seeds=SEEDS, client=client)
        return time.perf_counter() - start, runs

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        cold, _ = once(client)
        timings = [once(False), once(client), once(False), once(client)]
    serial = min(t for t, _ in timings[0::2])
    spread = min(t for t, _ in timings[1::2])
    rows = [runs.rows for _, runs in timings]  # type: ignore[attr-defined]
    if not all(frame.equals(rows[0]) for frame in rows):
        raise AssertionError("the serial and the distributed runs differ")
    tasks = SEEDS * len(POLICIES)
    return [
        Row(
            name=f"simulate_seeds wall s, {tasks} runs: 2 workers vs serial",
            ours=spread,
            anchor=serial,
            unit="s; ratio = 2 workers / serial (0.5 = perfect split)",
            target="<= 0.6",
        ),
        Row(
            name="first batch on a fresh cluster vs a warm one",
            ours=cold,
            anchor=spread,
            unit="s; worker start-up and imports",
            target="report",
        ),
    ]
