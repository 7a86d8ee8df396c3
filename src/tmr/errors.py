"""Domain errors. Each carries the HTTP status it maps to, so the API maps them in one place."""

from __future__ import annotations

import errno
from typing import Any

_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


class TmrError(Exception):
    """Base of every error the registry raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def public(self) -> tuple[str, dict[str, Any]]:
        """The message and details an answer may show, at every door (the API, the UI, the Hub's)."""
        return self.message, dict(self.details)


class InvalidInput(TmrError):
    status_code = 400
    code = "invalid_input"


class Unauthenticated(TmrError):
    """Missing, malformed, expired or exhausted token: the contract answers 403."""

    status_code = 403
    code = "authentication_failed"


class BadCredentials(TmrError):
    """Wrong user name or password at /authenticate: the contract answers 401."""

    status_code = 401
    code = "bad_credentials"


class PermissionDenied(TmrError):
    """The principal lacks a permission (named in `missing_permission`) or is not the owner: the
    contract answers a missing permission with 401 (see DELETE /reset)."""

    status_code = 401
    code = "permission_denied"


class NotFound(TmrError):
    status_code = 404
    code = "not_found"


class Conflict(TmrError):
    status_code = 409
    code = "conflict"


class ChangedMeanwhile(Conflict):
    """A conditional write found its artifact changed (or gone) since it was read: the writer
    reads again and decides (a Hub commit is re-applied on the new head)."""


class PayloadTooLarge(TmrError):
    status_code = 413
    code = "payload_too_large"


class UnsafeContent(TmrError):
    """Weights that import code on load, asked for without saying the risk is understood."""

    status_code = 409
    code = "unsafe_content"


class UnsupportedMediaType(TmrError):
    status_code = 415
    code = "unsupported_media_type"


class RangeNotSatisfiable(TmrError):
    status_code = 416
    code = "range_not_satisfiable"


class Disqualified(TmrError):
    """A rating below the ingest gate: the contract answers 424."""

    status_code = 424
    code = "disqualified"


class UpstreamUnavailable(TmrError):
    """An upstream (Hugging Face, GitHub) answered in a way the registry cannot use: an answer it
    cannot read (garbage), a refusal, too much. 502 Bad Gateway: retrying the same request will
    not help by itself. `details.component` names the upstream (`upstream:huggingface`)."""

    status_code = 502
    code = "upstream_unavailable"


class UpstreamDown(UpstreamUnavailable):
    """An upstream did not answer after the client's retries: timeouts, connections refused or
    reset, 5xx, 429. 503 with Retry-After: the registry is fine and the request may be repeated
    once the upstream is back. (The license check keeps the contract's 502: analysis/service.py.)"""

    status_code = 503
    code = "upstream_down"
    retry_after_s = 10

    def public(self) -> tuple[str, dict[str, Any]]:
        return self.message, {"retry_after": self.retry_after_s, **self.details}


class UpstreamForbidden(UpstreamUnavailable):
    """The upstream refused access (401/403): a gated or private repository without a token
    that may read it."""

    code = "upstream_forbidden"


class UpstreamTooLarge(UpstreamUnavailable):
    """An upstream answer larger than the registry reads (refused as it streams, never read whole)."""

    code = "upstream_too_large"


class IntegrityError(TmrError):
    """Bytes did not match their recorded digest: never served as if they were right."""

    status_code = 502
    code = "integrity_error"


class TooManyAttempts(TmrError):
    """Too many failed sign-ins for a user or from an address: wait `retry_after` seconds."""

    status_code = 429
    code = "too_many_attempts"


class Busy(TmrError):
    """Too much expensive work already in flight; the client should retry later."""

    status_code = 503
    code = "busy"


class StorageUnavailable(TmrError):
    """A store the registry depends on cannot be used. The message may carry a driver's text
    (hosts, users, paths), so answers show only `public_message` and `component`, in words every
    client may read; the message itself is logged. Raised as one of the subclasses below, which
    name the component; the base class is what tests and callers catch."""

    status_code = 503
    code = "storage_unavailable"
    component = "storage"
    public_message = "storage unavailable"
    retry_after_s = 5

    def public(self) -> tuple[str, dict[str, Any]]:
        """General words naming the component, and when to try again: never the driver's text."""
        return self.public_message, {"component": self.component, "retry_after": self.retry_after_s}


class DatabaseUnavailable(StorageUnavailable):
    """The metadata store (SQLite or PostgreSQL) cannot be reached or refused to work."""

    code = "database_unavailable"
    component = "database"
    public_message = "the database (metadata store) is unavailable"


class BlobStoreUnavailable(StorageUnavailable):
    """The blob store (a directory or an S3 bucket) cannot be reached or refused a write."""

    code = "blob_store_unavailable"
    component = "blob_store"
    public_message = "the blob store is unavailable"


class DiskUnavailable(StorageUnavailable):
    """A local folder the registry writes outside its stores (spooled uploads) refused a write."""

    code = "disk_unavailable"
    component = "disk"
    public_message = "the registry's local disk cannot be written"
    retry_after_s = 30


class DiskFull(DiskUnavailable):
    """A local disk the registry writes (blobs, spooled uploads, the SQLite database) has no
    space left. Retrying helps only once space is freed, hence the longer Retry-After."""

    code = "disk_full"
    public_message = "the registry's disk is full"


class MonitorRefused(TmrError):
    """A sensitive model's monitor vetoed this download (a non-zero exit, a crash or its time
    limit). 451, not 403 (the contract's bad token) nor 401 (a missing permission) nor 409
    (unsafe content): the asker is known and allowed, and the owner's own policy, outside the
    protocol, refuses the resource. `details` carry the program's stdout and exit status."""

    status_code = 451
    code = "monitor_refused"


class MonitorUnavailable(TmrError):
    """A sensitive model's monitor could not be started (no Node.js): the download is refused,
    never let through unchecked."""

    status_code = 503
    code = "monitor_unavailable"


def is_disk_full(exc: BaseException) -> bool:
    """Whether an OSError says the disk (or the user's quota) has no space left."""
    return isinstance(exc, OSError) and exc.errno in _NO_SPACE


def disk_full(what: str, exc: OSError) -> DiskFull:
    """A DiskFull for a failed local write of `what` (the OS's text stays in the log only)."""
    return DiskFull(f"no space left on the disk while writing {what}: {exc}")
