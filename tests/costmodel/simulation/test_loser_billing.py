"""simulate(loser_billing=): how the callee bills executions the caller cancelled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from costmodel import InvalidFile, InvalidUsage
from costmodel.simulation.run import SimulationContext, compare_policies, load_simulation, simulate
from costmodel.simulation.scenario import ConstantRate, Downstream, Scenario
from resilience import Policy, timeout

#: Every call takes 500 ms; the caller's timeout gives up after 200 ms.
SLOW = Scenario(
    arrivals=ConstantRate(rate_per_s=10, duration_s=10),
    downstream=Downstream(latency=500.0, invoke_overhead_ms=0.0),
)


def impatient(sim: SimulationContext) -> Policy:
    return Policy(
        name="impatient",
        timeout=timeout(0.2, clock=sim.clock),
        ledger=sim.ledger,
        clock=sim.clock,
    )


def test_run_to_completion_bills_abandoned_executions_to_their_end() -> None:
    """Default: the caller gave up at 200 ms, the callee ran and billed its 500 ms."""
    result = simulate(impatient, SLOW)
    assert len(result.executions) == 100
    assert np.allclose(result.executions["duration_ms"], 500.0)
    assert np.allclose(result.calls["duration_ms"], 200.0)


def test_until_cancel_stops_billing_at_the_cancellation() -> None:
    """until_cancel: each abandoned execution bills the 200 ms until the caller let go."""
    full = simulate(impatient, SLOW)
    cut = simulate(impatient, SLOW, loser_billing="until_cancel")
    assert np.allclose(cut.executions["duration_ms"], 200.0)
    assert cut.callee_bill.total < full.callee_bill.total
    assert cut.caller_bill.total == full.caller_bill.total
    # the platform no longer counts them as running once cancelled
    assert cut.timeline["executions_running"].max() < full.timeline["executions_running"].max()
    table = compare_policies({"i": impatient}, SLOW, loser_billing="until_cancel")
    assert table.loc["i", "callee_cost"] == pytest.approx(cut.callee_bill.total)


def test_until_cancel_leaves_finished_executions_alone() -> None:
    """An execution that ends before any cancel bills its own duration either way."""
    quick = Scenario(
        arrivals=ConstantRate(rate_per_s=10, duration_s=5),
        downstream=Downstream(latency=50.0, invoke_overhead_ms=0.0),
    )
    a = simulate(impatient, quick)
    b = simulate(impatient, quick, loser_billing="until_cancel")
    assert a.callee_bill.total == b.callee_bill.total


def test_bad_loser_billing_and_the_file_field(tmp_path: Path) -> None:
    """A bad loser_billing fails before running; in a file it names the field."""
    with pytest.raises(InvalidUsage, match="loser_billing='free'"):
        simulate(impatient, SLOW, loser_billing="free")
    text = """
[arrivals]
kind = "constant"
rate_per_s = 5
duration_s = 2

[downstream]
latency = 50

[simulation]
loser_billing = "{value}"

[policies.bare]
"""
    path = tmp_path / "sim.toml"
    path.write_text(text.replace("{value}", "until_cancel"))
    assert load_simulation(path).loser_billing == "until_cancel"
    path.write_text(text.replace("{value}", "later"))
    with pytest.raises(InvalidFile) as info:
        load_simulation(path)
    assert info.value.field == "simulation.loser_billing"
