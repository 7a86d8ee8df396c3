"""Domain errors and request-validation failures become HTTP answers here, and only here."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from tmr.errors import RangeNotSatisfiable, TmrError

log = logging.getLogger("tmr.api")


def _body(detail: str, code: str, details: object = None) -> dict[str, object]:
    body: dict[str, object] = {"detail": detail, "code": code}
    if details:
        body["details"] = details
    return body


def _routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, those of included routers too (FastAPI may wrap an included router)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from _routes(inner.routes) if inner is not None else (route,)


def _allowed_methods(app: FastAPI, request: Request) -> list[str]:
    methods: set[str] = set()
    for route in _routes(app.router.routes):
        match, _ = route.matches(request.scope)
        if match is Match.PARTIAL:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TmrError)
    async def _domain(_request: Request, exc: TmrError) -> JSONResponse:
        if exc.status_code >= 500:
            log.warning("%s: %s %s", exc.code, exc.message, exc.details or "")
        headers = None
        if isinstance(exc, RangeNotSatisfiable):
            headers = {"Content-Range": f"bytes */{exc.details.get('length', '*')}"}
        message, details = exc.public()
        retry_after = details.get("retry_after")
        if isinstance(retry_after, int) and not isinstance(retry_after, bool):
            headers = {"Retry-After": str(retry_after)}  # Busy, and whatever else says when to retry
        return JSONResponse(
            _body(message, exc.code, details or None), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # The contract answers every malformed request with 400, not FastAPI's 422.
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()
        ]
        first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return JSONResponse(
            _body(f"invalid request: {where}: {first['msg']}", "invalid_input", {"errors": problems}),
            status_code=400,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; RFC 9110 wants every
            # method the resource supports (GET, PUT and DELETE on /artifacts/{type}/{id}).
            headers["Allow"] = ", ".join(_allowed_methods(app, request))
        return JSONResponse(
            _body(str(exc.detail), "http_error"), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(_body("internal error", "internal_error"), status_code=500)
