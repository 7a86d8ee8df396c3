"""`tmr push`'s resumable client against the registry in memory: parts, a part cut and sent again
within a run, a push killed and resumed by the next run (from the state file), an outage, a stale
session, a changed folder, a registry without sessions, and refusals as exit codes. The command
over a real server and a real cut is tests/e2e/test_cli_resume.py's."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.unit.memory_app import NOWHERE, TOKEN, memory_client
from tests.unit.test_client_lookup import through
from tmr.client import resumable
from tmr.client.config import Credentials, resolve_target
from tmr.client.errors import ClientError, ExitCode
from tmr.client.http import RegistryClient
from tmr.client.resumable import Push, PushState, push
from tmr.client.zipstream import folder_files, zipped
from tmr.container import Registry

PART = 2048


@dataclass
class Wire:
    """The client's requests on their way to the app: counted, and spoiled when `spoil` says."""

    seen: list[str] = field(default_factory=list)
    # (request) → "cut": dropped before the app sees it; "lost": the app answers, the client hears nothing
    spoil: Callable[[httpx.Request], str | None] = lambda _r: None
    # (request) → an answer given instead of the app's (a registry of another kind), or None
    instead: Callable[[httpx.Request], httpx.Response | None] = lambda _r: None

    def transport(self, inner: httpx.MockTransport) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.seen.append(f"{request.method} {request.url.path}")
            other = self.instead(request)
            if other is not None:
                return other
            verdict = self.spoil(request)
            if verdict == "cut":
                raise httpx.WriteError("connection reset while sending")
            response = inner.handle_request(request)
            if verdict == "lost":
                raise httpx.ReadError("connection reset before the answer")
            return response

        return httpx.MockTransport(handle)

    def patches(self) -> int:
        return sum(1 for s in self.seen if s.startswith("PATCH"))


@dataclass
class Setup:
    registry: Registry
    wire: Wire
    state: PushState
    job: Push
    connect: Callable[[], RegistryClient]

    def push(self, job: Push | None = None, **kw: object) -> resumable.Pushed:
        with self.connect() as client:
            return push(client, job or self.job, state=self.state, **kw)  # type: ignore[arg-type]


def make_folder(root: Path) -> Path:
    (root / "weights").mkdir(parents=True)
    (root / "README.md").write_text("# acme/tool\n\nA tool pushed in parts.\n")
    (root / "tool.py").write_text("print('hello')\n")
    (root / "weights" / "blob.bin").write_bytes(os.urandom(5 * PART + 123))
    return root


def job_of(folder: Path) -> Push:
    return Push(folder, folder_files(folder), "code", "acme/tool", "1.0.0")


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resumable, "BACKOFF_S", 0.0)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    folder = make_folder(tmp_path / "tool")
    with memory_client(spool_dir=tmp_path, upload_part_bytes=PART) as (app_client, registry):
        wire = Wire()
        target = resolve_target(
            "http://testserver", Credentials(NOWHERE / "c.json"), env={"TMR_TOKEN": TOKEN}
        )

        def connect() -> RegistryClient:
            return RegistryClient(target, transport=wire.transport(through(app_client)))

        yield Setup(registry, wire, PushState(tmp_path / "config" / "pushes.json"), job_of(folder), connect)


def interrupted_after(limit: int) -> Callable[[int, int], None]:
    """A progress callback that is Ctrl-C once more than `limit` bytes are on their way."""

    def progress(done: int, _total: int) -> None:
        if done > limit:
            raise KeyboardInterrupt

    return progress


def zip_sha(job: Push) -> str:
    return hashlib.sha256(b"".join(zipped(job.files))).hexdigest()


def test_a_push_goes_up_in_parts_and_is_registered(setup: Setup) -> None:
    seen: list[tuple[int, int]] = []
    pushed = setup.push(on_progress=lambda done, total: seen.append((done, total)))
    answer = pushed.answer
    assert (answer["metadata"]["name"], answer["metadata"]["type"], answer["version"]) == (
        "acme/tool",
        "code",
        "1.0.0",
    )
    assert answer["data"]["url"] == f"upload:sha256:{zip_sha(setup.job)}"
    assert pushed.resumed_from == 0
    assert setup.wire.seen[0] == "POST /uploads"
    assert setup.wire.patches() == -(-seen[-1][1] // PART) >= 3
    assert seen[-1][0] == seen[-1][1]  # the bar ends full
    assert setup.wire.seen[-1].endswith("/finish")
    assert json.loads(setup.state.path.read_text()) == {}  # finished: nothing to resume
    assert stat.S_IMODE(setup.state.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(setup.state.path.parent.stat().st_mode) == 0o700


def test_a_cut_part_is_sent_again_and_a_lost_answer_is_not(setup: Setup) -> None:
    patches = iter(range(100))
    verdicts = {1: "cut", 3: "lost"}
    setup.wire.spoil = lambda r: verdicts.get(next(patches)) if r.method == "PATCH" else None
    pushed = setup.push()
    assert pushed.answer["data"]["url"] == f"upload:sha256:{zip_sha(setup.job)}"
    # each failure asked where the session stands (HEAD), then went on from there
    assert sum(1 for s in setup.wire.seen if s.startswith("HEAD /uploads/")) == 2


def test_a_killed_push_resumes_in_the_next_run(setup: Setup) -> None:
    with pytest.raises(KeyboardInterrupt):
        setup.push(on_progress=interrupted_after(2 * PART))  # mid-part: the third is cut
    kept = json.loads(setup.state.path.read_text())
    assert len(kept) == 1
    sent_before = setup.wire.patches()
    pushed = setup.push()
    assert pushed.resumed_from == 2 * PART  # the two whole parts, not the cut third
    assert setup.wire.seen.count("POST /uploads") == 1  # the same session
    assert pushed.answer["data"]["url"] == f"upload:sha256:{zip_sha(setup.job)}"
    total = len(b"".join(zipped(setup.job.files)))
    assert setup.wire.patches() - sent_before == -(-(total - 2 * PART) // PART)


def test_an_outage_ends_the_run_and_the_next_one_resumes(setup: Setup) -> None:
    patches = iter(range(100))
    setup.wire.spoil = lambda r: "cut" if r.method == "PATCH" and next(patches) >= 1 else None
    with pytest.raises(ClientError, match="run the same command again to resume") as failed:
        setup.push()
    assert failed.value.exit_code is ExitCode.UNAVAILABLE
    assert setup.wire.patches() == 1 + 1 + resumable.RETRIES
    setup.wire.spoil = lambda _r: None
    assert setup.push().resumed_from == PART


def test_a_stale_session_or_a_changed_folder_starts_over(setup: Setup) -> None:
    setup.state.keep(setup.job.key("http://testserver"), "0123456789abcdef")  # unknown to the registry
    with pytest.raises(KeyboardInterrupt):
        setup.push(on_progress=interrupted_after(PART))
    assert setup.wire.seen[:2] == ["GET /uploads/0123456789abcdef", "POST /uploads"]
    # A file changed since (its mtime): another push, from the start.
    readme = setup.job.folder / "README.md"
    readme.write_text("# acme/tool\n\nChanged.\n")
    os.utime(readme, ns=(1, 1))
    pushed = setup.push(job_of(setup.job.folder))
    assert pushed.resumed_from == 0
    assert setup.wire.seen.count("POST /uploads") == 2


def test_bytes_changed_under_the_same_fingerprint_are_refused_at_the_finish(setup: Setup) -> None:
    weights = setup.job.folder / "weights" / "blob.bin"
    with pytest.raises(KeyboardInterrupt):
        setup.push(on_progress=interrupted_after(PART))
    before = weights.stat()
    weights.write_bytes(os.urandom(before.st_size))  # same size, mtime put back: it looks unchanged
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(ClientError, match="changed since the push began") as refused:
        setup.push()
    assert refused.value.exit_code is ExitCode.USAGE
    assert json.loads(setup.state.path.read_text()) == {}  # discarded: the next run starts over
    assert sum(setup.registry.store.count().values()) == 0


def test_a_registry_without_sessions_gets_the_zip_in_one_request(setup: Setup) -> None:
    def older(request: httpx.Request) -> httpx.Response | None:  # a tmr from before upload sessions
        if request.url.path == "/uploads":
            return httpx.Response(405, json={"detail": "Method Not Allowed", "code": "http_error"})
        return None

    setup.wire.instead = older
    seen: list[int] = []
    pushed = setup.push(on_progress=lambda done, _total: seen.append(done))
    assert pushed.resumed_from == 0
    assert pushed.answer["data"]["url"] == f"upload:sha256:{zip_sha(setup.job)}"
    assert setup.wire.seen == ["POST /uploads", "POST /artifact/code/upload"]
    assert seen[-1] == len(b"".join(zipped(setup.job.files)))


def test_refusals_before_any_byte_are_exit_codes(setup: Setup) -> None:
    bad = Push(setup.job.folder, setup.job.files, "code", "*", None)
    with pytest.raises(ClientError, match="reserved") as refused:
        setup.push(bad)
    assert refused.value.exit_code is ExitCode.USAGE
    versioned = Push(setup.job.folder, setup.job.files, "code", "acme/tool", "banana")
    with pytest.raises(ClientError) as refused:
        setup.push(versioned)
    assert refused.value.exit_code is ExitCode.USAGE
    assert setup.wire.patches() == 0
