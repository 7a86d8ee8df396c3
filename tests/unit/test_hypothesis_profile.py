"""The suite's hypothesis profile (tests/conftest.py): the same examples on every run, no example
database carried between runs, no per-example deadline."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

drawn: list[list[int]] = []


@given(st.lists(st.integers()))
def _record(values: list[int]) -> None:
    drawn.append(values)


@pytest.mark.skipif("TMR_HYPOTHESIS_PROFILE" in os.environ, reason="another profile was chosen")
def test_the_suite_profile_is_reproducible() -> None:
    assert settings.default.derandomize
    assert settings.default.database is None
    assert settings.default.deadline is None


@pytest.mark.skipif("TMR_HYPOTHESIS_PROFILE" in os.environ, reason="another profile was chosen")
def test_two_runs_draw_the_same_examples() -> None:
    drawn.clear()
    _record()
    first = list(drawn)
    drawn.clear()
    _record()
    assert drawn == first
    assert len({repr(values) for values in first}) > 1  # examples were drawn, not one repeated
