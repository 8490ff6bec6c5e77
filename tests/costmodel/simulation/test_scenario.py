"""Scenarios: arrivals, the downstream model, failure windows and the TOML loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.paths import EXAMPLES

from costmodel import InvalidFile, InvalidUsage
from costmodel.architectures.distributions import lognormal
from costmodel.simulation.scenario import (
    ConstantRate,
    Downstream,
    PoissonArrivals,
    Scenario,
    TraceArrivals,
    Window,
    load_scenario,
)

RNG = np.random.default_rng


def scenario(*windows: Window, **kwargs: object) -> Scenario:
    return Scenario(
        arrivals=ConstantRate(rate_per_s=10, duration_s=100),
        downstream=Downstream(latency=50.0, error_rate=0.01),
        windows=windows,
        **kwargs,  # type: ignore[arg-type]
    )


# -- arrivals ----------------------------------------------------------------------------


def test_constant_rate_is_evenly_spaced() -> None:
    """A constant rate gives rate x duration arrivals, 1/rate apart, from 0."""
    times = ConstantRate(rate_per_s=50, duration_s=3600).times_s(RNG(0))
    assert len(times) == 180_000
    assert times[0] == 0.0
    np.testing.assert_allclose(np.diff(times), 0.02)


def test_poisson_rate_and_gaps() -> None:
    """A Poisson process has the asked rate and exponential gaps (mean 1/rate, cv 1)."""
    times = PoissonArrivals(rate_per_s=200, duration_s=600).times_s(RNG(1))
    assert abs(len(times) - 120_000) < 4 * np.sqrt(120_000)
    gaps = np.diff(times)
    assert gaps.mean() == pytest.approx(1 / 200, rel=0.02)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.03)


@settings(max_examples=30, deadline=None)
@given(
    rate=st.floats(min_value=0.1, max_value=500),
    duration=st.floats(min_value=1, max_value=200),
    seed=st.integers(0, 2**32 - 1),
)
def test_poisson_arrivals_sorted_inside_the_span_and_seeded(
    rate: float, duration: float, seed: int
) -> None:
    """Property: arrivals are sorted, within [0, duration), and the same for one seed."""
    arrivals = PoissonArrivals(rate_per_s=rate, duration_s=duration)
    times = arrivals.times_s(RNG(seed))
    assert np.all(np.diff(times) >= 0)
    assert np.all((times >= 0) & (times < duration))
    np.testing.assert_array_equal(times, arrivals.times_s(RNG(seed)))


@pytest.mark.parametrize("cls", [ConstantRate, PoissonArrivals])
@pytest.mark.parametrize(("field", "value"), [("rate_per_s", -5), ("duration_s", 0)])
def test_rates_and_durations_must_be_positive(cls: type, field: str, value: float) -> None:
    """A negative rate or a zero duration fails naming the field."""
    kwargs = {"rate_per_s": 10.0, "duration_s": 10.0, field: value}
    with pytest.raises(InvalidUsage, match=f"{field}={value}"):
        cls(**kwargs)


def test_trace_arrivals_from_a_log_frame() -> None:
    """Timestamps from a log frame become offsets from the first invocation."""
    stamps = pd.to_datetime(["2025-01-01 00:00:02", "2025-01-01 00:00:00", "2025-01-01 00:01:00"])
    trace = TraceArrivals.from_logs(pd.DataFrame({"timestamp": stamps}))
    np.testing.assert_array_equal(trace.times_s(RNG(0)), [0.0, 2.0, 60.0])
    assert trace.duration_s == 60.0
    numeric = TraceArrivals.from_logs(pd.DataFrame({"start_s": [5.0, 7.5]}))
    np.testing.assert_array_equal(numeric.times_s(RNG(0)), [0.0, 2.5])


def test_trace_arrivals_need_a_time_column() -> None:
    """A frame without a time column fails listing what it has."""
    with pytest.raises(InvalidUsage, match="duration_ms"):
        TraceArrivals.from_logs(pd.DataFrame({"duration_ms": [1.0]}))
    with pytest.raises(InvalidUsage, match="at least one"):
        TraceArrivals(offsets_s=())


def test_trace_arrivals_from_a_log_without_timestamps_says_why(tmp_path: Path) -> None:
    """REPORT lines without a timestamp: the error names the empty column and the way out."""
    from costmodel import read_logs

    example = EXAMPLES / "logs" / "lambda_report.log"
    with pytest.raises(InvalidUsage, match=r"column='timestamp': empty in all \d+ rows") as caught:
        TraceArrivals.from_logs(read_logs(example))
    assert "timestamp before each line" in str(caught.value)
    report = (
        "{t}\tREPORT RequestId: {r}\tDuration: 40.0 ms\tBilled Duration: 40 ms\t"
        "Memory Size: 512 MB\tMax Memory Used: 80 MB\t\n"
    )
    stamped = tmp_path / "stamped.log"
    stamped.write_text(
        report.format(t="2024-05-01T10:00:00.000Z", r="a1")
        + report.format(t="2024-05-01T10:00:01.500Z", r="b2")
    )
    assert TraceArrivals.from_logs(read_logs(stamped)).offsets_s == (0.0, 1.5)


# -- windows -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "outage", "start_s": -1, "end_s": 10}, "start_s=-1"),
        ({"kind": "outage", "start_s": 10, "end_s": 10}, "end_s=10: must be after"),
        ({"kind": "eclipse", "start_s": 0, "end_s": 10}, "kind='eclipse'"),
        ({"kind": "outage", "start_s": 0, "end_s": 10, "error_rate": 1.5}, "error_rate=1.5"),
        ({"kind": "slowdown", "start_s": 0, "end_s": 10, "factor": 0}, "factor=0"),
        ({"kind": "outage", "start_s": 0, "end_s": 10, "factor": 3}, "slowdown windows only"),
        ({"kind": "flapping", "start_s": 0, "end_s": 10, "up_s": 5}, "needs up_s and down_s"),
        ({"kind": "hang", "start_s": 0, "end_s": 10, "up_s": 5}, "flapping windows"),
        (
            {"kind": "flapping", "start_s": 0, "end_s": 10, "up_s": 1, "down_s": 1, "down": "x"},
            "down='x'",
        ),
        # options a window of that kind would silently ignore
        ({"kind": "hang", "start_s": 0, "end_s": 10, "error_rate": 0.3}, "error_rate=0.3.*'hang'"),
        (
            {"kind": "slowdown", "start_s": 0, "end_s": 10, "factor": 2, "error_rate": 0.3},
            "error_rate=0.3.*'slowdown'",
        ),
        (
            {
                "kind": "flapping",
                "start_s": 0,
                "end_s": 10,
                "up_s": 1,
                "down_s": 1,
                "down": "hang",
                "error_rate": 0.2,
            },
            "error_rate=0.2.*down='hang'",
        ),
        ({"kind": "outage", "start_s": 0, "end_s": 10, "down": "hang"}, "down='hang'.*flapping"),
        (
            {"kind": "flapping", "start_s": 0, "end_s": 10, "up_s": 100, "down_s": 100},
            r"up_s=100: up_s \+ down_s = 200 s is longer than the window \(10 s\)",
        ),
    ],
)
def test_bad_windows_fail_naming_the_field(kwargs: dict[str, object], match: str) -> None:
    """Each invalid window fails at construction with the field and the reason."""
    with pytest.raises(InvalidUsage, match=match):
        Window(**kwargs)  # type: ignore[arg-type]


def test_error_rate_applies_to_outages_and_flapping_outages() -> None:
    """error_rate is accepted where it is used: outage, and flapping with down='outage'."""
    assert Window(kind="outage", start_s=0, end_s=10, error_rate=0.3).error_rate == 0.3
    flapping = Window(kind="flapping", start_s=0, end_s=10, up_s=2, down_s=2, error_rate=0.3)
    assert flapping.error_rate == 0.3
    assert Window(kind="flapping", start_s=0, end_s=10, up_s=5, down_s=5).failing_at(1) == "outage"


def test_windows_must_meet_the_traffic() -> None:
    """A window starting when the traffic has ended, or not given as a tuple, is refused."""
    arrivals = ConstantRate(rate_per_s=1, duration_s=10)
    late = Window(kind="outage", start_s=100, end_s=200)
    with pytest.raises(InvalidUsage, match=r"windows\[0\]\.start_s=100: .*traffic has ended"):
        Scenario(arrivals=arrivals, downstream=Downstream(latency=1.0), windows=(late,))
    with pytest.raises(InvalidUsage, match="must be a tuple of Window"):
        Scenario(arrivals=arrivals, downstream=Downstream(latency=1.0), windows=late)  # type: ignore[arg-type]
    early = Window(kind="outage", start_s=5, end_s=200)  # may outlast the traffic
    assert Scenario(arrivals=arrivals, downstream=Downstream(latency=1.0), windows=(early,))


def test_a_constant_rate_must_give_at_least_one_call() -> None:
    """0.01 calls/s for 10 s rounds to no call at all: refused, saying why."""
    with pytest.raises(InvalidUsage, match=r"rate_per_s=0.01: .* 0.1 calls, which rounds to none"):
        ConstantRate(rate_per_s=0.01, duration_s=10)
    assert len(ConstantRate(rate_per_s=0.1, duration_s=10).times_s(RNG(0))) == 1


def test_overlapping_failure_windows_are_contradictory() -> None:
    """Two failure windows at the same instant are refused, naming both."""
    with pytest.raises(InvalidUsage, match=r"windows\[1\] \(hang 50-70 s\) overlaps windows\[0\]"):
        scenario(
            Window(kind="outage", start_s=10, end_s=60),
            Window(kind="hang", start_s=50, end_s=70),
        )
    with pytest.raises(InvalidUsage, match="at most one slowdown"):
        scenario(
            Window(kind="slowdown", start_s=0, end_s=60, factor=2),
            Window(kind="slowdown", start_s=30, end_s=90, factor=3),
        )


def test_compatible_windows_are_accepted() -> None:
    """A slowdown may overlap an outage, and back-to-back windows do not overlap."""
    s = scenario(
        Window(kind="slowdown", start_s=0, end_s=100, factor=2),
        Window(kind="outage", start_s=10, end_s=20),
        Window(kind="hang", start_s=20, end_s=30),
    )
    assert s.condition_at(15) == ("outage", 1.0, 2.0)
    assert s.condition_at(20) == ("hang", 0.01, 2.0)
    assert s.condition_at(30) == (None, 0.01, 2.0)


def test_condition_follows_the_windows() -> None:
    """Outside windows the background applies; inside, the window's failure and factor."""
    s = scenario(
        Window(kind="outage", start_s=10, end_s=20, error_rate=0.5),
        Window(kind="slowdown", start_s=40, end_s=50, factor=4),
        Window(kind="flapping", start_s=60, end_s=90, up_s=7, down_s=3, down="hang"),
    )
    assert s.condition_at(5) == (None, 0.01, 1.0)
    assert s.condition_at(10) == ("outage", 0.5, 1.0)
    assert s.condition_at(45) == (None, 0.01, 4.0)
    # flapping: down 60-63, up 63-70, down 70-73, ...
    assert [s.condition_at(t)[0] for t in (60, 62.9, 63, 69.9, 70, 89)] == [
        "hang",
        "hang",
        None,
        None,
        "hang",
        None,
    ]
    assert s.condition_at(90)[0] is None


# -- downstream, keys, scenario ----------------------------------------------------------


def test_downstream_validates_its_fields() -> None:
    """Bad downstream values fail naming the field."""
    with pytest.raises(InvalidUsage, match=r"error_rate=-0\.1"):
        Downstream(latency=10.0, error_rate=-0.1)
    with pytest.raises(InvalidUsage, match="latency='slow'"):
        Downstream(latency="slow")
    with pytest.raises(InvalidUsage, match="timeout_s=0"):
        Downstream(latency=10.0, timeout_s=0)


def test_downstream_samples_a_costmodel_distribution() -> None:
    """A lognormal latency is drawn from the costmodel distribution, seeded."""
    d = Downstream(latency=lognormal(p50_ms=80, p99_ms=400))
    draws = d.sample_latency_ms(100_000, RNG(0))
    assert np.median(draws) == pytest.approx(80, rel=0.02)
    np.testing.assert_array_equal(draws[:10], d.sample_latency_ms(10, RNG(0)))


def test_scenario_refuses_wrong_parts() -> None:
    """Arrivals, downstream and keys are checked by type and range."""
    with pytest.raises(InvalidUsage, match="arrivals="):
        Scenario(arrivals=[0, 1], downstream=Downstream(latency=1.0))  # type: ignore[arg-type]
    with pytest.raises(InvalidUsage, match="keys=0"):
        scenario(keys=0)
    with pytest.raises(InvalidUsage, match="key_skew=-1"):
        scenario(keys=10, key_skew=-1)


def test_keys_uniform_and_skewed() -> None:
    """Uniform keys spread evenly; Zipf keys favour the first key."""
    uniform = scenario(keys=10).keys_for(100_000, RNG(0))
    assert set(np.unique(uniform)) == set(range(10))
    assert np.bincount(uniform).min() > 9_000
    skewed = scenario(keys=1000, key_skew=1.2).keys_for(100_000, RNG(0))
    counts = np.bincount(skewed, minlength=1000)
    assert counts[0] == counts.max()
    assert counts[0] > 10 * counts[100]
    assert set(scenario().keys_for(5, RNG(0)).tolist()) == {0}


# -- files -------------------------------------------------------------------------------

GOOD = """
[scenario]
name = "outage"
keys = 100

[arrivals]
kind = "poisson"
rate_per_s = 20
duration_s = 300

[downstream]
latency = { kind = "lognormal", p50_ms = 80, p99_ms = 400 }
error_rate = 0.01
timeout_s = 30

[[windows]]
kind = "hang"
start_s = 60
end_s = 120

[[windows]]
kind = "slowdown"
start_s = 0
end_s = 300
factor = 1.5
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


def test_load_scenario(tmp_path: Path) -> None:
    """A valid file builds the scenario it describes."""
    s = load_scenario(write(tmp_path, GOOD))
    assert s.name == "outage"
    assert s.keys == 100
    assert s.arrivals == PoissonArrivals(rate_per_s=20, duration_s=300)
    assert s.downstream.latency == lognormal(p50_ms=80, p99_ms=400)
    assert s.downstream.timeout_s == 30
    assert [w.kind for w in s.windows] == ["hang", "slowdown"]
    assert s.condition_at(90) == ("hang", 0.01, 1.5)


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        ("rate_per_s = 20", "rate_per_s = -20", "arrivals.rate_per_s", "finite number > 0"),
        ("rate_per_s = 20", "rate_per_sec = 20", "arrivals.rate_per_sec", "unknown field"),
        ('kind = "poisson"', 'kind = "bursty"', "arrivals.kind", "must be one of"),
        ("keys = 100", "keys = 0", "scenario.keys", "integer >= 1"),
        ("error_rate = 0.01", "error_rate = 2", "downstream.error_rate", "probability"),
        ("p99_ms = 400", "p99_ms = 40", "downstream.latency.p99_ms", ">= p50_ms"),
        ("start_s = 60", "start_s = 200", "windows[0].end_s", "after start_s"),
        ("end_s = 120", "end_s = 120\nerror_rate = 0.3", "windows[0].error_rate", "ignored"),
        (
            "start_s = 60\nend_s = 120",
            "start_s = 400\nend_s = 500",
            "windows[0].start_s",
            "traffic has ended",
        ),
        ("factor = 1.5", "factor = 1.5\ncolour = 1", "windows[1].colour", "unknown field"),
        ('name = "outage"', '[weather]\nname = "x"', "weather", "unknown table"),
    ],
)
def test_bad_files_name_the_field(
    tmp_path: Path, old: str, new: str, field: str, reason: str
) -> None:
    """A wrong file fails with InvalidFile carrying the path, the field and the reason."""
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    path = write(tmp_path, text)
    with pytest.raises(InvalidFile) as caught:
        load_scenario(path)
    assert caught.value.path == str(path)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_contradictory_windows_in_a_file(tmp_path: Path) -> None:
    """Overlapping failure windows in a file fail on the later window."""
    text = GOOD + '\n[[windows]]\nkind = "outage"\nstart_s = 100\nend_s = 200\n'
    with pytest.raises(InvalidFile) as caught:
        load_scenario(write(tmp_path, text))
    assert caught.value.field == "windows[2]"
    assert "overlaps windows[0]" in caught.value.reason


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    """No file, bad TOML, or a missing section each say so."""
    with pytest.raises(InvalidFile, match="no such file"):
        load_scenario(tmp_path / "absent.toml")
    with pytest.raises(InvalidFile, match="not valid TOML"):
        load_scenario(write(tmp_path, "[arrivals\n"))
    with pytest.raises(InvalidFile, match="downstream: missing"):
        load_scenario(write(tmp_path, '[arrivals]\nkind = "constant"\n'))
