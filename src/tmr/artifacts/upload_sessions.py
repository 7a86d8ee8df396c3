"""Resumable uploads: one zip sent in parts, then registered exactly as a one-request upload.

The protocol follows tus 1.0's core (`docs/architecture.md`, "Uploads"): a session declares the
zip's length, each part says the offset it starts at, and a client that lost track asks for the
offset and goes on from there. The rules:
- A session is its creator's: to anyone else, administrators included, it does not exist (404).
  Creating one runs every check of an upload that needs no bytes (permission, name, type,
  version), so a push that is bound to fail fails before it sends gigabytes.
- A part must start at the session's offset (409 naming the offset otherwise). Its bytes are
  stored as a blob first, then the offset advances in one conditional update: of two parts sent
  at one offset, one is taken and the other is a 409. A part the server did not receive whole is
  never stored, so the offset only ever covers stored bytes.
- A session lives `ttl_s` on the service's clock; expired, finished or deleted, it is gone (404).
- Finishing claims the session (a second finish is a 404), joins the parts into the upload spool,
  checks the client's sha256 of the whole zip, and hands the spooled zip to
  `RegistrationService.upload`, the one-request upload's own call. Whatever happens, the session
  is discarded after it.
- Parts are blobs, content-addressed like every other, so any worker (or Lambda instance) can take
  the next part. Until the session expires they count as referenced (as an open transaction's
  staged uploads do); once it is finished, deleted or expired, they are orphans for `tmr gc`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from tmr.accounts.models import Permission, Principal
from tmr.accounts.permissions import require
from tmr.artifacts.ids import is_valid_id
from tmr.artifacts.models import ArtifactType
from tmr.artifacts.registration import Registered, RegistrationService
from tmr.artifacts.uploads import UploadLimits, spool_upload
from tmr.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from tmr.storage.blobs.base import BlobStore, is_digest

log = logging.getLogger("tmr.uploads")


@dataclass(frozen=True, slots=True)
class UploadSession:
    id: str
    owner: str
    type: ArtifactType
    name: str
    version: str | None  # as asked; the registration normalises it
    length: int  # the whole zip's bytes, declared at creation
    offset: int  # the bytes stored so far
    part_bytes: int  # the largest part a PATCH may carry
    created_at: datetime
    expires_at: datetime
    open: bool = True  # False once a finish has claimed it

    @property
    def complete(self) -> bool:
        return self.offset == self.length


@dataclass(frozen=True, slots=True)
class Part:
    """Bytes [start, start + size) of the zip, stored as the blob `sha256`."""

    start: int
    size: int
    sha256: str


class UploadSessionRepository(Protocol):
    """Sessions and their parts (`tmr.storage.upload_sessions`); every method is one transaction."""

    def create(self, session: UploadSession) -> None:
        """Store an open session; its parts count as referenced until it expires or goes."""
        ...

    def get(self, session_id: str) -> UploadSession | None: ...

    def advance(self, session_id: str, part: Part, now: datetime) -> bool:
        """Record `part` and move the offset past it, only if the session is open, unexpired at
        `now` and at offset `part.start` (one conditional update); False otherwise."""
        ...

    def parts(self, session_id: str) -> list[Part]:
        """The stored parts, in order."""
        ...

    def claim(self, session_id: str, now: datetime) -> bool:
        """Mark an open, complete, unexpired session as being finished; False when it was not."""
        ...

    def discard(self, session_id: str, now: datetime | None = None) -> bool:
        """Delete the session and its parts (with `now`: only while it is open and unexpired);
        whether it did."""
        ...

    def purge(self, now: datetime) -> int:
        """Delete the sessions that expired by `now`."""
        ...


class UploadSessionGone(NotFound):
    code = "upload_session_not_found"


class OffsetMismatch(Conflict):
    """A part that does not start where the session stands; `details.offset` says where it does."""

    code = "upload_offset_mismatch"

    def __init__(self, session_id: str, offset: int) -> None:
        super().__init__(
            f"upload session {session_id} is at offset {offset}: send the part that starts there",
            offset=offset,
        )
        self.offset = offset


class UploadSessionService:
    def __init__(
        self,
        repo: UploadSessionRepository,
        blobs: BlobStore,
        registration: RegistrationService,
        *,
        part_bytes: int,
        ttl_s: float,
        limits: UploadLimits,
        spool_dir: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repo = repo
        self._blobs = blobs
        self._registration = registration
        self._part_bytes = part_bytes
        self._ttl = timedelta(seconds=ttl_s)
        self._limits = limits
        self._spool_dir = spool_dir
        self._clock = clock

    @property
    def part_bytes(self) -> int:
        return self._part_bytes

    def create(
        self, principal: Principal, type_: ArtifactType, name: str, version: str | None, length: int
    ) -> UploadSession:
        """An open session for a zip of `length` bytes, once the upload's checks that need no
        bytes pass: permission (401), name and version (400), a Hub repository's name (409)."""
        require(principal, Permission.UPLOAD)
        if length < 1:
            raise InvalidInput("Upload-Length must be at least 1 byte")
        if length > self._limits.max_upload_bytes:
            raise PayloadTooLarge("upload exceeds the size limit", limit=self._limits.max_upload_bytes)
        self._registration.check_upload(principal, name, version)
        now = self._clock()
        self._repo.purge(now)
        session = UploadSession(
            id=secrets.token_hex(16),
            owner=principal.name,
            type=type_,
            name=name,
            version=version,
            length=length,
            offset=0,
            part_bytes=self._part_bytes,
            created_at=now,
            expires_at=now + self._ttl,
        )
        self._repo.create(session)
        log.info("upload session %s opened by %s for %d bytes", session.id, principal.name, length)
        return session

    def get(self, principal: Principal, session_id: str) -> UploadSession:
        """The session as its owner sees it; anyone else, and everyone once it is gone, gets 404."""
        require(principal, Permission.UPLOAD)
        session = self._repo.get(session_id) if is_valid_id(session_id) else None
        if session is None or session.owner != principal.name or not session.open:
            raise UploadSessionGone(f"no upload session with id {session_id}")
        if self._clock() >= session.expires_at:
            raise UploadSessionGone(
                f"upload session {session_id} expired at {session.expires_at.isoformat()}; "
                "start the upload again"
            )
        return session

    def append(self, principal: Principal, session_id: str, offset: int, data: bytes) -> UploadSession:
        """Store `data` as the part at `offset`; the session with its new offset."""
        session = self.get(principal, session_id)
        if offset != session.offset:
            raise OffsetMismatch(session_id, session.offset)
        if len(data) > session.part_bytes:
            raise PayloadTooLarge(
                f"a part carries at most {session.part_bytes} bytes", limit=session.part_bytes
            )
        if offset + len(data) > session.length:
            raise PayloadTooLarge(
                f"the part runs past the upload's length ({session.length} bytes)", limit=session.length
            )
        if not data:
            return session
        stored = self._blobs.put_bytes(data)
        if not self._repo.advance(session_id, Part(offset, stored.size, stored.sha256), self._clock()):
            # Another part was taken at this offset meanwhile (or the session went): say where it is.
            raise OffsetMismatch(session_id, self.get(principal, session_id).offset)
        return replace(session, offset=offset + stored.size)

    def finish(self, principal: Principal, session_id: str, sha256: str) -> Registered:
        """Register the whole zip as `POST /artifact/{type}/upload` would (same checks, same
        errors), once its sha256 is the one the client computed. The session is gone afterwards."""
        if not is_digest(sha256):
            raise InvalidInput("sha256 must be 64 lowercase hex characters (the whole zip's digest)")
        session = self.get(principal, session_id)
        if not session.complete:
            raise InvalidInput(
                f"upload session {session_id} holds {session.offset} of {session.length} bytes: "
                "send the rest before finishing",
                offset=session.offset,
                length=session.length,
            )
        parts = self._repo.parts(session_id)
        if not self._repo.claim(session_id, self._clock()):
            raise UploadSessionGone(f"no upload session with id {session_id}")
        try:
            with spool_upload(self._joined(parts), self._limits, self._spool_dir) as spooled:
                if spooled.sha256 != sha256:
                    raise InvalidInput(
                        "the uploaded bytes changed since the push began: their sha256 is "
                        f"{spooled.sha256}, not {sha256}; the session is discarded",
                        sha256=spooled.sha256,
                    )
                return self._registration.upload(
                    principal, session.type, spooled, session.name, session.version
                )
        finally:
            self._repo.discard(session_id)

    def delete(self, principal: Principal, session_id: str) -> None:
        """Give the session up; its parts become orphans."""
        self.get(principal, session_id)
        if not self._repo.discard(session_id, self._clock()):
            raise UploadSessionGone(f"no upload session with id {session_id}")

    def _joined(self, parts: Sequence[Part]) -> Iterator[bytes]:
        for part in parts:
            yield from self._blobs.open(part.sha256)
