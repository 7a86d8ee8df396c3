"""Conditional requests and ranges, decided once for every door (`tmr.downloads.plan`)."""

import pytest

from tmr.downloads.plan import Conditions, parse_range, serve_bytes
from tmr.errors import InvalidInput, RangeNotSatisfiable

ETAG = '"abc"'


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 10)),
        ("bytes=90-", (90, 100)),
        ("bytes=-10", (90, 100)),
        ("bytes=-1000", (0, 100)),
        ("bytes=95-1000", (95, 100)),
        ("bytes=0-1,5-9", None),  # several ranges: the whole representation
        (" bytes = 3 - 4 ", (3, 5)),
    ],
)
def test_ranges(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["items=0-1", "bytes=-", "bytes=a-b"])
def test_malformed_ranges_are_400(header: str) -> None:
    with pytest.raises(InvalidInput):
        parse_range(header, 100)


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0", "bytes=9-3"])
def test_unsatisfiable_ranges_are_416_with_the_length(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, 100)
    assert caught.value.details["length"] == 100


def test_if_none_match() -> None:
    assert Conditions(if_none_match=ETAG).not_modified(ETAG)
    assert Conditions(if_none_match=f'"x", {ETAG}').not_modified(ETAG)
    assert Conditions(if_none_match="*").not_modified(ETAG)
    assert not Conditions(if_none_match='"other"').not_modified(ETAG)
    assert not Conditions().not_modified(ETAG)


def test_if_range_names_the_version_a_range_is_for() -> None:
    assert Conditions(range="bytes=10-", if_range=ETAG).span(ETAG, 100) == (10, 100)
    assert Conditions(range="bytes=10-", if_range="").span(ETAG, 100) == (10, 100)  # empty: absent
    stale = Conditions(range="bytes=10-", if_range='"old"')
    assert stale.stale_range(ETAG)
    assert stale.span(ETAG, 100) is None  # the whole new representation
    assert not Conditions(if_range='"old"').stale_range(ETAG)  # no Range: nothing to be stale


def test_serve_bytes_reads_only_the_span() -> None:
    data = bytes(range(100))
    reads: list[tuple[int, int]] = []

    def read(start: int, end: int) -> object:
        reads.append((start, end))
        return iter((data[start:end],))

    plan = serve_bytes(100, {"ETag": ETAG}, (10, 20), read, media_type="application/zip", local=True)  # type: ignore[arg-type]
    assert plan.status == 206
    assert plan.headers["Content-Range"] == "bytes 10-19/100"
    assert plan.headers["Content-Length"] == "10"
    assert plan.body is not None
    assert b"".join(plan.body.chunks) == data[10:20]
    assert reads == [(10, 20)]
    whole = serve_bytes(100, {}, None, read, media_type="application/zip", local=False)
    assert whole.status == 200
    assert "Content-Range" not in whole.headers
    assert whole.body is not None
    assert not whole.body.local
    assert reads == [(10, 20), (0, 100)]
    empty = serve_bytes(0, {}, None, read, media_type="application/zip", local=True)
    assert empty.body is not None
    assert list(empty.body.chunks) == []
    assert reads == [(10, 20), (0, 100)]  # an empty file is never read
