"""The one number checker (resilience._validate.number) and the rules built on it."""

from __future__ import annotations

import functools
import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from resilience import InvalidUsage
from resilience._validate import Number, number, positive, positive_int, rate

HUGE = 10**400  # an int no float holds


class FieldError(ValueError):
    """An error that carries a field, as a file loader's does."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def test_a_number_in_range_comes_back_as_a_float() -> None:
    """Ints and floats within the bounds are returned as floats."""
    rule = Number(low=0, high=10)
    assert number("x", 3, rule) == 3.0 and isinstance(number("x", 3, rule), float)
    assert number("x", 0, rule) == 0.0
    assert number("x", 10.0, rule) == 10.0


def test_an_integral_rule_returns_the_value_as_it_is() -> None:
    """An integral rule keeps the int; one beyond 64 bits (10**400) is out of range."""
    rule = Number(low=0, integral=True)
    assert number("n", 7, rule) == 7 and isinstance(number("n", 7, rule), int)
    assert number("n", 2**63 - 1, rule) == 2**63 - 1
    with pytest.raises(InvalidUsage) as info:
        number("n", HUGE, rule)
    assert str(info.value) == (
        "n=1000...000 (401 digits): must be an integer >= 0 "
        "(out of range: too large for a 64-bit integer)"
    )


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_bool_is_not_a_number(value: object) -> None:
    """True and False are refused even though bool is an int."""
    rule = Number(low=0, types=(int, float, np.integer))
    with pytest.raises(InvalidUsage, match=rf"flag={value!r}: must be a finite number >= 0"):
        number("flag", value, rule)
    with pytest.raises(InvalidUsage, match="must be an integer >= 0"):
        number("flag", value, Number(low=0, integral=True))


def test_a_huge_int_is_out_of_range_not_an_overflow_error() -> None:
    """10**400 has no float: the error names it out of range (no OverflowError)."""
    with pytest.raises(InvalidUsage) as info:
        number("timeout_s", HUGE, Number(low=0, low_open=True))
    message = str(info.value)
    assert message.startswith("timeout_s=1000...000 (401 digits): must be a finite number > 0")
    assert message.endswith("(out of range: too large for a float)")
    with pytest.raises(InvalidUsage, match="too large for a float"):
        positive("timeout_s", HUGE)
    with pytest.raises(InvalidUsage, match="too large for a float"):
        number("x", -HUGE, Number(finite=False))


def test_a_huge_int_above_the_upper_bound_is_just_out_of_the_bounds() -> None:
    """Bounds are compared exactly: 10**400 > 1 without becoming a float."""
    with pytest.raises(InvalidUsage) as info:
        rate("ratio", HUGE)
    assert str(info.value) == "ratio=1000...000 (401 digits): must be a rate in (0, 1]"


def test_an_int_too_long_to_print_is_shown_by_its_size() -> None:
    """An int over Python's 4300-digit str limit is named by its bit length."""
    with pytest.raises(InvalidUsage, match=r"x=<int of \d+ bits>: must be a finite number"):
        number("x", 10**5000, Number())


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinities_are_refused_by_default(value: float) -> None:
    """A finite rule refuses NaN and both infinities."""
    with pytest.raises(InvalidUsage, match=r"x=(nan|inf|-inf): must be a finite number"):
        number("x", value, Number())


def test_a_rule_may_allow_infinity_but_never_nan() -> None:
    """finite=False lets inf through; NaN is refused by every rule."""
    rule = Number(low=0, finite=False)
    assert number("x", math.inf, rule) == math.inf
    with pytest.raises(InvalidUsage, match="x=nan: must be a number >= 0"):
        number("x", math.nan, rule)
    with pytest.raises(InvalidUsage, match="x=nan: must be a number"):
        number("x", math.nan, Number(finite=False))


@pytest.mark.parametrize(
    ("rule", "allowed"),
    [
        (Number(), "a finite number"),
        (Number(low=0), "a finite number >= 0"),
        (Number(low=0, low_open=True), "a finite number > 0"),
        (Number(high=1, high_open=True), "a finite number < 1"),
        (Number(high=1), "a finite number <= 1"),
        (Number(low=0, high=1), "a finite number in [0, 1]"),
        (Number(low=0, high=1, low_open=True, high_open=True), "a finite number in (0, 1)"),
        (Number(low=1, integral=True), "an integer >= 1"),
        (Number(low=0, finite=False), "a number >= 0"),
        (Number(low=0, allowed="a count >= 0"), "a count >= 0"),
    ],
)
def test_the_rule_says_what_it_allows(rule: Number, allowed: str) -> None:
    """describe() words the rule; ``allowed`` overrides it."""
    assert rule.describe() == allowed


@pytest.mark.parametrize(
    ("value", "low_open", "ok"),
    [(0, False, True), (0, True, False), (-0.0, False, True), (1e-300, True, True)],
)
def test_the_lower_bound_is_open_or_closed(value: float, low_open: bool, ok: bool) -> None:
    """low_open refuses the bound itself."""
    rule = Number(low=0, low_open=low_open)
    if ok:
        assert number("x", value, rule) == value
    else:
        with pytest.raises(InvalidUsage):
            number("x", value, rule)


def test_integral_refuses_floats_even_whole_ones() -> None:
    """An integral rule wants an integer type, not 3.0."""
    with pytest.raises(InvalidUsage, match=r"n=3.0: must be an integer >= 0"):
        number("n", 3.0, Number(low=0, integral=True, types=(int, float)))


def test_types_choose_what_counts_as_a_number() -> None:
    """numpy integers or Fractions pass when the rule's types include them."""
    assert number("n", np.int64(4), Number(low=0, integral=True, types=(int, np.integer))) == 4
    assert number("x", Fraction(1, 2), Number(low=0, types=(Fraction,))) == 0.5
    with pytest.raises(InvalidUsage, match=r"n=np.int64\(4\): must be an integer >= 0"):
        number("n", np.int64(4), Number(low=0, integral=True, types=(int,)))


def test_messages_and_errors_come_from_the_rule_and_the_caller() -> None:
    """The templates get name, value and allowed; ``error`` builds the exception."""
    rule = Number(
        low=0,
        message="{value} is not {allowed}",
        type_message="must be a number, got {value}",
        allowed="a count >= 0",
    )
    error = functools.partial(FieldError, "invocations")
    with pytest.raises(FieldError) as info:
        number("invocations", -1, rule, error=error)
    assert str(info.value) == "-1 is not a count >= 0" and info.value.field == "invocations"
    with pytest.raises(FieldError, match=r"^must be a number, got 'many'$"):
        number("invocations", "many", rule, error=error)
    without_type_message = Number(low=0, message=rule.message, allowed="a count >= 0")
    with pytest.raises(InvalidUsage, match=r"^None is not a count >= 0$"):
        number("invocations", None, without_type_message)


def test_positive_int_and_rate_keep_their_messages() -> None:
    """The common rules read as before."""
    assert positive_int("n", 0, allow_zero=True) == 0
    with pytest.raises(InvalidUsage, match=r"^n=0: must be an integer >= 1$"):
        positive_int("n", 0)
    with pytest.raises(InvalidUsage, match=r"^n=1.0: must be an integer >= 0$"):
        positive_int("n", 1.0, allow_zero=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidUsage, match="too large for a 64-bit integer"):
        positive_int("n", HUGE)
    assert rate("r", 1) == 1.0
    with pytest.raises(InvalidUsage, match=r"^r=0: must be a rate in \(0, 1\]$"):
        rate("r", 0)
    assert positive("s", 0, allow_zero=True) == 0.0
    with pytest.raises(InvalidUsage, match=r"^s=-1: must be a finite number >= 0$"):
        positive("s", -1, allow_zero=True)


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers())
def test_a_number_is_returned_exactly_when_it_is_finite_and_in_range(value: float) -> None:
    """For any int or float: returned (as a float) iff finite, within [-5, 5]."""
    rule = Number(low=-5, high=5)
    if -5 <= value <= 5:
        assert number("x", value, rule) == float(value)
    else:
        with pytest.raises(InvalidUsage, match=r"^x=.*: must be a finite number in \[-5, 5\]$"):
            number("x", value, rule)


@given(st.integers(min_value=2**1024, max_value=10**600) | st.integers(max_value=-(2**1024)))
def test_every_int_beyond_float_is_out_of_range_for_an_unbounded_rule(value: int) -> None:
    """Any int no float holds fails as out of range (never OverflowError)."""
    with pytest.raises(InvalidUsage, match="out of range: too large for a float"):
        number("x", value, Number())


def test_convert_takes_what_float_takes_and_names_the_rest() -> None:
    """convert=True accepts numeric strings and Decimal; anything else is refused by name."""
    from decimal import Decimal

    rule = Number(low=0, convert=True)
    assert number("n", "1e3", rule) == 1000.0
    assert number("n", Decimal("2.5"), rule) == 2.5
    for bad, shown in (("-1", "'-1'"), ("nan", "'nan'"), (Decimal("NaN"), "Decimal('NaN')")):
        with pytest.raises(InvalidUsage, match=rf"^n={re.escape(shown)}: must be a finite"):
            number("n", bad, rule)
    for bad in (None, "many", [1], True):
        with pytest.raises(InvalidUsage, match=r"must be a finite number >= 0$"):
            number("n", bad, rule)
