"""The RE2 syntax reader behind the backtracking analysis: the character sets escapes, classes and
Unicode properties stand for, counted repeats, and the constructs it refuses (Unsupported) so the
caller falls back to RE2's own judgement."""

from __future__ import annotations

import pytest

from tmr.search.regex_syntax import (
    ANY,
    TOP,
    Char,
    Concat,
    Parser,
    Repeat,
    Unsupported,
    meets,
    union,
)


def _chars(pattern: str) -> tuple[tuple[int, int], ...]:
    node = Parser(pattern).parse()
    assert isinstance(node, Char), node
    return node.chars


def test_hex_and_octal_escapes_name_characters() -> None:
    assert _chars(r"\x41") == ((0x41, 0x41),)
    assert _chars(r"\x{1F600}") == ((0x1F600, 0x1F600),)
    assert _chars(r"[\x41-\x{43}]") == ((0x41, 0x43),)
    assert _chars(r"\0") == ((0, 0),)
    assert _chars(r"\101") == ((0o101, 0o101),)
    assert _chars(r"\t") == ((9, 9),)
    assert _chars(r"\.") == ((ord("."), ord(".")),)


@pytest.mark.parametrize(
    "pattern", [r"\xZZ", r"\x{110000}", r"\x{}", r"\1", r"\q", "[z-a]", "(?=a)", "a**", "a{3,2}", "*a", "a)"]
)
def test_constructs_re2_refuses_or_that_are_not_regular(pattern: str) -> None:
    with pytest.raises(Unsupported):
        Parser(pattern).parse()


def test_posix_classes_inside_brackets() -> None:
    assert _chars("[[:digit:]]") == ((0x30, 0x39),)
    assert _chars("[[:^digit:]]") == ((0, 0x2F), (0x3A, TOP))
    # An unknown name is no POSIX class: `[[:nope:]` is a class of its characters, then a `]`.
    unknown = Parser("[[:nope:]]").parse()
    assert isinstance(unknown, Concat)
    assert unknown.first == (
        (ord(":"), ord(":")),
        (ord("["), ord("[")),
        (ord("e"), ord("e")),
        (ord("n"), ord("p")),
    )
    assert unknown.last == ((ord("]"), ord("]")),)


def test_negated_and_perl_classes() -> None:
    assert _chars(r"[^a]") == ((0, 0x60), (0x62, TOP))
    assert _chars(r"\D") == ((0, 0x2F), (0x3A, TOP))
    assert _chars(r"[\d_]") == ((0x30, 0x39), (0x5F, 0x5F))
    assert _chars(r"\C") == ANY


def test_unicode_properties_are_exact_on_ascii_and_assume_all_non_ascii() -> None:
    assert _chars(r"\p{Any}") == ANY
    assert _chars(r"\pN") == ((0x30, 0x39), (0x80, TOP))
    assert _chars(r"\p{Lu}") == ((0x41, 0x5A), (0x80, TOP))
    assert _chars(r"\p{Latin}") == ((0x41, 0x5A), (0x61, 0x7A), (0x80, TOP))
    assert _chars(r"\p{Greek}") == ((0x80, TOP),)
    # Negated: everything but the property's ASCII part (non-ASCII stays possible).
    assert _chars(r"\P{Greek}") == ((0, TOP),)
    assert _chars(r"\p{^Greek}") == ((0, TOP),)
    assert meets(_chars(r"\p{Common}"), ((ord(" "), ord(" ")),))
    assert not meets(_chars(r"\p{Common}"), ((ord("a"), ord("a")),))
    with pytest.raises(Unsupported):
        Parser(r"\p{Lu").parse()
    with pytest.raises(Unsupported):
        Parser(r"\p{}").parse()


def test_case_folding_adds_the_other_case() -> None:
    assert _chars("(?i)[a-c]") == ((0x41, 0x43), (0x61, 0x63))
    folded = _chars("(?i)[é]")
    assert meets(folded, ((ord("É"), ord("É")),))
    assert meets(folded, ((ord("é"), ord("é")),))


def test_counted_repeats() -> None:
    node = Parser("a{2,5}").parse()
    assert isinstance(node, Repeat)
    assert (node.min, node.max) == (2, 5)
    node = Parser("a{3,}").parse()
    assert isinstance(node, Repeat)
    assert (node.min, node.max) == (3, None)
    never = Parser("a{0}").parse()
    assert isinstance(never, Repeat)
    assert never.nullable
    assert never.chars == ()
    lazy = Parser("a+?").parse()
    assert isinstance(lazy, Repeat)
    assert (lazy.min, lazy.max) == (1, None)


def test_a_brace_that_is_no_count_is_a_literal() -> None:
    node = Parser("a{x}").parse()
    assert isinstance(node, Concat)
    assert [item.chars for item in node.items] == [_chars(c) for c in "a{x}"]
    assert isinstance(Parser("a{2").parse(), Concat)


def test_flags_groups() -> None:
    assert _chars("(?s).") == ANY
    assert Parser("(?is-s:a)").parse().chars == ((0x41, 0x41), (0x61, 0x61))
    assert Parser("(?P<word>a)").parse().chars == ((0x61, 0x61),)
    for refused in ("(?i-)", "(?#note)", "(?<=a)b", "(?<>a)"):
        with pytest.raises(Unsupported):
            Parser(refused).parse()


def test_union_merges_adjacent_ranges() -> None:
    assert union(((1, 2),), ((3, 5),), ((10, 10),)) == ((1, 5), (10, 10))
