from unittest import mock

import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from tmr.search import prefilter
from tmr.search.prefilter import required_literals


def test_literals_of_common_patterns() -> None:
    assert required_literals(".*?(audience|bert).*") == {"audience", "bert"}
    assert required_literals("^bench-model-4242$") == {"bench-model-4242"}
    assert required_literals(r"hello\.world") == {"hello.world"}
    assert required_literals("(foo)?bar1") == {"bar1"}
    assert required_literals("(?:abcd|efgh)+zz") == {"abcd", "efgh"}


def test_no_prefilter_when_nothing_selective_or_when_unsure() -> None:
    for pattern in [
        "(a+)+$",
        "[A-Z][a-z]+",
        "foo|ba",
        "ab(c|de)fg",
        "(?i)bert",
        "x(?i:bert)",
        "[[:alpha:]]foox",
        r"\pLbert",
        "(abc)?",
    ]:
        assert required_literals(pattern) is None, pattern


# A small regex grammar over a small alphabet, so random texts often match.
ATOMS = st.sampled_from(["a", "b", "c", "ab", "abc", "bca", ".", "[ab]", r"\d", "x"])


def _pattern(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, children).map("".join),
        st.tuples(children, children).map(lambda p: f"(?:{p[0]}|{p[1]})"),
        st.tuples(children, st.sampled_from(["*", "+", "?", "{2}", "{1,3}", "*?", "+?"])).map(
            lambda p: f"(?:{p[0]}){p[1]}"
        ),
        children.map(lambda p: f"({p})"),
    )


PATTERNS = st.recursive(ATOMS, _pattern, max_leaves=8)


TEXTS = st.lists(st.sampled_from(["a", "b", "c", "ab", "abc", "bca", "x", "1", " "]), max_size=12).map(
    "".join
)


@settings(max_examples=1500, deadline=None)
@given(PATTERNS, TEXTS)
def test_prefilter_never_drops_a_match(pattern: str, text: str) -> None:
    # Every literal counts here (not only selective ones), so the logic is exercised hard.
    with mock.patch.object(prefilter, "MIN_LITERAL", 1):
        literals = required_literals(pattern)
    if literals is not None and re2.compile(pattern).search(text) is not None:
        assert any(lit in text for lit in literals), (pattern, text, literals)
