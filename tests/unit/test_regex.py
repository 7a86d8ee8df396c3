import pytest

from tmr.errors import InvalidInput
from tmr.search.regex import compile_pattern


def test_ordinary_patterns_search() -> None:
    assert compile_pattern(".*?(audience|bert).*").search("bert-base-uncased") is not None
    assert compile_pattern("^whisper$").search("openai-whisper") is None


def test_backtracking_hazards_are_refused_naming_the_construct() -> None:
    with pytest.raises(InvalidInput) as refused:
        compile_pattern("(a+)+$")
    assert refused.value.message.startswith("regex refused: nested quantifier (a+)+ at position 0 ")
    assert "exponential" in refused.value.message


def test_with_the_refusal_off_re2_runs_a_catastrophic_pattern() -> None:
    matcher = compile_pattern("(a+)+$", refuse_backtracking=False)
    # A backtracking engine would not finish this in our lifetime; RE2 is linear.
    assert matcher.search("a" * 100_000 + "b") is None
    assert matcher.search("xaaa") is not None


def test_with_the_refusal_off_re2_still_refuses_what_it_cannot_run() -> None:
    with pytest.raises(InvalidInput, match="linear-time engine"):
        compile_pattern("(a{1,99999}){1,99999}$", refuse_backtracking=False)
    with pytest.raises(InvalidInput, match="counted repetition"):
        compile_pattern("(a{1,99999}){1,99999}$")


@pytest.mark.parametrize(
    "pattern", ["(a{1,99999}){1,99999}$", "(?=x)y", r"(a)\1", "(unclosed", "", "x" * 5000]
)
def test_refused_patterns_are_invalid_input(pattern: str) -> None:
    with pytest.raises(InvalidInput):
        compile_pattern(pattern)
