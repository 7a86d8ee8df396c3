import time

import pytest

from tmr.errors import InvalidInput
from tmr.search.regex import compile_pattern


def test_ordinary_patterns_search() -> None:
    assert compile_pattern(".*?(audience|bert).*").search("bert-base-uncased") is not None
    assert compile_pattern("^whisper$").search("openai-whisper") is None


def test_catastrophic_backtracking_pattern_runs_in_linear_time() -> None:
    matcher = compile_pattern("(a+)+$")
    started = time.perf_counter()
    assert matcher.search("a" * 100_000 + "b") is None
    # Generous bound: a backtracking engine would not finish this in our lifetime.
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "pattern", ["(a{1,99999}){1,99999}$", "(?=x)y", r"(a)\1", "(unclosed", "", "x" * 5000]
)
def test_refused_patterns_are_invalid_input(pattern: str) -> None:
    with pytest.raises(InvalidInput):
        compile_pattern(pattern)
