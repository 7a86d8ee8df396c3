"""Downloads: what an artifact's package, or one of its files, answers to a principal.

Every door executes the plans made here, so the rules hold everywhere: the principal must see
the artifact (and each bundled dataset); only the asked files are mirrored, and each is checked
against its upstream digest before any byte is sent (a failure is a status, never a short
package); files whose bytes import code on load are refused unless the client says it knows;
whole downloads are audited; the package's sha256 is announced; conditional requests and ranges
follow `downloads.plan`; with the S3 store and presigned redirects, the bytes come from S3.

A sensitive model (one with a monitor, `tmr.monitors`) is never sent unchecked: every request
that carries bytes - a whole download, a range, a resumption - writes exactly the zip it is about
to send (for one file: a zip holding that one file, stored, whose entry's bytes are the file's),
runs the monitor on it, and sends the bytes of that very file; it is never redirected (a presigned
URL would serve the bytes again, unchecked, until it expires). Every download asked for is kept in
the download history (`downloads.history`): each refusal, and each download once (by the request
that starts at byte 0, as the audit counts them).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from typing import BinaryIO, Protocol
from urllib.parse import quote

from tmr.accounts.models import Permission, Principal
from tmr.accounts.permissions import require, scope_for
from tmr.artifacts.bundles import LinkedDatasets, linked_datasets
from tmr.artifacts.interfaces import KeyResolver
from tmr.artifacts.mirror import FileMirror
from tmr.artifacts.models import Artifact, FileEntry, FileKind
from tmr.artifacts.packages import (
    Package,
    PackageDigests,
    PackageParts,
    StateStore,
    build_package,
    package_files,
    parse_parts,
)
from tmr.artifacts.service import ArtifactService, audit_entry
from tmr.downloads.cache import PackageCache
from tmr.downloads.gate import PlanGate
from tmr.downloads.history import Door, DownloadHistory
from tmr.downloads.monitored import (
    Asked,
    event,
    parts_label,
    refused_event,
    single_file_zip,
    spool,
)
from tmr.downloads.plan import (
    Body,
    Conditions,
    DownloadPlan,
    content_disposition,
    read_open_file,
    serve_bytes,
    serve_file,
)
from tmr.errors import IntegrityError, TmrError, UnsafeContent
from tmr.monitors.models import Monitor, MonitorVerdict
from tmr.monitors.service import MonitorGate
from tmr.storage.blobs.base import BlobStore, Presigner

log = logging.getLogger("tmr.downloads")
ZIP = "application/zip"
OCTET_STREAM = "application/octet-stream"


class DownloadEvents(Protocol):
    """Who counts the downloads answered (the operations dashboard's recorder)."""

    def downloaded(self, size: int, *, started: bool) -> None:
        """An answer of `size` bytes; `started`: it begins a download (not a later range)."""
        ...


def unsafe_paths(entries: Sequence[tuple[str, FileEntry]]) -> list[str]:
    """The names of the files whose bytes import code on load: served only to a client that says
    it knows (e.g. to inspect them in a sandbox), never by default."""
    return [name for name, file in entries if file.unsafe]


def _header_list(items: Sequence[str]) -> str:
    return ", ".join(quote(item, safe="/@:+") for item in items)


def filename_of(artifact: Artifact) -> str:
    # ASCII only: header values are Latin-1, and S3 echoes the name into its own header.
    stem = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in artifact.name)
    return f"{stem.strip('.') or artifact.id}.zip"


def _announce(headers: dict[str, str], sha256: str | None) -> None:
    if sha256:
        headers["X-Package-SHA256"] = sha256
        headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:"


def _hashing(chunks: Iterator[bytes], done: Callable[[str], object]) -> Iterator[bytes]:
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk
    done(hasher.hexdigest())  # only reached when every byte was sent


class DownloadService:
    def __init__(
        self,
        artifacts: ArtifactService,
        files: FileMirror,
        links: KeyResolver,
        state: StateStore,
        blobs: BlobStore,
        *,
        eager_digest_bytes: int,
        presigned_redirects: bool = False,
        redirect_expires_s: int = 300,
        events: DownloadEvents | None = None,
        monitors: MonitorGate,
        history: DownloadHistory,
        cache: PackageCache | None = None,
        gate: PlanGate | None = None,
    ) -> None:
        self._artifacts = artifacts
        self.gate = gate or PlanGate(0)
        self._cache = cache
        self.monitors = monitors
        self.history = history
        self._files = files
        self._links = links
        self._blobs = blobs
        self._digests = PackageDigests(state, eager_digest_bytes)
        self._presigned = presigned_redirects
        self._expires_s = redirect_expires_s
        self._events = events

    def forget_packages(self) -> None:
        """Drop every whole package kept as a file (the registry's reset)."""
        if self._cache is not None:
            self._cache.clear()

    # -- packages ----------------------------------------------------------------------------
    def package(
        self,
        principal: Principal,
        artifact_id: str,
        *,
        parts: str | None,
        allow_unsafe: bool,
        conditions: Conditions,
        redirect: bool | None = None,
        door: Door,
        client: str | None,
    ) -> DownloadPlan:
        """The artifact's files of the asked parts (all by default), and its linked datasets'
        when `datasets` is one of them, as one zip with a fixed layout. `door` and `client` (its
        address) are kept in the download history."""
        wanted = parse_parts(parts)
        with self.gate.held():
            found = self._artifacts.get_any(principal, artifact_id, to=Permission.DOWNLOAD)
            asked = Asked(principal, found, door, client, parts_label(parts))
            with self._recorded(asked):
                return self._package(asked, wanted, allow_unsafe, conditions, redirect)

    def _package(
        self,
        asked: Asked,
        wanted: PackageParts,
        allow_unsafe: bool,
        conditions: Conditions,
        redirect: bool | None,
    ) -> DownloadPlan:
        principal = asked.principal
        artifact = self._mirrored(asked.artifact, wanted.kinds)
        bundled = self._datasets(principal, artifact) if wanted.datasets else LinkedDatasets()
        package = build_package(artifact, wanted.kinds, bundled.included)
        unsafe = unsafe_paths(package_files(artifact, wanted.kinds, bundled.included))
        if unsafe and not allow_unsafe:
            raise UnsafeContent(
                "the package holds weights that import code on load; ask again with allow_unsafe=true "
                "to download them anyway, or leave them out with ?parts=",
                unsafe_files=unsafe,
            )
        filename = filename_of(artifact)
        headers = {
            "ETag": package.etag,
            "Accept-Ranges": "bytes",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, max-age=0, must-revalidate",
        }
        if unsafe:
            headers["X-Unsafe-Files"] = _header_list(unsafe)
        if wanted.datasets:
            headers["X-Included-Datasets"] = ", ".join(dataset.id for _folder, dataset in bundled.included)
            if bundled.skipped:
                headers["X-Skipped-Datasets"] = _header_list(bundled.skipped)
        if conditions.not_modified(package.etag):
            _announce(headers, self._digests.known(package))
            return DownloadPlan(304, headers)
        stale = conditions.stale_range(package.etag)
        span = conditions.span(package.etag, package.length)
        monitor = self.monitors.monitor_of(artifact.id)
        if monitor is not None:
            handle, verdict, sha256 = self._checked(
                asked, monitor, lambda: package.read(self._blobs, 0, package.length)
            )
            try:
                _announce(headers, self._digests.record(package, sha256))
            except IntegrityError:
                handle.close()
                raise
            plan = serve_bytes(
                package.length,
                headers,
                span,
                lambda start, end: read_open_file(handle, start, end),
                media_type=ZIP,
                local=True,
            )
            self._audit(asked, span, verdict)
            return self._served(plan)

        # Audited last, once every check has passed: a download that fails here is a refusal.
        target = self._redirect_target(redirect)
        # S3 ignores If-Range, so a stale one redirected would splice the new package's bytes onto
        # the old one's: that answer (the whole new package) is ours to give.
        if target is not None and not stale:
            with self.gate.stepped_aside():  # asks S3, and the first time copies the package there
                _announce(headers, self._digests.materialise(package, self._blobs, target))
            headers["Location"] = target.presigned_url(package.identity, self._expires_s, filename)
            headers["Cache-Control"] = "private, no-store"  # the URL expires; the ETag still validates
            headers.pop("Accept-Ranges")
            self._audit(asked, span)
            return self._served(DownloadPlan(307, headers), package.length)

        known = self._digests.known(package)
        if known is None:
            with self.gate.stepped_aside():  # may read and hash the whole package
                known = self._digests.eager(package, self._blobs)
        _announce(headers, known)
        self._audit(asked, span)
        cached = self._cache.get(package.identity, package.length) if self._cache else None
        if cached is not None:
            return self._served(serve_file(cached, package.length, headers, span, media_type=ZIP))
        plan = serve_bytes(
            package.length,
            headers,
            span,
            lambda start, end: package.read(self._blobs, start, end),
            media_type=ZIP,
            local=self._blobs.local,
        )
        if span is None and plan.body is not None:
            chunks = plan.body.chunks
            if known is None:
                # Too big to hash before answering: measured while the first whole download
                # streams and kept (by identity, which fixes the bytes) for every later response.
                chunks = _hashing(chunks, lambda digest: self._keep(package, digest))
            if self._cache is not None and self._cache.admits(package.length):
                # The first whole download also writes the package's file for every later one.
                chunks = self._cache.filling(package.identity, package.length, chunks)
            plan = replace(plan, body=Body(chunks, plan.body.local))
        return self._served(plan)

    def _datasets(self, principal: Principal, artifact: Artifact) -> LinkedDatasets:
        scope = scope_for(principal)
        bundled = linked_datasets(
            artifact,
            lambda keys: self._links.answering_to(keys, scope),
            lambda dataset_id: self._artifacts.get_any(principal, dataset_id, to=Permission.DOWNLOAD),
        )
        return replace(
            bundled,
            included=[(folder, self._mirrored(dataset)) for folder, dataset in bundled.included],
        )

    def _mirrored(
        self,
        artifact: Artifact,
        kinds: Collection[FileKind] | None = None,
        paths: Collection[str] | None = None,
    ) -> Artifact:
        """`FileMirror.ensure_mirrored`, stepping aside from the gate when it has work to do."""
        waits: AbstractContextManager[None] = (
            nullcontext() if self._files.settled(artifact, kinds, paths) else self.gate.stepped_aside()
        )
        with waits:
            return self._files.ensure_mirrored(artifact, kinds, paths)

    def _redirect_target(self, redirect: bool | None) -> Presigner | None:
        """The store to redirect to, unless redirects are off or the client opted out
        (`?redirect=false`). Settings refuse presigned redirects without S3, so a store lacking the
        capability here was wired by hand: proxy, and say so."""
        if redirect is False or not self._presigned:
            return None
        if not isinstance(self._blobs, Presigner):
            log.warning(
                "presigned redirects are on but the %s store cannot presign: proxying", self._blobs.name
            )
            return None
        return self._blobs

    def _keep(self, package: Package, sha256: str) -> None:
        # Every byte is already sent: a mismatch can only be reported, and no digest is announced.
        try:
            self._digests.record(package, sha256)
        except IntegrityError as exc:
            log.error("package %s: %s (%s)", package.identity, exc.message, exc.details)

    # -- single files ------------------------------------------------------------------------
    @staticmethod
    def file_headers(artifact: Artifact, file: FileEntry) -> dict[str, str]:
        """The headers of one file for a door with no conventions of its own (the browser's): a
        strong ETag fixed by the content (its sha256, else the upstream digest the bytes are
        pinned to), ranges, and an attachment named after the file."""
        if file.sha256:
            etag = f'"{file.sha256}"'
        elif file.upstream_digest:
            etag = '"' + file.upstream_digest.replace(":", "-") + '"'
        else:
            seed = f"{artifact.id}\0{file.path}\0{file.size}\0{file.upstream_url or ''}"
            etag = '"u-' + hashlib.sha256(seed.encode()).hexdigest() + '"'
        return {
            "ETag": etag,
            "Accept-Ranges": "bytes",
            "Content-Disposition": content_disposition(file.path),
            "Cache-Control": "private, max-age=0, must-revalidate",
        }

    def file(
        self,
        principal: Principal,
        artifact: Artifact,
        path: str,
        headers: Mapping[str, str],
        conditions: Conditions,
        *,
        head: bool = False,
        door: Door,
        client: str | None,
    ) -> DownloadPlan:
        """One file of an artifact the principal was already given (the Hugging Face door's
        `resolve`), with the door's own `headers` (whose ETag validates it). Files that import
        code on load are never served this way: the loaders behind that door would run them.
        A HEAD sends no bytes: it is neither monitored nor kept in the history."""
        require(principal, Permission.DOWNLOAD)
        asked = Asked(principal, artifact, door, client, path)
        with self.gate.held():
            if head:
                return self._file(asked, headers, conditions, head=True)
            with self._recorded(asked):
                return self._file(asked, headers, conditions, head=False)

    def _file(
        self, asked: Asked, headers: Mapping[str, str], conditions: Conditions, *, head: bool
    ) -> DownloadPlan:
        artifact, path = asked.artifact, asked.parts or ""
        file = artifact.file(path)
        if file is None:
            raise IntegrityError(f"{path} is not a file of artifact {artifact.id}")
        etag = headers["ETag"]
        if conditions.not_modified(etag):
            return DownloadPlan(304, headers)
        if head:
            self._refuse_unsafe_file(file)
            return DownloadPlan(200, {**headers, "Content-Length": str(file.size)}, OCTET_STREAM)
        if file.sha256 is None:
            file = self._mirrored(artifact, paths={path}).file(path) or file
            if file.sha256 is None:
                raise IntegrityError(f"{path} could not be mirrored")
        self._refuse_unsafe_file(file)
        span = conditions.span(etag, file.size)
        monitor = self.monitors.monitor_of(artifact.id)
        if monitor is not None:
            packed = single_file_zip(file, self._blobs.open)
            handle, verdict, _ = self._checked(asked, monitor, packed.chunks)
            offset = packed.data_offset
            plan = serve_bytes(
                file.size,
                headers,
                span,
                lambda start, end: read_open_file(handle, offset + start, offset + end),
                media_type=OCTET_STREAM,
                local=True,
            )
            self._audit(asked, span, verdict)
            return self._served(plan)
        self._audit(asked, span)
        sha256 = file.sha256
        plan = serve_bytes(
            file.size,
            headers,
            span,
            lambda start, end: self._blobs.open(sha256, start, end),
            media_type=OCTET_STREAM,
            local=self._blobs.local,
        )
        return self._served(plan)

    def _served(self, plan: DownloadPlan, redirected_bytes: int = 0) -> DownloadPlan:
        """Count an answer that carries bytes (200, 206, or a 307 to the whole package): all its
        bytes, and one download when it starts at byte 0 (as the audit counts them)."""
        if self._events is not None:
            if plan.status == 307:
                self._events.downloaded(redirected_bytes, started=True)
            else:
                started = plan.headers.get("Content-Range", "bytes 0-").startswith("bytes 0-")
                self._events.downloaded(int(plan.headers.get("Content-Length") or 0), started=started)
        return plan

    def _audit(
        self, asked: Asked, span: tuple[int, int] | None, verdict: MonitorVerdict | None = None
    ) -> None:
        """A download is audited, and kept in the history, once: by the request that starts at
        byte 0 (a resumed one that asks for the rest is the same download)."""
        if span is None or span[0] == 0:
            self.history.record_download(
                event(
                    asked,
                    allowed=True,
                    monitor_exit=None if verdict is None else verdict.exit_code,
                    monitor_output=None if verdict is None else verdict.stdout,
                ),
                audit=audit_entry(asked.principal, asked.artifact, "DOWNLOAD"),
            )

    @contextmanager
    def _recorded(self, asked: Asked) -> Iterator[None]:
        """Keep every refusal of a download the asker may see in the history, then let it go on."""
        try:
            yield
        except TmrError as exc:
            try:
                self.history.record_download(refused_event(asked, exc))
            except TmrError as unrecorded:  # the refusal stands; losing its record is logged
                log.error("download refusal of %s not recorded: %s", asked.artifact.id, unrecorded.message)
            raise

    def _checked(
        self, asked: Asked, monitor: Monitor, chunks: Callable[[], Iterator[bytes]]
    ) -> tuple[BinaryIO, MonitorVerdict, str]:
        """Write the zip about to be sent, run the monitor on it (which raises when it refuses),
        and open it for the answer before its folder goes; the file, the verdict, its sha256."""
        self.monitors.runner()  # Node missing: refuse before writing a possibly large zip
        with self.gate.stepped_aside(), self.monitors.workspace() as folder:
            zip_path = folder / filename_of(asked.artifact)
            sha256 = spool(chunks(), zip_path)
            verdict = self.monitors.check(monitor, asked.artifact, asked.principal.name, zip_path)
            handle = zip_path.open("rb")
        return handle, verdict, sha256

    @staticmethod
    def _refuse_unsafe_file(file: FileEntry) -> None:
        if file.unsafe:
            raise UnsafeContent(
                f"{file.path} imports code on load and is not served through the Hugging Face door "
                "(GET /download/{id}?allow_unsafe=true can fetch it)",
                reasons=list((file.safety or {}).get("reasons") or []),
            )
