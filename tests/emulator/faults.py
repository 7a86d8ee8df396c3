"""Fault injection and request accounting for the emulator.

One thread-safe `FaultController` is shared by the ASGI middleware (which applies faults) and by tests,
either in-process (`server.faults`) or over HTTP (`/_emulator/...`) for an emulator running in another
process. Faults let tests exercise retries, timeouts, rate limits and digest checks deterministically.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_PREFIX = "/_emulator"
GITHUB_PREFIX = "/github"
HOLD_MAX_S = 60.0  # a held request answers by itself after this long: a broken test cannot hang


@dataclass
class FaultRule:
    """One injected fault; `remaining` is None for an unlimited rule."""

    path_regex: str
    status: int | None = None
    remaining: int | None = None
    delay_s: float = 0.0
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    corrupt: bool = False
    hold: bool = False
    reset: bool = False
    hits: int = 0

    def applies(self, method: str, path: str) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.corrupt and self.status is None and method != "GET":
            return False  # corruption needs a body: HEAD requests neither match nor consume the rule
        return re.search(self.path_regex, path) is not None

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        data["body"] = None if self.body is None else base64.b64encode(self.body).decode()
        return data


@dataclass(frozen=True)
class Decision:
    """What the middleware must do with one request."""

    delay_s: float = 0.0
    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    corrupt: bool = False
    hold: bool = False
    reset: bool = False


class FaultController:
    """Thread-safe registry of fault rules, global latency, request log and last Authorization headers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._latency = 0.0
        self._seen: Counter[tuple[str, str]] = Counter()
        self._log: list[tuple[str, str]] = []
        self._auth: dict[str, str | None] = {"hf": None, "github": None}
        self.github_rate_limit: int | None = 5000
        self._github_used = 0
        self._released = threading.Event()
        self._released.set()

    def add(
        self,
        path_regex: str,
        status: int | None = None,
        times: int | None = None,
        delay_s: float = 0.0,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        corrupt: bool = False,
        hold: bool = False,
        reset: bool = False,
    ) -> FaultRule:
        """Add a rule; the first still-active rule whose regex is found in the URL path wins.

        `hold=True` keeps each matching request waiting until `release()` (or `clear()`, or
        HOLD_MAX_S), so a test can act while the registry is mid-operation; `reset=True` sends
        the answer's headers and half its first body chunk, then drops the connection."""
        re.compile(path_regex)
        if status is None and not corrupt and delay_s <= 0 and not hold and not reset:
            raise ValueError("a fault needs a status, a delay, a hold, a reset or corrupt=True")
        rule = FaultRule(path_regex, status, times, delay_s, body, dict(headers or {}), corrupt, hold, reset)
        with self._lock:
            if hold:
                self._released.clear()
            self._rules.append(rule)
        return rule

    def release(self) -> None:
        """Let every held request (and every later one) go on."""
        self._released.set()

    async def wait_released(self) -> None:
        await asyncio.to_thread(self._released.wait, HOLD_MAX_S)

    def rate_limit(self, path_regex: str = "", times: int | None = 1, retry_after: int = 1) -> FaultRule:
        """Realistic rate-limit answers: GitHub primary limit (403) under /github, Hub 429 elsewhere."""
        if path_regex.startswith(GITHUB_PREFIX) or path_regex.startswith("^" + GITHUB_PREFIX):
            return self.add(
                path_regex,
                403,
                times,
                headers={
                    "x-ratelimit-limit": "5000",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-used": "5000",
                    "x-ratelimit-reset": "0",
                    "retry-after": str(retry_after),
                },
                body=b'{"message":"API rate limit exceeded","documentation_url":'
                b'"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}',
            )
        return self.add(path_regex, 429, times, headers={"Retry-After": str(retry_after)})

    def set_latency(self, seconds: float) -> None:
        """Add `seconds` of latency to every (non-control) request."""
        with self._lock:
            self._latency = max(0.0, float(seconds))

    @property
    def latency(self) -> float:
        return self._latency

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        """Remove all rules and latency, and reset request counters, auth records and rate-limit usage."""
        self._released.set()
        with self._lock:
            self._rules.clear()
            self._latency = 0.0
            self._seen.clear()
            self._log.clear()
            self._auth = {"hf": None, "github": None}
            self._github_used = 0

    def requests_seen(self, path_regex: str = "", method: str | None = None) -> int:
        """How many requests (since the last clear) had a path matching `path_regex`."""
        pattern = re.compile(path_regex)
        with self._lock:
            return sum(
                n
                for (m, p), n in self._seen.items()
                if pattern.search(p) and (method is None or m == method.upper())
            )

    def requests_log(self) -> list[tuple[str, str]]:
        """Every request (since the last clear) as (method, raw path), in arrival order: the path
        still percent-encoded as the client sent it, so a test sees an encoded `/` or `..` too."""
        with self._lock:
            return list(self._log)

    def last_authorization(self, service: str = "hf") -> str | None:
        """The last Authorization header sent to the "hf" or "github" routes (None if none was sent)."""
        with self._lock:
            return self._auth[service]

    def set_github_rate_limit(self, limit: int | None) -> None:
        """Set the GitHub core budget (None = unlimited); later calls get 403 with remaining 0."""
        with self._lock:
            self.github_rate_limit = limit

    def github_budget(self, count: bool = True) -> tuple[int, int, bool]:
        """Count one GitHub API call; return (limit, remaining, exceeded) for the x-ratelimit-* headers."""
        with self._lock:
            self._github_used += 1 if count else 0
            limit = self.github_rate_limit if self.github_rate_limit is not None else 1_000_000
            exceeded = self.github_rate_limit is not None and self._github_used > limit
            return limit, max(0, limit - self._github_used), exceeded

    def on_request(
        self, method: str, path: str, authorization: str | None, raw_path: str | None = None
    ) -> Decision:
        """Record the request and decide which fault (if any) applies to it."""
        with self._lock:
            self._seen[(method, path)] += 1
            self._log.append((method, path if raw_path is None else raw_path))
            service = "github" if path.startswith(GITHUB_PREFIX) else "hf"
            if authorization is not None:
                self._auth[service] = authorization
            for rule in self._rules:
                if rule.applies(method, path):
                    rule.hits += 1
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return Decision(
                        self._latency + rule.delay_s,
                        rule.status,
                        rule.body,
                        rule.headers,
                        rule.corrupt,
                        rule.hold,
                        rule.reset,
                    )
            return Decision(self._latency)


def _default_body(path: str, status: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    key = "message" if path.startswith(GITHUB_PREFIX) else "error"
    return json.dumps({key: reason}).encode() if status >= 400 else b""


def _corrupting(send: Send) -> Send:
    """Wrap `send` so the first non-empty body chunk gets one byte flipped (length and headers unchanged)."""
    done = False

    async def wrapped(message: Message) -> None:
        nonlocal done
        if message["type"] == "http.response.body" and not done and message.get("body"):
            body = bytearray(message["body"])
            body[len(body) // 2] ^= 0xFF
            message = {**message, "body": bytes(body)}
            done = True
        await send(message)

    return wrapped


class InjectedReset(Exception):
    """Raised after a partial answer: the server then drops the connection mid-body."""


def _resetting(send: Send) -> Send:
    """Wrap `send` so the answer stops halfway through its first body chunk, connection dropped."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.body":
            body = message.get("body", b"")
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise InjectedReset("connection reset by the emulator's fault injection")
        await send(message)

    return wrapped


class FaultMiddleware:
    """ASGI middleware applying the controller's decision to each request outside /_emulator."""

    def __init__(self, app: ASGIApp, controller: FaultController) -> None:
        self.app = app
        self.controller = controller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw = scope.get("raw_path")
        decision = self.controller.on_request(
            scope["method"],
            scope["path"],
            headers.get("authorization"),
            raw.decode("latin-1") if isinstance(raw, bytes) else None,
        )
        if decision.delay_s > 0:
            await asyncio.sleep(decision.delay_s)
        if decision.hold:
            await self.controller.wait_released()
        if decision.status is not None:
            body = (
                decision.body if decision.body is not None else _default_body(scope["path"], decision.status)
            )
            response = Response(
                body, decision.status, headers=decision.headers, media_type="application/json"
            )
            await response(scope, receive, send)
            return
        if decision.reset:
            send = _resetting(send)
        await self.app(scope, receive, _corrupting(send) if decision.corrupt else send)


def _rule_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    body = data.get("body")
    if data.get("body_b64") is not None:
        body = base64.b64decode(data["body_b64"])
    elif isinstance(body, str):
        body = body.encode()
    return {
        "path_regex": str(data.get("path_regex", "")),
        "status": data.get("status"),
        "times": data.get("times"),
        "delay_s": float(data.get("delay_s", 0.0)),
        "body": body,
        "headers": data.get("headers"),
        "corrupt": bool(data.get("corrupt", False)),
        "hold": bool(data.get("hold", False)),
        "reset": bool(data.get("reset", False)),
    }


def control_routes(controller: FaultController) -> list[Route]:
    """HTTP control plane so a test can drive an emulator started in another process."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            controller.clear()
            return JSONResponse({"cleared": True})
        if request.method == "POST":
            payload = await request.json()
            items = payload if isinstance(payload, list) else [payload]
            try:
                for item in items:
                    if "latency_s" in item:
                        controller.set_latency(item["latency_s"])
                    if item.get("release"):
                        controller.release()
                    if "path_regex" in item:
                        controller.add(**_rule_kwargs(item))
            except (ValueError, TypeError, re.error) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(
            {"latency_s": controller.latency, "rules": [r.describe() for r in controller.rules()]}
        )

    async def requests(request: Request) -> Response:
        regex = request.query_params.get("path_regex", "")
        return JSONResponse(
            {
                "count": controller.requests_seen(regex, request.query_params.get("method")),
                "last_authorization": {s: controller.last_authorization(s) for s in ("hf", "github")},
            }
        )

    return [
        Route(CONTROL_PREFIX + "/health", health, methods=["GET"]),
        Route(CONTROL_PREFIX + "/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route(CONTROL_PREFIX + "/requests", requests, methods=["GET"]),
    ]
