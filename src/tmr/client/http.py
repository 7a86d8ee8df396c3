"""Requests to a registry: the token on each, and every refusal turned into a ClientError that
carries the server's message and the exit code its status means."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import httpx

from tmr.client.config import Target
from tmr.client.errors import ClientError, ExitCode, exit_code_for

# Generous reads: an upload is answered only once it is exploded, judged and rated.
TIMEOUT = httpx.Timeout(300.0, connect=10.0)
NOT_SIGNED_IN = "run `tmr login` or set TMR_TOKEN"


def refusal(response: httpx.Response) -> ClientError:
    """The error a refused answer means, with the server's own words (`detail`, `code`, `details`)."""
    status = response.status_code
    message, code, details = f"HTTP {status}", None, None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("error")
        message = str(detail) if detail else message
        code = body.get("code") if isinstance(body.get("code"), str) else None
        given = body.get("details")
        extra: dict[str, Any] = given if isinstance(given, dict) else {}
        failed = body.get("failed_metrics")
        details = {**extra, **({"failed_metrics": failed} if failed else {})}
    elif response.text.strip():
        message = response.text.strip()[:300]
    if status == 403 and code == "authentication_failed":
        message = f"{message} ({NOT_SIGNED_IN})"
    if status in (429, 503) and "retry-after" in response.headers:
        message = f"{message} (retry after {response.headers['retry-after']} s)"
    return ClientError(message, exit_code_for(status), status=status, code=code, details=details)


def unreachable(url: str, exc: httpx.HTTPError) -> ClientError:
    return ClientError(f"cannot reach the registry at {url}: {exc}", ExitCode.UNAVAILABLE)


def segment(value: str, *, slashes: bool = False) -> str:
    """One path segment (or, for names, several), percent-encoded."""
    return quote(value, safe="/" if slashes else "")


class RegistryClient:
    """One registry, one connection pool; `with RegistryClient(target) as client: ...`."""

    def __init__(self, target: Target, transport: httpx.BaseTransport | None = None) -> None:
        self.target = target
        headers = {"User-Agent": "tmr-cli"}
        if target.authorization:
            headers["X-Authorization"] = target.authorization
        self._http = httpx.Client(base_url=target.url, headers=headers, timeout=TIMEOUT, transport=transport)

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        content: Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        ok: Iterable[int] = (200, 201, 204),
    ) -> httpx.Response:
        try:
            response = self._http.request(
                method, path, json=json, params=params, content=content, headers=headers
            )
        except httpx.HTTPError as exc:
            raise unreachable(self.target.url, exc) from None
        if response.status_code not in set(ok):
            raise refusal(response)
        return response

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.send("GET", path, **kwargs).json()

    def post_json(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.send("POST", path, json=body, **kwargs).json()

    @contextlib.contextmanager
    def stream(
        self, path: str, *, params: dict[str, str], headers: dict[str, str]
    ) -> Iterator[httpx.Response]:
        """A GET whose body is read as it arrives; redirects are not followed (see `elsewhere`)."""
        try:
            with self._http.stream("GET", path, params=params, headers=headers) as response:
                yield response
        except httpx.TransportError as exc:
            raise unreachable(self.target.url, exc) from None

    @staticmethod
    @contextlib.contextmanager
    def elsewhere(url: str, headers: dict[str, str]) -> Iterator[httpx.Response]:
        """A GET of a redirect's target (a presigned S3 URL) without the registry's token, which
        must never leave for another host."""
        try:
            with (
                httpx.Client(timeout=TIMEOUT) as plain,
                plain.stream("GET", url, headers=headers) as response,
            ):
                yield response
        except httpx.TransportError as exc:
            raise unreachable(url.split("?", 1)[0], exc) from None
