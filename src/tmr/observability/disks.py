"""The local folders the registry writes, probed for /health/components: free space, and whether a
byte can be written there now.

A full disk breaks writes well before it breaks reads (uploads spool, blobs and the SQLite file
grow, the package cache fills), so a probe that only reads would say "ok" while every upload
fails. Each probe writes, syncs and removes one small file, as the blob store's check does. The
report is public: a folder is named by its role ("data", "spool"), never by its path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tmr.errors import is_disk_full

log = logging.getLogger("tmr.health")


@dataclass(frozen=True, slots=True)
class FolderState:
    role: str
    free_bytes: int | None  # None when the folder could not be examined
    problem: str | None  # a public summary, None when a write went through


def probe_folder(role: str, folder: Path) -> FolderState:
    """Free space under `folder` and a test write into it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stats = os.statvfs(folder)
        free = stats.f_bavail * stats.f_frsize
        fd, name = tempfile.mkstemp(prefix=".tmr-health-", dir=folder)
        try:
            os.write(fd, b"ok")
            os.fsync(fd)
        finally:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(name)
    except OSError as exc:
        log.warning("health probe failed: the %s folder (%s): %s", role, folder, exc)
        if is_disk_full(exc):
            return FolderState(role, 0, f"the {role} folder's disk is full")
        return FolderState(role, None, f"the {role} folder cannot be written")
    return FolderState(role, free, None)


class DiskProbe:
    """The folders to watch, by role (`data`: SQLite and file blobs; `spool`: uploads and temporary
    copies; `package cache`)."""

    def __init__(self, folders: Mapping[str, Path]) -> None:
        self._folders = dict(folders)

    def check(self) -> list[FolderState]:
        return [probe_folder(role, folder) for role, folder in self._folders.items()]
