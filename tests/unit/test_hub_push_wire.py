"""The Hub's commit wire format as the door reads it, and the repository paths it accepts."""

from __future__ import annotations

import base64
import json

import pytest

from tmr.api.hfcompat_write import parse_commit
from tmr.errors import InvalidInput
from tmr.hub.push import AddLfs, AddRegular, Delete, check_path


def _ndjson(*items: object) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


HEADER = {"key": "header", "value": {"summary": "s", "description": "", "parentCommit": "a" * 40}}


def test_a_commit_reads_as_its_header_and_operations_in_order() -> None:
    body = _ndjson(
        HEADER,
        {
            "key": "file",
            "value": {"path": "a.txt", "content": base64.b64encode(b"hi").decode(), "encoding": "base64"},
        },
        {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": "b" * 64, "size": 5}},
        {"key": "deletedFile", "value": {"path": "old.txt"}},
        {"key": "deletedFolder", "value": {"path": "logs/"}},
    )
    header, operations = parse_commit(body)
    assert header["parentCommit"] == "a" * 40
    assert operations == [
        AddRegular("a.txt", b"hi"),
        AddLfs("w.bin", "b" * 64, 5),
        Delete("old.txt"),
        Delete("logs/", folder=True),
    ]


@pytest.mark.parametrize(
    ("lines", "said"),
    [
        ([{"key": "file", "value": {"path": "a", "content": "", "encoding": "base64"}}], "no header"),
        ([HEADER, HEADER], "one header"),
        ([HEADER, {"key": "file", "value": {"path": "a", "content": "!!", "encoding": "base64"}}], "base64"),
        ([HEADER, {"key": "copyFile", "value": {"path": "a"}}], "not supported"),
        ([HEADER, {"key": "lfsFile", "value": {"path": "a", "algo": "md5", "oid": "x"}}], "sha256"),
        ([HEADER, {"key": "deletedFile", "value": {}}], "path"),
    ],
)
def test_a_malformed_commit_is_refused_with_its_reason(lines: list[object], said: str) -> None:
    with pytest.raises(InvalidInput, match=said):
        parse_commit(_ndjson(*lines))


def test_a_commit_line_that_is_not_json_is_refused() -> None:
    with pytest.raises(InvalidInput, match="line 2 is not JSON"):
        parse_commit(_ndjson(HEADER) + b"{nope\n")


@pytest.mark.parametrize("path", ["a.txt", "dir/sub/w.safetensors", ".gitattributes"])
def test_repository_paths(path: str) -> None:
    assert check_path(path) == path


@pytest.mark.parametrize(
    "path", ["", "/abs", "a/../b", "a//b", "./a", ".git/config", "a\\b", "a\x00b", "x" * 1025]
)
def test_paths_that_could_escape_or_mislead_are_refused(path: str) -> None:
    with pytest.raises(InvalidInput):
        check_path(path)
