"""Domain errors. Each carries the HTTP status it maps to, so the API maps them in one place."""

from __future__ import annotations

from typing import Any


class TmrError(Exception):
    """Base of every error the registry raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


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
    """An upstream (Hugging Face, GitHub) could not answer: timeouts, 5xx, 429 after retries."""

    status_code = 502
    code = "upstream_unavailable"


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
    status_code = 503
    code = "storage_unavailable"


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
