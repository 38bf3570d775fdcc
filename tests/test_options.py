"""Option values are checked by pydantic types (issue 11): finite, positive, in range."""

from __future__ import annotations

import argparse
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bbfeedback.app import options


def _ok(parse, text: str):
    try:
        return True, parse(text)
    except argparse.ArgumentTypeError as exc:
        assert "\n" not in str(exc) and repr(text) in str(exc)
        return False, None


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_number_options_accept_exactly_the_values_they_promise(value: float):
    text = repr(value)
    finite = math.isfinite(value)
    assert _ok(options.finite, text) == (finite, value if finite else None)
    assert _ok(options.positive, text)[0] == (finite and value > 0)
    assert _ok(options.fraction, text)[0] == (finite and 0 <= value <= 1)
    assert _ok(options.within(0.01, 2), text)[0] == (finite and 0.01 <= value <= 2)


@given(st.integers(-2**40, 2**40))
def test_seed_is_a_32_bit_whole_number(value: int):
    assert _ok(options.seed, str(value))[0] == (0 <= value < 2**32)


@pytest.mark.parametrize(("parse", "text", "says"), [
    (options.positive, "abc", "not a number"),
    (options.positive, "nan", "must be a positive number"),
    (options.finite, "-inf", "must be a finite number"),
    (options.seed, "3.5", "must be a whole number"),
    (options.within(1, 10), "1e12", "must be a finite number from 1 to 10"),
])
def test_a_wrong_value_is_one_line_naming_the_rule(parse, text: str, says: str):
    with pytest.raises(argparse.ArgumentTypeError, match=says):
        parse(text)


def test_a_very_long_value_is_cut_in_the_message():
    """Attack finding: --seed with 5,000 nines printed a 5,101-byte line."""
    with pytest.raises(argparse.ArgumentTypeError) as err:
        options.seed("9" * 5000)
    assert len(str(err.value)) < 100 and "…" in str(err.value)
