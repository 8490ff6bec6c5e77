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

The third is what a task costs a worker beyond the simulation itself, and does not move
with the machine's load as wall times do: the CPU seconds (``time.process_time``) of one
run inside a worker process's task against the same run here, mean of 4 seeds each.
"""

from __future__ import annotations

import logging
import sys
import time
from importlib import resources
from typing import Any

from benchmarks.harness import Row
from costmodel import load_simulation, simulate_seeds

TITLE = "Simulations over seeds (serial vs 2 worker processes, LocalCluster)"
SEEDS = 8
POLICIES = ("no protection", "breaker + fallback + cache")


def cpu_seconds(factory: Any, scenario: Any, seed: int) -> float:
    """CPU seconds of one simulation in this process (here, or in a worker's task)."""
    from costmodel import simulate

    start = time.process_time()
    simulate(factory, scenario, seed=seed)
    return time.process_time() - start


def run() -> list[Row]:
    import cloudpickle
    import distributed

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers lack benchmarks/

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
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        cold, _ = once(client)
        timings = [once(False), once(client), once(False), once(client)]
        factory = policies[POLICIES[0]]
        cpu_here = [cpu_seconds(factory, spec.scenario, seed) for seed in range(4)]
        cpu_there = [
            client.submit(cpu_seconds, factory, spec.scenario, seed, pure=False).result()
            for seed in range(4)
        ]
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
        Row(
            name=f"CPU s of one run ({POLICIES[0]}) in a worker's task vs here",
            ours=sum(cpu_there) / len(cpu_there),
            anchor=sum(cpu_here) / len(cpu_here),
            unit="s; ratio = a task's overhead on the worker",
            target="report",
        ),
    ]
