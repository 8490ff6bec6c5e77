"""Usage amounts: point values and distributions, and the errors that name the field."""

from __future__ import annotations

import numpy as np
import pytest

from costmodel import InvalidFile, InvalidUsage, lognormal
from costmodel.iac.values import Point, Poisson, Uniform, amount


def draw(value: object, size: int = 200_000) -> np.ndarray:
    return amount(value, field="x").sample(np.random.default_rng(1), size)


def test_point_values_are_infracost_values() -> None:
    assert amount(500, field="request_duration_ms") == Point(500.0)
    assert amount({"fixed": 3}, field="x") == Point(3.0)
    assert draw(7, 4).tolist() == [7.0] * 4


@pytest.mark.parametrize(
    ("spec", "mean"),
    [
        ({"poisson": 10}, 10.0),
        ({"uniform": [10, 30]}, 20.0),
        ({"empirical": [1, 2, 3, 6]}, 3.0),
        ({"lognormal": {"p50": 100, "p99": 400}}, 119.39),
    ],
)
def test_each_form_draws_around_its_exact_mean(spec: dict[str, object], mean: float) -> None:
    assert amount(spec, field="x").mean == pytest.approx(mean, rel=1e-3)
    assert draw(spec).mean() == pytest.approx(mean, rel=0.02)


def test_objects_pass_through() -> None:
    assert amount(Poisson(4.0), field="x") == Poisson(4.0)
    assert amount(Uniform(1, 2), field="x").mean == 1.5
    assert amount(lognormal(p50_ms=10, p99_ms=20), field="x").mean > 10


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, r"items: -1: must be a finite number >= 0"),
        (float("nan"), r"items: nan: must be"),
        (True, r"items: True is not an amount"),
        ("ten", r"items: 'ten' is not an amount: give a number or one of \{fixed"),
        ({"gamma": 2}, r"items: \{'gamma': 2\}: a distribution is one key of"),
        ({"poisson": 1, "fixed": 2}, r"a distribution is one key of"),
        ({"uniform": [3, 1]}, r"items: .*uniform needs low <= high"),
        ({"uniform": 3}, r"items: .*uniform takes \[low, high\]"),
        ({"empirical": []}, r"items: .*empirical takes a non-empty list"),
        ({"empirical": [1, -2]}, r"items: empirical\[1\]=-2: must be a finite number >= 0"),
        ({"lognormal": {"p50": 9, "p99": 3}}, r"items: lognormal.p99=3.0 must be >= p50=9.0"),
        ({"lognormal": {"p50": 9}}, r"items: .*lognormal takes \{p50"),
        (10**400, r"out of range"),
    ],
)
def test_bad_amounts_name_the_field_and_what_is_allowed(value: object, message: str) -> None:
    with pytest.raises(InvalidUsage, match=message):
        amount(value, field="items")


def test_file_errors_carry_the_file_and_field() -> None:
    with pytest.raises(InvalidFile) as caught:
        amount({"poisson": -2}, field="resource_usage.Fn.items", path="usage.yml")
    assert caught.value.path == "usage.yml"
    assert caught.value.field == "resource_usage.Fn.items"
    assert "must be" in caught.value.reason


def test_a_probability_has_an_upper_bound() -> None:
    with pytest.raises(InvalidUsage, match=r"p: 1.5: must be a finite number in \[0, 1\]"):
        amount(1.5, field="p", high=1.0)
