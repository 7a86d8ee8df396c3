"""One HTTP client for every upstream: timeouts, bounded retries with backoff on 429/5xx and
network errors (honouring Retry-After), and upstream failures turned into domain errors."""

from __future__ import annotations

import contextlib
import email.utils
import logging
import math
import random
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC
from typing import Any

import httpx

from tmr.errors import NotFound, UpstreamDown, UpstreamForbidden, UpstreamTooLarge, UpstreamUnavailable

log = logging.getLogger("tmr.sources")
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 10.0
DEFAULT_BODY_LIMIT = 64 * 1024 * 1024
# Headers that describe the bytes on the wire, not the decoded body a buffered answer holds.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def too_large(what: str, limit: int) -> UpstreamTooLarge:
    return UpstreamTooLarge(f"{what} is larger than the {limit} bytes the registry reads from an upstream")


def capped(chunks: Iterable[bytes], limit: int, what: str) -> Iterator[bytes]:
    """Pass `chunks` through, raising once more than `limit` bytes went by: the caller stops
    reading there, whatever the upstream still has to send."""
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise too_large(what, limit)
        yield chunk


def check_declared_length(response: httpx.Response, limit: int, what: str) -> None:
    """Refuse an answer whose declared length is over `limit` before reading any of it."""
    declared = response.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        raise too_large(what, limit)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the upstream asks us to wait, or None when it does not say (or says nonsense: a
    malformed date must not turn a retry into a crash)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": still UTC (RFC 5322), not this host's local time
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


class UpstreamClient:
    """A shared, thread-safe httpx client for one upstream (base URL + token)."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        token: str | None = None,
        timeout_s: float = 20.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        extra_headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        body_limit: int = DEFAULT_BODY_LIMIT,
    ) -> None:
        self.name = name
        # How answers name this upstream (`upstream:huggingface`, `upstream:github`).
        self.component = "upstream:" + "".join(c for c in name.lower() if c.isalnum())
        self.body_limit = body_limit
        self.base_url = base_url.rstrip("/")
        headers = {"User-Agent": "tmr-registry/0.1", **(extra_headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._retries = retries
        self._backoff = backoff_s
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            follow_redirects=True,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            transport=transport,
        )
        self.calls = 0
        self.failures = 0
        self.last_success_at: float | None = None
        self.last_failure: tuple[float, str] | None = None

    def close(self) -> None:
        self._client.close()

    def _stamp(self) -> float:
        """The wall-clock time of an outcome, never before the previous outcome's: health orders
        the last success and the last failure by these stamps, and the wall clock can step back
        (NTP, a resumed VM) or tick coarsely, which would put a recovery before its failure."""
        now = time.time()
        previous = [self.last_success_at, self.last_failure[0] if self.last_failure is not None else None]
        latest = max((at for at in previous if at is not None), default=None)
        return now if latest is None or now > latest else math.nextafter(latest, math.inf)

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def _sleep_before_retry(self, attempt: int, response: httpx.Response | None) -> None:
        delay = self._backoff * (2**attempt) * (0.5 + random.random() / 2)
        if response is not None:
            hinted = _retry_after(response)
            if hinted is not None:
                delay = min(hinted, MAX_RETRY_AFTER_S)
        time.sleep(delay)

    def _send(self, method: str, path: str, *, stream: bool, **kwargs: Any) -> httpx.Response:
        url = self.url(path)
        last_error = "no attempt made"
        for attempt in range(self._retries + 1):
            self.calls += 1
            response: httpx.Response | None = None
            try:
                request = self._client.build_request(method, url, **kwargs)
                response = self._client.send(request, stream=stream)
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in RETRY_STATUSES:
                    self.last_success_at = self._stamp()
                    return response
                last_error = f"HTTP {response.status_code}"
                response.close()
            if attempt < self._retries:
                log.info("retrying %s %s after %s", method, url, last_error)
                self._sleep_before_retry(attempt, response)
        raise self._down(url, last_error)

    def _down(self, url: str, error: str) -> UpstreamDown:
        """Record a failure after retries (health reads it) and say so: 503 naming the upstream."""
        self.failures += 1
        self.last_failure = (self._stamp(), f"{url}: {error}")
        return UpstreamDown(
            f"{self.name} did not answer {url}: {error}", upstream=self.name, component=self.component
        )

    def request(self, method: str, path: str, *, limit: int | None = None, **kwargs: Any) -> httpx.Response:
        """A buffered response, any non-retryable status (callers decide what a 404 means). The
        body is read as it streams and refused (UpstreamTooLarge) past `limit` bytes (the
        client's body limit by default), so an upstream cannot make the registry hold more."""
        response = self._send(method, path, stream=True, **kwargs)
        what = f"{self.name}'s answer to {path}" + (" (TMR_UPSTREAM_BODY_LIMIT)" if limit is None else "")
        try:
            body = self._read_capped(response, self.body_limit if limit is None else limit, what)
        except httpx.TransportError as exc:  # the connection dropped mid-answer
            raise self._down(self.url(path), f"{type(exc).__name__}: {exc}") from exc
        finally:
            response.close()
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS]
        return httpx.Response(response.status_code, headers=headers, content=body, request=response.request)

    @staticmethod
    def _read_capped(response: httpx.Response, limit: int, what: str) -> bytes:
        check_declared_length(response, limit, what)
        return b"".join(capped(response.iter_bytes(), limit, what))

    def get_json(self, path: str, *, missing: str = "not found", **kwargs: Any) -> Any:
        response = self.request("GET", path, **kwargs)
        self.raise_for_status(response, missing)
        try:
            return response.json()
        except ValueError as exc:
            raise UpstreamUnavailable(
                f"{self.name} sent invalid JSON for {path}", upstream=self.name, component=self.component
            ) from exc

    def raise_for_status(self, response: httpx.Response, missing: str) -> None:
        # The Hub answers 401 "RepoNotFound" for repositories it will not admit exist (private).
        hidden = response.status_code == 401 and response.headers.get("x-error-code") == "RepoNotFound"
        if response.status_code == 404 or hidden:
            raise NotFound(f"{self.name}: {missing}")
        if response.status_code in (401, 403):
            raise UpstreamForbidden(
                f"{self.name} refused access ({response.status_code}): {missing}",
                upstream=self.name,
                component=self.component,
            )
        if response.status_code >= 400:
            raise UpstreamUnavailable(
                f"{self.name} answered HTTP {response.status_code}",
                upstream=self.name,
                component=self.component,
            )

    @contextlib.contextmanager
    def stream(
        self, path: str, *, limit: int | None = None, what: str | None = None, **kwargs: Any
    ) -> Iterator[httpx.Response]:
        """A streamed GET (retried while nothing has been read yet); raise on error statuses (whose
        bodies are read only up to the body limit), and on a declared length over `limit`. The
        caller reads through `capped` to hold an upstream that does not declare its length."""
        response = self._send("GET", path, stream=True, **kwargs)
        try:
            if response.status_code >= 400:
                self._read_capped(response, self.body_limit, f"{self.name}'s error answer to {path}")
                self.raise_for_status(response, f"{path} not found")
            if limit is not None:
                check_declared_length(response, limit, what or f"{self.name}'s answer to {path}")
            yield response
        except httpx.TransportError as exc:  # the connection dropped mid-answer, here or in the caller
            raise self._down(self.url(path), f"{type(exc).__name__}: {exc}") from exc
        finally:
            response.close()
