"""ASGI middleware: the `/api` prefix of the original deployment, request logs and metrics,
and a cap on request bodies (a huge JSON body is refused before it is read into memory)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool

from tmr.observability.emf import request_metrics
from tmr.observability.metrics import RequestMetrics, RequestSample

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("tmr.request")
_TYPES = ("model", "dataset", "code")


class ApiPrefix:
    """Serve every route under `/api` too, as the original deployment did behind its gateway."""

    def __init__(self, app: ASGIApp, prefix: str = "/api") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == self.prefix or path.startswith(self.prefix + "/"):
                scope = dict(scope)
                scope["path"] = path[len(self.prefix) :] or "/"
                scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)


async def _send_json(send: Send, status: int, body: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    """Refuse JSON bodies over `limit` bytes with 413, whether the length is announced or not.
    Paths matching `exempt` (uploads) enforce their own, larger limits."""

    def __init__(self, app: ASGIApp, limit: int, exempt: re.Pattern[str] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.exempt is not None and self.exempt.fullmatch(scope["path"])):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_big = {"detail": f"request body exceeds {self.limit} bytes", "code": "payload_too_large"}
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _send_json(send, 413, too_big)
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _send_json(send, 413, too_big)


class _BodyTooLarge(Exception):
    pass


class ActivitySink(Protocol):
    """The operations dashboard's recorder (`tmr.observability.activity.ActivityRecorder`)."""

    def request(self, route: str, status: int, latency_s: float) -> None: ...

    def flush_due(self) -> bool: ...

    def flush(self, *, wait: bool = True) -> bool: ...


class RequestLog:
    """One JSON log line and one metrics sample per request, with a request id echoed back; the
    request is also added to the dashboard's per-minute activity, flushed here when due."""

    def __init__(
        self, app: ASGIApp, metrics: RequestMetrics, emf: bool = False, activity: ActivitySink | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.emf = emf  # add CloudWatch embedded metrics to each request's log line
        self.activity = activity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:128] or uuid.uuid4().hex
        aws = scope.get("aws.context")
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = dict(message)
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            latency = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            params = scope.get("path_params") or {}
            artifact_type = params.get("artifact_type")
            if artifact_type not in _TYPES:
                artifact_type = "model" if route.startswith("/artifact/model/") else None
            client = scope.get("client") or ("unknown", 0)
            self.metrics.record(
                RequestSample(
                    time.time(), f"{scope['method']} {route}", status, latency, str(client[0]), artifact_type
                )
            )
            fields: dict[str, Any] = {
                "request_id": request_id,
                "lambda_request_id": getattr(aws, "aws_request_id", None),
                "method": scope["method"],
                "path": scope["path"],
                "route": route,
                "status": status,
                "latency_ms": round(latency * 1000, 3),
            }
            if self.emf:
                fields |= request_metrics(
                    route, scope["method"], status, latency * 1000, int(time.time() * 1000)
                )
            log.info("request", extra=fields)
            if self.activity is not None:
                self.activity.request(f"{scope['method']} {route}", status, latency)
                if self.activity.flush_due():
                    # In a worker thread: the event loop never waits on the database. The flush
                    # never raises; one already under way (another request's) is left alone.
                    await run_in_threadpool(self.activity.flush, wait=False)
