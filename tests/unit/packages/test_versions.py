"""Version parsing and npm-style queries (cases follow npm's semver range fixtures)."""

from __future__ import annotations

import functools

import nodesemver
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tmr.errors import InvalidInput
from tmr.search.versions import (
    QueryKind,
    VersionQuery,
    latest_version,
    matches,
    normalize_version,
    parse_query,
    sort_key,
    tag_versions,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.2.3", "1.2.3"),
        ("v1.2.3", "1.2.3"),
        ("V1.2.3", "1.2.3"),
        (" 1.2.3 ", "1.2.3"),
        ("1.2", "1.2.0"),
        ("v1", "1.0.0"),
        ("0", "0.0.0"),
        ("1.2.3-rc.1", "1.2.3-rc.1"),
        ("1.2.3-0.3.7", "1.2.3-0.3.7"),
        ("1.2.3-x-y.7", "1.2.3-x-y.7"),
        ("1.2.3+build.5", "1.2.3+build.5"),
        ("v1.2.3-alpha+001", "1.2.3-alpha+001"),
        ("10.20.30", "10.20.30"),
    ],
)
def test_normalize_version(raw: str, expected: str) -> None:
    assert normalize_version(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "latest",
        "1.2.3.4",
        "abc",
        "1..2",
        "1.2.",
        ".1.2",
        "01.2.3",
        "1.02.3",
        "1.2.3-",
        "1.2.3-rc..1",
        "1.2.3-01",
        "1.2.3+",
        "1.2-rc.1",
        "1-2",
        "vv1.2.3",
        "1.2.3\n4",
        "release-3",
        "1." + "1" * 70 + ".0",
        "~1.2.3",
    ],
)
def test_normalize_version_rejects(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_version(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.2.3", VersionQuery(QueryKind.EXACT, "1.2.3")),
        ("v1.2", VersionQuery(QueryKind.EXACT, "1.2.0")),
        ("1.2.3-rc.1", VersionQuery(QueryKind.EXACT, "1.2.3-rc.1")),
        ("1.2.3-rc-2.1.0", VersionQuery(QueryKind.EXACT, "1.2.3-rc-2.1.0")),
        ("1.2.3-2.1.0", VersionQuery(QueryKind.RANGE, "1.2.3", "2.1.0")),
        ("v1.2.3-v2.1.0", VersionQuery(QueryKind.RANGE, "1.2.3", "2.1.0")),
        ("1.2.3 - 2.1.0", VersionQuery(QueryKind.RANGE, "1.2.3", "2.1.0")),
        ("1.2.3-rc.1 - 2.0.0-beta", VersionQuery(QueryKind.RANGE, "1.2.3-rc.1", "2.0.0-beta")),
        ("1.2.3-1.2.3", VersionQuery(QueryKind.RANGE, "1.2.3", "1.2.3")),
        ("~1.2.0", VersionQuery(QueryKind.TILDE, "1.2.0")),
        ("~v1.2", VersionQuery(QueryKind.TILDE, "1.2")),
        ("~ 1", VersionQuery(QueryKind.TILDE, "1")),
        ("^1.2.0", VersionQuery(QueryKind.CARET, "1.2.0")),
        ("^0.0.3-beta", VersionQuery(QueryKind.CARET, "0.0.3-beta")),
    ],
)
def test_parse_query(raw: str, expected: VersionQuery) -> None:
    assert parse_query(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "latest",
        "*",
        "1.x",
        ">=1.2.3",
        "~",
        "^",
        "~latest",
        "^1.2.3.4",
        "~~1.2.3",
        "2.0.0-1.0.0",  # a range whose low end is above its high end
        "1.2 - 2.0.0",  # spaced ranges need full versions
        "1.2.3 - abc",
        "1.2.3 -2.0.0",
        "1.2.3 || 2.0.0",
        "x" * 200,
    ],
)
def test_parse_query_rejects(raw: str) -> None:
    with pytest.raises(InvalidInput):
        parse_query(raw)


INCLUDED = [
    # exact: build metadata is ignored, spelling is normalised
    ("1.2.3", "1.2.3"),
    ("1.2.3", "v1.2.3"),
    ("1.2.3", "1.2.3+build"),
    ("1.2", "1.2.0"),
    ("1.2.3-rc.1", "1.2.3-rc.1"),
    # bounded ranges, inclusive both ends
    ("1.2.3-2.1.0", "1.2.3"),
    ("1.2.3-2.1.0", "2.1.0"),
    ("1.2.3-2.1.0", "1.9.99"),
    ("1.0.0 - 2.0.0", "1.2.3"),
    ("1.2.3-rc.1 - 2.0.0", "1.2.3-rc.2"),
    ("1.0.0 - 2.0.0-rc.2", "2.0.0-rc.1"),
    # tilde: patch-level changes
    ("~1.2.0", "1.2.0"),
    ("~1.2.0", "1.2.99"),
    ("~1.2.3", "1.2.3"),
    ("~1.2", "1.2.7"),
    ("~1", "1.9.9"),
    ("~0.5.4-pre", "0.5.5"),
    ("~0.5.4-pre", "0.5.4-pre.1"),
    ("~2.4", "2.4.5"),
    # caret: no change to the left-most non-zero part
    ("^1.2.0", "1.2.0"),
    ("^1.2.0", "1.99.0"),
    ("^1.2.3", "1.8.1"),
    ("^0.2.3", "0.2.3"),
    ("^0.2.3", "0.2.99"),
    ("^0.0.3", "0.0.3"),
    ("^0.1.2", "0.1.2"),
    ("^0", "0.9.9"),
    ("^0.0", "0.0.9"),
    ("^1.2.3-beta.2", "1.2.3-beta.4"),
    ("^1.2.3-beta.2", "1.2.3"),
    ("^0.0.3-beta", "0.0.3-pr.2"),
]

EXCLUDED = [
    ("1.2.3", "1.2.4"),
    ("1.2.3", "1.2.3-rc.1"),
    ("1.2.3-rc.1", "1.2.3-rc.2"),
    ("1.2.3-rc.1", "1.2.3"),
    ("1.2.3-2.1.0", "1.2.2"),
    ("1.2.3-2.1.0", "2.1.1"),
    ("1.2.3-2.1.0", "2.1.0-rc.1"),  # pre-releases only with a same-tuple pre-release bound
    ("1.2.3-2.1.0", "1.5.0-beta"),
    ("1.2.3-2.1.0", "1.2.3-rc.1"),
    ("1.2.3-rc.1 - 2.0.0", "1.2.4-rc.1"),
    ("~1.2.0", "1.3.0"),
    ("~1.2.0", "1.1.9"),
    ("~1.2.3", "1.2.2"),
    ("~1", "2.0.0"),
    ("~1", "0.9.0"),
    ("~0.5.4-pre", "0.6.0"),
    ("~0.5.4-pre", "0.5.5-pre"),
    ("~1.2.0", "1.2.1-rc.1"),
    ("^1.2.0", "2.0.0"),
    ("^1.2.0", "1.1.9"),
    ("^1.2.0", "2.0.0-rc.1"),
    ("^0.2.3", "0.3.0"),
    ("^0.2.3", "0.2.2"),
    ("^0.0.3", "0.0.4"),
    ("^0.0.3", "0.0.2"),
    ("^0.0.3", "0.1.0"),
    ("^0", "1.0.0"),
    ("^0.0", "0.1.0"),
    ("^1.2.3-beta.2", "1.2.3-beta.1"),
    ("^1.2.3-beta.2", "1.2.4-beta.4"),
    ("^0.0.3-beta", "0.0.4"),
    # candidates that are not versions match nothing (and do not raise)
    ("1.2.3", "latest"),
    ("^1.0.0", ""),
]


@pytest.mark.parametrize(("query", "version"), INCLUDED)
def test_matches(query: str, version: str) -> None:
    assert matches(parse_query(query), version)


@pytest.mark.parametrize(("query", "version"), EXCLUDED)
def test_does_not_match(query: str, version: str) -> None:
    assert not matches(parse_query(query), version)


def test_tag_versions_and_latest() -> None:
    tags = ["v1.0.0", "1.2", "release-3", "nightly", "1.0.0", "v10.0.0", "2.0.0-rc.1", "v2.0.0", "v1.10.0"]
    assert tag_versions(tags) == ["1.0.0", "1.2.0", "1.10.0", "2.0.0-rc.1", "2.0.0", "10.0.0"]
    assert latest_version(tags) == "10.0.0"
    assert latest_version(["v3.0.0-rc.1", "3.0.0-rc.2", "nightly"]) == "3.0.0-rc.2"
    assert latest_version(["nightly", "main"]) is None
    assert latest_version([]) is None


def test_sort_key_orders_by_precedence() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.10.0",
        "2.0.0",
    ]
    shuffled = [ordered[i] for i in (5, 0, 10, 3, 8, 1, 7, 2, 9, 4, 6)]
    assert sorted(shuffled, key=sort_key) == ordered


_num = st.integers(min_value=0, max_value=30).map(str)
_pre_id = st.one_of(_num, st.sampled_from(["alpha", "beta", "rc", "x-y", "0a"]))
_versions = st.builds(
    lambda major, minor, patch, pre, build: (
        f"{major}.{minor}.{patch}" + (f"-{'.'.join(pre)}" if pre else "") + (f"+{build}" if build else "")
    ),
    _num,
    _num,
    _num,
    st.lists(_pre_id, max_size=3),
    st.sampled_from(["", "", "build.7", "sha-1a2b"]),
)


def _range(a: str, b: str) -> VersionQuery:
    tight = "-" not in a and "-" not in b and "+" not in a + b
    return parse_query(f"{a}-{b}" if tight else f"{a} - {b}")


@settings(max_examples=300, deadline=None)
@given(_versions, _versions)
def test_range_includes_its_ends(x: str, y: str) -> None:
    a, b = sorted((x, y), key=sort_key)
    query = _range(a, b)
    assert query.kind is QueryKind.RANGE
    assert matches(query, a)
    assert matches(query, b)
    # Built directly: `1.2.3-2.1.0` (a pre-release that is itself a release) reads as a range.
    assert matches(VersionQuery(QueryKind.EXACT, normalize_version(a)), a)
    assert matches(VersionQuery(QueryKind.EXACT, normalize_version(b)), b)


def test_pre_release_shaped_like_a_release_reads_as_a_range() -> None:
    assert parse_query("1.2.3-2.1.0").kind is QueryKind.RANGE
    assert normalize_version("1.2.3-2.1.0") == "1.2.3-2.1.0"
    assert not matches(parse_query("1.2.3-2.1.0"), "1.2.3-2.1.0")


@settings(max_examples=300, deadline=None)
@given(_versions, _versions)
def test_sort_key_agrees_with_nodesemver(x: str, y: str) -> None:
    ours = (sort_key(x)[0] > sort_key(y)[0]) - (sort_key(x)[0] < sort_key(y)[0])
    assert ours == nodesemver.compare(x, y, False)


@settings(max_examples=100, deadline=None)
@given(st.lists(_versions, max_size=8))
def test_tag_versions_sorted_like_nodesemver(tags: list[str]) -> None:
    ours = tag_versions(["v" + t for t in tags])
    cmp = functools.cmp_to_key(lambda p, q: nodesemver.compare(p, q, False))
    assert [sort_key(v)[0] for v in ours] == [sort_key(v)[0] for v in sorted(ours, key=cmp)]


def test_npm_range_spelling() -> None:
    assert parse_query("1.2.3").npm_range == "1.2.3"
    assert parse_query("1.2.3-2.0.0").npm_range == "1.2.3 - 2.0.0"
    assert parse_query("~1.2").npm_range == "~1.2"
    assert parse_query("^v1.2.3").npm_range == "^1.2.3"


@pytest.mark.parametrize("raw", [None, 123, b"1.2.3"])
def test_non_strings_are_invalid(raw: object) -> None:
    with pytest.raises(InvalidInput):
        normalize_version(raw)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        parse_query(raw)  # type: ignore[arg-type]
