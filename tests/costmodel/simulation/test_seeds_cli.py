"""costmodel simulate --seeds / --grid / --scheduler: bands on the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from support.paths import EXAMPLES

from costmodel.cli import main
from costmodel.simulation.run import load_simulation
from costmodel.simulation.seeds import simulate_seeds


@pytest.fixture(scope="module")
def short_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """outage_short.toml with 75 s of traffic (the hang starts at 60 s)."""
    text = (EXAMPLES / "outage_short.toml").read_text()
    assert "duration_s = 360" in text
    path = tmp_path_factory.mktemp("seeds") / "short.toml"
    path.write_text(text.replace("duration_s = 360", "duration_s = 75"))
    return path


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["simulate", *argv], out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_seeds_on_a_scheduler_equal_the_api_run_here(short_file: Path, dask_client: Any) -> None:
    """--scheduler ADDRESS runs on that cluster; the bands are simulate_seeds' (here)."""
    address = dask_client.scheduler.address
    status, out, err = _run(str(short_file), "--seeds", "2", "--seed", "3", "--scheduler",
                            address, "--format", "json", "--no-charts", "--progress")  # fmt: skip
    assert status == 0, err
    assert "100% Completed" in err  # Dask's own progress bar, on stderr
    spec = load_simulation(short_file)
    expected = simulate_seeds(spec.policies, spec.scenario, seeds=2, seed=3, client=False)
    got = pd.DataFrame(json.loads(out)["rows"])
    want = expected.bands.reset_index()
    assert got["policy"].tolist() == want["policy"].tolist()
    # JSON carries 10 significant digits
    assert got["mean"].tolist() == pytest.approx(want["mean"].tolist(), rel=1e-8, abs=1e-9)


def test_the_table_shows_each_policy_and_grid_point(short_file: Path) -> None:
    """A row group per (policy, grid value): cost, failed share, latency percentiles."""
    status, out, _ = _run(str(short_file), "--seeds", "5,9", "--no-charts", "--grid",
                          "callee_memory_mb=512,2048")  # fmt: skip
    assert status == 0
    lines = out.splitlines()
    assert lines[0].endswith("seeds 5,9")
    assert lines[1].split()[:2] == ["policy", "callee_memory_mb"]
    spec = load_simulation(short_file)
    retry_only = {"retry only": spec.policies["retry only"]}  # one group is enough here
    runs = simulate_seeds(retry_only, spec.scenario, seeds=[5, 9], client=False,
                          grid={"callee_memory_mb": [2048]})  # fmt: skip
    mean = runs.bands.loc[("retry only", 2048, "total_cost"), "mean"]
    row = next(line for line in lines if line.startswith("retry only") and " 2048 " in line)
    assert f"{mean:,.4f}" in row and "total cost (USD)" in row
    assert sum("latency p99 ms" in line for line in lines) == 8  # 4 policies x 2 sizes


def test_per_seed_rows_as_csv(short_file: Path) -> None:
    """--per-seed: one CSV row per policy and seed."""
    status, out, _ = _run(str(short_file), "--seeds", "2", "--per-seed", "--format", "csv",
                          "--no-charts")  # fmt: skip
    assert status == 0
    frame = pd.read_csv(io.StringIO(out))
    assert len(frame) == 8 and {"policy", "replicate", "seed", "failed_share"} <= set(frame)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "0"], "--seeds=0: must be >= 1"),
        (["--seeds", "1,x"], "--seeds='1,x': must be a number of seeds"),
        (["--seeds", "3,3"], "seeds: 3 is given twice"),
        (["--grid", "scenario.keys=1,2"], "--grid: needs --seeds"),
        (["--scheduler", "local"], "--scheduler: needs --seeds"),
        (["--seeds", "2", "--grid", "attempts=1,2"], "a file's policies take no parameters"),
        (["--seeds", "2", "--grid", "keys"], "--grid 'keys': must be NAME=V1,V2"),
        (["--seeds", "2", "--grid", "scenario.keyz=1"], "Scenario has no field 'keyz'"),
        (["--seeds", "2", "--scheduler", "no such host"], "must be a scheduler address"),
    ],
)
def test_bad_seed_options_exit_2_with_one_line(
    short_file: Path, argv: list[str], message: str
) -> None:
    """A bad option: exit 2, one line naming it, before anything runs."""
    status, out, err = _run(str(short_file), "--no-charts", *argv)
    assert status == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
