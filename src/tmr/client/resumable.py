"""`tmr push` to an upload session (`POST /uploads`, docs/using.md): the zip goes up in parts, so a
push cut at 90 % sends only the rest again.

The zip is never stored: it is made again from the folder whenever it is needed, which gives the
same bytes every time (`tmr.client.zipstream`), and its length is known from the names and sizes
before a byte is read. A resumed push asks the registry for its offset, makes the stream again and
skips to it, hashing every byte it makes, skipped ones included, so the sha256 sent at the finish
is the whole zip's. Within one run a failed part (a network error, a 5xx) is retried a few times
with backoff after asking where the session stands; across runs the session's id is kept in
`pushes.json` beside the credentials (0600), under a key naming the registry, the folder, the
name, version and type, and the file list (names, sizes, mtimes): a changed folder is a new push.
A registry without sessions (404/405/501 on `POST /uploads`) gets the zip in one request."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tmr.client.config import config_dir, write_private_json
from tmr.client.errors import ClientError, ExitCode
from tmr.client.http import RegistryClient, segment
from tmr.client.zipstream import FolderFile, zip_length, zipped

RETRIES = 4  # failed attempts at one part before the push gives up (the next run resumes)
BACKOFF_S = 0.5  # the first wait; doubled after each failure
STATE_FILE = "pushes.json"
KEPT_PUSHES = 100  # sessions remembered at most, the newest
NO_SESSIONS = (404, 405, 501)  # a registry that predates upload sessions
SEND_CHUNK = 256 * 1024  # progress is reported this often while a part is sent

Progress = Callable[[int, int], object]  # (bytes the registry has, the zip's length)


@dataclass(frozen=True)
class Push:
    folder: Path
    files: list[FolderFile]
    type: str
    name: str
    version: str | None

    def params(self) -> dict[str, str]:
        return {"name": self.name, **({"version": self.version} if self.version else {})}

    def key(self, url: str) -> str:
        """What makes a push the same push again: the registry, the folder, what it becomes, and
        the files as they are (a file changed since is a new push, not a resumed one)."""
        listing = [(f.name, f.size, f.mtime_ns) for f in self.files]
        what = [url, str(self.folder.resolve()), self.type, self.name, self.version, listing]
        return hashlib.sha256(json.dumps(what).encode()).hexdigest()


@dataclass(frozen=True)
class Pushed:
    answer: dict[str, Any]  # the registry's, as `POST /artifact/{type}/upload` answers
    resumed_from: int  # bytes an earlier, cut push had sent (0: from the start)


class PushState:
    """Session ids of unfinished pushes in a 0600 JSON file in a 0700 folder, written to a new
    file and renamed over the old one. Best effort: a push that cannot keep its id still works,
    it only cannot resume in another run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def default(cls) -> PushState:
        return cls(config_dir() / STATE_FILE)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> str | None:
        entry = self._read().get(key)
        session = entry.get("session") if isinstance(entry, dict) else None
        return session if isinstance(session, str) else None

    def keep(self, key: str, session_id: str) -> bool:
        data = self._read()
        data[key] = {"session": session_id, "saved_at": datetime.now(UTC).isoformat()}
        newest = sorted(data.items(), key=lambda kv: str(kv[1].get("saved_at", "")), reverse=True)
        return self._write(dict(newest[:KEPT_PUSHES]))

    def forget(self, key: str) -> None:
        data = self._read()
        if data.pop(key, None) is not None:
            self._write(data)

    def _write(self, data: dict[str, Any]) -> bool:
        try:
            write_private_json(self.path, data)
        except OSError:
            return False
        return True


class _Zip:
    """The zip made from the start, hashed, skipped to `start`, then read in parts."""

    def __init__(self, files: list[FolderFile], start: int) -> None:
        self._chunks = zipped(files)
        self._hasher = hashlib.sha256()
        self._pending = b""
        self.position = 0
        while self.position < start:
            if not self.read(start - self.position):
                raise _changed()

    def read(self, size: int) -> bytes:
        """The next `size` bytes (fewer only at the end of the zip)."""
        out = bytearray()
        while len(out) < size:
            if not self._pending:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._pending = chunk
                continue
            taken, self._pending = self._pending[: size - len(out)], self._pending[size - len(out) :]
            out += taken
        self._hasher.update(out)
        self.position += len(out)
        return bytes(out)

    def sha256(self) -> str:
        """The whole zip's digest, once every byte has been read (and nothing is left)."""
        if self.read(1):
            raise _changed()
        return self._hasher.hexdigest()


def _changed() -> ClientError:
    return ClientError(
        "the folder's files changed while they were pushed (the zip is not the length it was "
        "computed to be); run the command again",
        ExitCode.GENERIC,
    )


def _retryable(exc: ClientError) -> bool:
    """A network failure or the server's: worth asking where the session stands and going on."""
    return exc.status is None or exc.status >= 500 or exc.status == 409


def push(
    client: RegistryClient,
    job: Push,
    on_progress: Progress = lambda _done, _total: None,
    state: PushState | None = None,
    warn: Callable[[str], object] = lambda _message: None,
) -> Pushed:
    """Push `job` to an upload session (resuming the one an earlier run left), or in one request
    to a registry without sessions."""
    state = state or PushState.default()
    length = zip_length(job.files)
    key = job.key(client.target.url)
    session = _resumed(client, state, key, length)
    if session is None:
        session = _created(client, job, length)
        if session is None:
            return Pushed(_whole(client, job, length, on_progress), 0)
        if not state.keep(key, session["id"]):
            warn(f"cannot keep the push's state in {state.path}: a cut push will start over")
    try:
        sha256 = _Sender(client, job, session, on_progress).send()
    except ClientError as exc:
        if exc.status == 404:
            state.forget(key)  # expired meanwhile: the next run starts over
        raise
    try:
        answer = client.send(
            "POST", f"/uploads/{segment(session['id'])}/finish", json={"sha256": sha256}, ok=(201,)
        ).json()
    except ClientError as exc:
        if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 403):
            state.forget(key)  # refused: the registry discarded the session
        raise
    state.forget(key)
    return Pushed(answer, int(session["offset"]))


def _resumed(client: RegistryClient, state: PushState, key: str, length: int) -> dict[str, Any] | None:
    """The session an earlier run of this push left open, if the registry still has it."""
    session_id = state.get(key)
    if session_id is None:
        return None
    try:
        session: dict[str, Any] = client.get_json(f"/uploads/{segment(session_id)}", ok=(200,))
    except ClientError as exc:
        if exc.status != 404:
            raise
        state.forget(key)  # expired, finished or unknown: start over
        return None
    if session.get("length") != length:
        state.forget(key)
        return None
    return session


def _created(client: RegistryClient, job: Push, length: int) -> dict[str, Any] | None:
    """A new session, or None when the registry has no upload sessions."""
    try:
        session: dict[str, Any] = client.send(
            "POST",
            "/uploads",
            params={"type": job.type, **job.params()},
            headers={"Upload-Length": str(length)},
            ok=(201,),
        ).json()
    except ClientError as exc:
        if exc.status in NO_SESSIONS:
            return None
        raise
    return session


class _Sender:
    """The parts from the session's offset to the end, each retried after a failure."""

    def __init__(
        self, client: RegistryClient, job: Push, session: dict[str, Any], on_progress: Progress
    ) -> None:
        self._client = client
        self._job = job
        self._path = f"/uploads/{segment(session['id'])}"
        self._length = int(session["length"])
        self._part_bytes = int(session["part_bytes"])
        self._offset = int(session["offset"])
        self._zip = _Zip(job.files, self._offset)
        self._on_progress = on_progress

    def send(self) -> str:
        """Every part from the session's offset on; the whole zip's sha256."""
        part = b""  # bytes [offset, offset + len(part)) made but not yet taken by the registry
        failures = 0
        self._on_progress(self._offset, self._length)
        while part or self._offset < self._length:
            if not part:
                part = self._zip.read(min(self._part_bytes, self._length - self._offset))
                if not part:
                    raise _changed()
            try:
                self._offset = self._patch(part)
                part, failures = b"", 0
                continue
            except ClientError as exc:
                failures += 1
                if not _retryable(exc) or failures > RETRIES:
                    raise _resumable(exc) from None
                stands = exc.details.get("offset") if exc.status == 409 else None
            if not isinstance(stands, int):
                time.sleep(BACKOFF_S * 2 ** (failures - 1))
                stands = self._where()
            if stands is None:  # not known: send the part again, a 409 will say where it stands
                continue
            if stands == self._offset + len(part):  # taken; only its answer was lost
                self._offset, part = stands, b""
            elif stands != self._offset:  # elsewhere: make the zip again up to there
                self._zip, self._offset, part = _Zip(self._job.files, stands), stands, b""
            self._on_progress(self._offset, self._length)
        return self._zip.sha256()

    def _patch(self, part: bytes) -> int:
        start = self._offset

        def body() -> Iterator[bytes]:
            for at in range(0, len(part), SEND_CHUNK):
                yield part[at : at + SEND_CHUNK]
                self._on_progress(start + min(at + SEND_CHUNK, len(part)), self._length)

        answer = self._client.send(
            "PATCH",
            self._path,
            content=body(),
            headers={
                "Upload-Offset": str(start),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(len(part)),
            },
            ok=(204,),
        )
        return int(answer.headers.get("upload-offset", start + len(part)))

    def _where(self) -> int | None:
        """The session's offset as the registry has it; None when the registry cannot say now."""
        try:
            answer = self._client.send("HEAD", self._path, ok=(200,))
        except ClientError as exc:
            if _retryable(exc):
                return None
            raise
        offset = answer.headers.get("upload-offset", "")
        return int(offset) if offset.isdigit() else None


def _resumable(exc: ClientError) -> ClientError:
    """A push that failed for want of the network or the registry: the next run resumes it."""
    if exc.exit_code is not ExitCode.UNAVAILABLE:
        return exc
    message = f"{exc.message}; run the same command again to resume the push"
    return ClientError(message, exc.exit_code, status=exc.status, code=exc.code, details=exc.details)


def _whole(client: RegistryClient, job: Push, length: int, on_progress: Progress) -> dict[str, Any]:
    """The zip in one request (a registry without upload sessions): a cut push starts over."""
    done = 0

    def counted() -> Iterator[bytes]:
        nonlocal done
        for chunk in zipped(job.files):
            done += len(chunk)
            on_progress(done, length)
            yield chunk

    answer: dict[str, Any] = client.send(
        "POST",
        f"/artifact/{segment(job.type)}/upload",
        params=job.params(),
        content=counted(),
        headers={"Content-Type": "application/zip"},
    ).json()
    return answer
