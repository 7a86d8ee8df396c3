"""What a download of a sensitive model needs beyond an ordinary one: the exact zip written out
for its monitor, the answer's bytes read back from that very file, and the history's events.

The bytes sent are read from the file the monitor was shown, opened before its folder is
removed (POSIX keeps an unlinked file's bytes until the last descriptor closes): what was
checked is what leaves, byte for byte, even if the blobs changed in between.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tmr.accounts.models import Principal
from tmr.artifacts.models import Artifact, FileEntry
from tmr.artifacts.ziplayout import ZipEntry, layout, read_range
from tmr.downloads.history import Door, DownloadEvent
from tmr.errors import IntegrityError, MonitorRefused, TmrError, disk_full, is_disk_full


@dataclass(frozen=True, slots=True)
class Asked:
    """One download as asked: by whom, of what, through which door, from where, which parts."""

    principal: Principal
    artifact: Artifact
    door: Door
    client: str | None
    parts: str | None


def parts_label(parts: str | None) -> str | None:
    """`?parts=` as the history keeps it (`weights,config`); None for the whole package."""
    names = [p.strip() for p in (parts or "").split(",") if p.strip()]
    return ",".join(names) or None


def event(
    asked: Asked,
    *,
    allowed: bool,
    monitor_exit: int | None = None,
    monitor_output: str | None = None,
    reason: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DownloadEvent:
    return DownloadEvent(
        artifact_id=asked.artifact.id,
        artifact_type=asked.artifact.type.value,
        artifact_name=asked.artifact.name,
        user_name=asked.principal.name,
        client=asked.client,
        door=asked.door,
        parts=asked.parts,
        allowed=allowed,
        monitor_exit=monitor_exit,
        monitor_output=monitor_output,
        reason=reason,
        at=clock(),
    )


def refused_event(asked: Asked, error: TmrError) -> DownloadEvent:
    """The event of a refused download: the monitor's exit status and stdout when it was the
    monitor that refused, and the error's message as the reason."""
    if isinstance(error, MonitorRefused):
        exit_status = error.details.get("exit_status")
        stdout = error.details.get("stdout")
        return event(
            asked,
            allowed=False,
            monitor_exit=exit_status if isinstance(exit_status, int) else None,
            monitor_output=stdout if isinstance(stdout, str) else None,
            reason=error.message,
        )
    return event(asked, allowed=False, reason=error.message)


def spool(chunks: Iterator[bytes], path: Path) -> str:
    """Write `chunks` to `path` (a new file, readable by its owner only); their sha256."""
    hasher = hashlib.sha256()
    try:
        with path.open("xb") as out:
            for chunk in chunks:
                hasher.update(chunk)
                out.write(chunk)
    except OSError as exc:
        if is_disk_full(exc):  # a 503 naming the disk, not an unexpected 500
            raise disk_full("a monitored download", exc) from exc
        raise
    return hasher.hexdigest()


@dataclass(frozen=True, slots=True)
class SingleFileZip:
    """One file as a zip with one stored (uncompressed) entry named by its path: the file's bytes
    are the zip's bytes [data_offset, data_offset + size)."""

    chunks: Callable[[], Iterator[bytes]]
    length: int
    data_offset: int


def single_file_zip(file: FileEntry, open_blob: Callable[[str, int, int], Iterator[bytes]]) -> SingleFileZip:
    sha256 = file.sha256
    if sha256 is None:
        raise IntegrityError(f"{file.path} has not been mirrored")
    crc32 = file.crc32
    if crc32 is None:  # recorded since 0004; an older record is measured here
        crc32 = 0
        for chunk in open_blob(sha256, 0, file.size):
            crc32 = zlib.crc32(chunk, crc32)
    segments, length = layout([ZipEntry(file.path, file.size, crc32, sha256)])
    return SingleFileZip(
        lambda: read_range(segments, 0, length, open_blob),
        length,
        data_offset=segments[0].length,
    )
