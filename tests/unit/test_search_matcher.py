"""The regex scan's fast paths answer exactly as google-re2's public API does: RE2 asked
directly on bytes (search/regex.py), and the start-of-text prefilter (search/prefilter.py)."""

from __future__ import annotations

from unittest import mock

import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_prefilter import PATTERNS, TEXTS
from tmr.search import prefilter, regex
from tmr.search.prefilter import Prefixes, context_free, required_literals, required_prefixes
from tmr.search.regex import compile_pattern

TEXT_CASES = [
    "",
    "bert-base-uncased",
    "# acme-bert\n\nweights for bert",
    "naïve café — ünïcödé bert",
    "line one\nbert at a line start",
    "a" * 3000 + "bert",
]


@settings(max_examples=1000, deadline=None)
@given(PATTERNS, TEXTS)
def test_bytes_answer_as_the_public_search_does(pattern: str, text: str) -> None:
    matcher = compile_pattern(pattern, refuse_backtracking=False)
    expected = re2.compile(pattern).search(text.encode()) is not None
    assert (matcher.search(text.encode()) is not None) == expected
    assert (matcher.search(text) is not None) == expected


def test_groups_anchors_empty_matches_and_utf8() -> None:
    for pattern in ["^$", "x*", "(b)(e)(r)t", "^bert", "bert$", "(?m)^bert", "ü.", "[^a]+$", r"\bbert\b"]:
        matcher = compile_pattern(pattern)
        for text in TEXT_CASES:
            expected = re2.compile(pattern).search(text) is not None
            assert (matcher.search(text.encode()) is not None) is expected, (pattern, text)
            assert (matcher.search(text) is not None) is expected, (pattern, text)


def test_without_the_binding_every_text_takes_the_wrapper() -> None:
    with mock.patch.object(regex, "_UNANCHORED", None):
        matcher = compile_pattern("(b)ert")
    assert matcher.search(b"a bert") is not None
    assert matcher.search(b"a bird") is None


def test_prefixes_of_anchored_patterns() -> None:
    assert required_prefixes("^acme-bert-base$") == {"acme-bert-base"}
    assert required_prefixes(r"\Aacme\.x") == {"acme.x"}
    assert required_prefixes(r"^bench-model-[0-9]+$") == {"bench-model-"}
    assert isinstance(required_prefixes("^abc"), Prefixes)
    assert getattr(required_prefixes("^abc"), "at_start", False) is True
    assert not getattr(required_literals("abc"), "at_start", False)  # plain literals stay plain


def test_no_prefix_unless_anchored_at_the_text_start_and_read_alike() -> None:
    for pattern in [
        "abc",  # not anchored
        "(?m)^abc",  # ^ at any line start
        "(?i)^abc",  # any case
        "^ab",  # too short to be worth it
        "^abc|xyz",  # the anchor binds one branch only
        "^(abc)",  # groups are left to required_literals
        "^[[:alpha:]]abc",  # POSIX class: Python would read it differently
        "^ab?cd",
        "(unclosed",
        "",
    ]:
        assert required_prefixes(pattern) is None, pattern


@settings(max_examples=1500, deadline=None)
@given(PATTERNS, TEXTS)
def test_a_prefix_starts_every_text_the_pattern_matches(pattern: str, text: str) -> None:
    anchored = "^" + pattern
    with mock.patch.object(prefilter, "MIN_LITERAL", 1):
        prefixes = required_prefixes(anchored)
    if prefixes is not None and re2.compile(anchored).search(text) is not None:
        assert any(text.startswith(p) for p in prefixes), (anchored, text, prefixes)


TEXT_LISTS = st.lists(TEXTS, max_size=8)
EDGES = st.sampled_from(["", "^", r"\A", "(?m)^", r"\b", r"\B"])
ENDS = st.sampled_from(["", "$", "(?m)$", r"\b", r"\B"])


@settings(max_examples=2000, deadline=None)
@given(EDGES, PATTERNS, ENDS, TEXT_LISTS)
def test_a_batch_finds_exactly_the_texts_that_match_alone(
    start: str, pattern: str, end: str, texts: list[str]
) -> None:
    full = start + pattern + end
    matcher = compile_pattern(full, refuse_backtracking=False)
    encoded = [t.encode() for t in texts]
    alone = [i for i, t in enumerate(encoded) if re2.compile(full).search(t) is not None]
    assert matcher.matching(encoded) == alone  # type: ignore[attr-defined]


def test_batches_across_text_edges_newlines_and_empty_texts() -> None:
    texts = [b"", b"ab", b"c\nab", b"xab", b"ba", b"", b"\n", "naïve".encode()]
    for pattern in ["ab", r"\bab\b", r"b\na", "(?s)b.x", "x*", "^ab", "ab$", "(?m)^ab$", r"\Bab", "ï", r"\n"]:
        alone = [i for i, t in enumerate(texts) if re2.compile(pattern).search(t) is not None]
        assert compile_pattern(pattern).matching(texts) == alone, pattern  # type: ignore[attr-defined]
    assert compile_pattern("ab").matching([]) == []  # type: ignore[attr-defined]


def test_only_patterns_blind_to_text_edges_are_joined() -> None:
    assert context_free(r"[a-f]{4}[0-9]{4}\.")
    assert context_free(r"\b(bert|vit)\b")
    assert context_free("(?s)a.b")
    for pattern in ["^a", "a$", r"\Aa", "(?m)^a", "a(?m:$)", "(a|^b)", "[[:alpha:]]", r"\pL", "(unclosed"]:
        assert not context_free(pattern), pattern
