"""The backtracking-hazard analyser on patterns from the ReDoS literature and on ordinary searches."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tmr.search.redos import MAX_AMBIGUOUS_COUNT, MAX_COUNT, MAX_NESTING, Hazard, analyse
from tmr.search.regex import compile_pattern

NESTED = "nested quantifier"
ALTERNATIVES = "overlapping alternatives"
COUNTED = "counted repetition"
NESTED_COUNTS = "nested counted repetition"
ADJACENT = "adjacent quantifiers"

EMAIL = (
    r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}"
    r"(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$"
)

# Pattern, the construct named, and its text as the refusal quotes it.
VULNERABLE = [
    # OWASP's "evil regex" list
    (r"(a+)+", NESTED, "(a+)+"),
    (r"([a-zA-Z]+)*", NESTED, "([a-zA-Z]+)*"),
    (r"(a|aa)+", ALTERNATIVES, "(a|aa)+"),
    (r"(a|a?)+", ALTERNATIVES, "(a|a?)+"),
    (r"(.*a){11}", NESTED, "(.*a){11}"),
    (r"(.*a){12}", NESTED, "(.*a){12}"),
    (r"(.*a){20}", NESTED, "(.*a){20}"),
    (EMAIL, NESTED, r"(([\-.]|[_]+)?([a-zA-Z0-9]+))*"),
    (r"^(([a-z])+.)+[A-Z]([a-z])+$", NESTED, "(([a-z])+.)+"),
    # other classics
    (r"(\w+\s?)+$", NESTED, r"(\w+\s?)+"),
    (r"^(\d+)+$", NESTED, r"(\d+)+"),
    (r"(x+x+)+y", NESTED, "(x+x+)+"),
    (r"(a*)*", NESTED, "(a*)*"),
    (r"(a+)*b", NESTED, "(a+)*"),
    (r"((ab)*)+", NESTED, "((ab)*)+"),
    (r"(a[ab]+)+c", NESTED, "(a[ab]+)+"),
    (r"(b+[bc])+d", NESTED, "(b+[bc])+"),
    (r"(a{1,2})+$", NESTED, "(a{1,2})+"),
    (r"(?:\s?\w+)+!", NESTED, r"(?:\s?\w+)+"),
    (r"(a|a)*", ALTERNATIVES, "(a|a)*"),
    (r"(\d|\w)+", ALTERNATIVES, r"(\d|\w)+"),
    (r"(.|\s)*", ALTERNATIVES, r"(.|\s)*"),
    (r"(a|ab|b)+$", ALTERNATIVES, "(a|ab|b)+"),
    (r"(?i)(a|A)+$", ALTERNATIVES, "(a|A)+"),
    (r"([[:alnum:]]|[[:digit:]])+", ALTERNATIVES, "([[:alnum:]]|[[:digit:]])+"),
    # the course contract's
    (r"(a+)+$", NESTED, "(a+)+"),
    (r"(a{1,99999}){1,99999}$", COUNTED, "(a{1,99999}){1,99999}"),
    # counts
    (r"a{100000}", COUNTED, "a{100000}"),
    (r"x{1001,}", COUNTED, "x{1001,}"),
    (r"(a{1,100}){1,100}", NESTED_COUNTS, "(a{1,100}){1,100}"),
    (r"x((ab){10}c){101}", NESTED_COUNTS, "((ab){10}c){101}"),
    # polynomial: each pair multiplies the time by the input's length
    (r"\d+\d+$", ADJACENT, r"\d+\d+"),
    (r".*.*=.*", ADJACENT, ".*.*"),
    (r"^\w+\s*\w+!", ADJACENT, r"\w+\s*\w+"),
    (r"(.*)(x?)(.*)$", ADJACENT, "(.*)(x?)(.*)"),
    (r"((.*a){4}){3}", NESTED, "(.*a){4}"),
    # shapes the oracle test below turned up
    (r"(a?b?)+$", NESTED, "(a?b?)+"),
    (r"((a?)+b)+$", NESTED, "((a?)+b)+"),
    (r"(a|ba*)+$", ALTERNATIVES, "(a|ba*)+"),
    (r"(a+(b|.b))*$", ALTERNATIVES, "(a+(b|.b))*"),
    (r"(ab?(b+)?)*$", NESTED, "(ab?(b+)?)*"),
    (r"((b|a*)b)*$", ALTERNATIVES, "((b|a*)b)*"),
    # RE2 quantifies the item before a flag group
    (r"(a+)(?i)+$", NESTED, "(a+)(?i)+"),
]


@pytest.mark.parametrize(("pattern", "construct", "fragment"), VULNERABLE)
def test_vulnerable_patterns_are_refused_naming_the_construct(
    pattern: str, construct: str, fragment: str
) -> None:
    hazard = analyse(pattern)
    assert hazard is not None
    assert (hazard.construct, hazard.fragment) == (construct, fragment)
    assert pattern[hazard.position :].startswith(fragment)
    assert str(hazard) == f"{construct} {fragment} at position {hazard.position}"


ORDINARY = [
    r".*bert.*",
    r"^google/",
    r"(bert|gpt)-\d+",
    r".*?(audience|bert).*",
    r"^[a-z0-9-]+$",
    r"\d{1,3}\.\d{1,3}",
    r"(ab)+c",
    r"a+b+",
    r"^(foo|bar)+$",
    r"[A-Z][a-z]+",
    r"(?i)resnet",
    r"bert-base-(un)?cased",
    r"^acme/.*-v\d+$",
    r"^bookcorpus$",
    r"(?i)^(distil)?bert-(base|large)-(un)?cased$",
    r"(\d{1,3}\.){3}\d{1,3}",
    r"^([a-z0-9-]+\.)+[a-z]{2,}$",
    r"(\.[a-z]+)+$",
    r"^(\w+\s+)+end$",
    r"^v?\d+(\.\d+)*(-[a-z0-9]+)?$",
    r"(https?://)?huggingface\.co/[^/]+/[^/]+",
    r"[[:alpha:]]+[[:digit:]]*",
    r"\pL+\d+",
    r"(?P<org>[^/]+)/(?P<model>.+)",
    r"\bwhisper\b",
    r"^\s*#\s*\w+",
    r"(?s)license:.*mit",
    r"\Qa+b\E",
    r"[^\n]{0,200}bert",
    # at the thresholds
    r"(.*a){10}",
    r"(a+){10}",
    r"a{1000}",
    r"(a{10}){100}",
    # next to refused shapes, but each text splits one way only
    r"(ab+)+",
    r"(b+c)+$",
    r"(b+bc)+$",
    r"(ab|ac)+",
    r"(a|ab|abc)+$",
    r"(http|https)+:",
    r"((a|ab)b)+$",
    r"(a?)+$",
    r"(a?b)+$",
    r"(x(a?b?)y)+$",
    r"(x|ya*)+$",
    r"(ab?b)+$",
    r"(x+(b|ab))*$",
]


@pytest.mark.parametrize("pattern", ORDINARY)
def test_ordinary_patterns_pass(pattern: str) -> None:
    assert analyse(pattern) is None
    compile_pattern(pattern)  # and the endpoint accepts them


@pytest.mark.parametrize("pattern", [r"(?=x)y", r"(?<=x)y", r"(a)\1", r"(unclosed", r"a**", r"*a"])
def test_syntax_the_parser_does_not_read_is_left_to_re2(pattern: str) -> None:
    assert analyse(pattern) is None


def test_thresholds() -> None:
    assert analyse(f"(.*a){{{MAX_AMBIGUOUS_COUNT}}}") is None
    assert analyse(f"(.*a){{{MAX_AMBIGUOUS_COUNT + 1}}}") is not None
    assert analyse(f"((.*a){{2}}){{{MAX_AMBIGUOUS_COUNT // 2 + 1}}}") is not None  # counts multiply
    assert analyse(f"a{{{MAX_COUNT}}}") is None
    assert analyse(f"a{{1,{MAX_COUNT + 1}}}") is not None


def test_the_hazard_names_where_it_is() -> None:
    assert analyse(r"^acme/(\w+\s?)+$") == Hazard(
        NESTED, r"(\w+\s?)+", 6, "can take exponential time in a backtracking engine"
    )
    polynomial = analyse(r"x(.*,){12}")
    assert polynomial is not None
    assert polynomial.position == 1
    assert "power 12" in polynomial.cost


def test_case_insensitivity_is_read() -> None:
    assert analyse("(a|A)+") is None
    assert analyse("(?i:(a|A))+") is not None
    assert analyse("(?i:x)(a|A)+") is None  # the flag ends with its group


def test_nesting_beyond_the_limit_is_refused() -> None:
    assert analyse("(" * MAX_NESTING + "a" + ")" * MAX_NESTING) is None
    deep = analyse("(" * (MAX_NESTING + 1) + "a" + ")" * (MAX_NESTING + 1))
    assert deep is not None
    assert deep.construct == "deep nesting"


def test_patterns_too_costly_to_check_are_refused() -> None:
    many = "(" + "|".join(f"a{chr(0x100 + i)}" for i in range(1200)) + ")+"
    hazard = analyse(many)
    assert hazard is not None
    assert hazard.construct == "complex pattern"
    assert len(hazard.fragment) < 100


# Words of distinct letters, each maybe quantified, joined by a required `-`.
_WORDS = st.lists(
    st.tuples(
        st.text(alphabet="abcxyz019", min_size=1, max_size=4),
        st.sampled_from(["", "*", "+", "?", "{2}", "{1,3}", "*?", "+?", "{2,}"]),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(_WORDS)
def test_literals_with_single_quantifiers_are_never_refused(words: list[tuple[str, str]]) -> None:
    assert analyse("-".join(word + quantifier for word, quantifier in words)) is None


_CLASSES = st.sampled_from(["a", "[ab]", r"\d", r"\w", ".", "[^x]", r"\s", "(?:ab)", "[[:alpha:]]"])
_UNBOUNDED = st.sampled_from(["*", "+", "{1,}", "*?", "+?", "{2,}"])


@settings(max_examples=300, deadline=None)
@given(_CLASSES, _UNBOUNDED, _UNBOUNDED, st.text(alphabet="xyz/", max_size=4))
def test_an_unbounded_repetition_of_one_is_always_refused(
    atom: str, inner: str, outer: str, prefix: str
) -> None:
    pattern = f"{prefix}({atom}{inner}){outer}$"
    hazard = analyse(pattern)
    assert hazard is not None
    assert (hazard.construct, hazard.position) == (NESTED, len(prefix))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_any_text_gets_a_verdict_quoting_the_pattern(pattern: str) -> None:
    hazard = analyse(pattern)
    if hazard is not None:
        assert pattern[hazard.position :].startswith(hazard.fragment.removesuffix("..."))


# An oracle for what the analyser lets through: a small backtracking matcher, working as Python's
# re and JavaScript's engines do, that counts its steps. Patterns are generated with their tree.


@dataclass(frozen=True)
class _Tree:
    kind: str  # "chr", "cat", "alt" or "rep"
    chars: str = ""
    parts: tuple["_Tree", ...] = ()
    low: int = 0
    high: int | None = None


class _Exploded(Exception):
    pass


def _steps(tree: _Tree, text: str, limit: int) -> int:
    """Steps to decide whether the tree matches all of `text`, at most `limit`."""
    count = 0

    def match(node: _Tree, at: int, then: Callable[[int], bool]) -> bool:
        nonlocal count
        count += 1
        if count > limit:
            raise _Exploded
        if node.kind == "chr":
            return at < len(text) and text[at] in node.chars and then(at + 1)
        if node.kind == "cat":
            first, second = node.parts
            return match(first, at, lambda after: match(second, after, then))
        if node.kind == "alt":
            return any(match(branch, at, then) for branch in node.parts)
        body, low, high = node.parts[0], node.low, node.high

        def turn(done: int, start: int) -> bool:
            # A turn that reads nothing ends the loop, as in backtracking engines, unless it is
            # one of the turns the minimum asks for.
            if (high is None or done < high) and match(
                body, start, lambda after: (after != start or done < low) and turn(done + 1, after)
            ):
                return True
            return done >= low and then(start)

        return turn(0, at)

    try:
        match(tree, 0, lambda end: end == len(text))
    except _Exploded:
        return limit
    return count


_Case = tuple[str, _Tree]


def _extend(children: st.SearchStrategy[_Case]) -> st.SearchStrategy[_Case]:
    def cat(pair: tuple[_Case, _Case]) -> _Case:
        return pair[0][0] + pair[1][0], _Tree("cat", parts=(pair[0][1], pair[1][1]))

    def alt(pair: tuple[_Case, _Case]) -> _Case:
        return f"(?:{pair[0][0]}|{pair[1][0]})", _Tree("alt", parts=(pair[0][1], pair[1][1]))

    def rep(case: tuple[_Case, tuple[str, int, int | None]]) -> _Case:
        (text, tree), (symbol, low, high) = case
        return f"(?:{text}){symbol}", _Tree("rep", parts=(tree,), low=low, high=high)

    quantifiers = st.sampled_from([("*", 0, None), ("+", 1, None), ("?", 0, 1)])
    return st.one_of(
        st.tuples(children, children).map(cat),
        st.tuples(children, children).map(alt),
        st.tuples(children, quantifiers).map(rep),
    )


_TREES = st.recursive(
    st.sampled_from([("a", _Tree("chr", "a")), ("b", _Tree("chr", "b")), ("[ab]", _Tree("chr", "ab"))]),
    _extend,
    max_leaves=8,
)
# Texts that no pattern over {a, b} matches, so an engine tries every way before it gives up.
_EVIL: list[Callable[[int], str]] = [
    lambda n: "a" * n + "c",
    lambda n: "ab" * (n // 2) + "c",
    lambda n: "aab" * (n // 3) + "c",
]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(_TREES)
def test_what_passes_does_not_explode_in_a_backtracking_engine(case: _Case) -> None:
    pattern, tree = case
    assume(analyse(pattern) is None)
    for evil in _EVIL:
        # Four times the text: at most 4^3 times the steps (cubic) for a pattern let through; an
        # exponential one takes 2^18 times as many.
        small, large = _steps(tree, evil(6), 10**6), _steps(tree, evil(24), 10**6)
        assert large <= 64 * small, (pattern, evil(6))


@settings(max_examples=500, deadline=None)
@given(_TREES)
def test_wrapping_in_a_group_keeps_the_verdict(case: _Case) -> None:
    pattern = case[0]
    hazard = analyse(pattern)
    wrapped = analyse(f"x(?:{pattern})")
    assert (hazard is None) == (wrapped is None)
    if hazard is not None and wrapped is not None:
        assert (wrapped.construct, wrapped.fragment) == (hazard.construct, hazard.fragment)
        assert wrapped.position == hazard.position + 4
