"""Which bodies the JSON routes read as JSON: declared JSON as is, an undeclared body or a
form-declared one that is valid JSON as JSON, any other declared type refused with 415. The route's
handler is called directly with a request scope and a scripted body stream."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from typing import Any

import pytest
from fastapi import FastAPI, Form
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.requests import Request
from starlette.types import Message

from tmr.api.routing import JsonBodyRoute, _declared_json, _is_json, is_json_type, media_type_of
from tmr.errors import UnsupportedMediaType


class Query(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()
    app.router.route_class = JsonBodyRoute

    @app.post("/artifacts")
    def enumerate_(query: Query) -> dict[str, str]:
        return {"got": query.name}

    @app.post("/form")
    def form(name: str = Form()) -> dict[str, str]:
        return {"form": name}

    return app


def _route(app: FastAPI, path: str) -> JsonBodyRoute:
    route = next(r for r in app.router.routes if getattr(r, "path", None) == path)
    assert isinstance(route, JsonBodyRoute)
    return route


def _call(path: str, body: bytes, content_type: str | None) -> Response:
    app = _app()
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": headers,
        "query_string": b"",
        "app": app,
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    handler: Any = _route(app, path).get_route_handler()

    async def run() -> Response:
        # The exit stacks FastAPI's own middleware would put in the scope.
        async with AsyncExitStack() as outer, AsyncExitStack() as inner, AsyncExitStack() as function:
            scope["fastapi_middleware_astack"] = outer
            scope["fastapi_inner_astack"] = inner
            scope["fastapi_function_astack"] = function
            response: Response = await handler(Request(scope, receive))
            return response

    return asyncio.run(run())


def _json(response: Response) -> Any:
    return json.loads(bytes(response.body))


def test_media_types_are_read_as_fastapi_reads_them() -> None:
    assert media_type_of("Application/JSON; charset=utf-8") == "application/json"
    assert media_type_of("text/plain") == "text/plain"
    assert is_json_type("application/json")
    assert is_json_type("application/vnd.api+json")
    assert not is_json_type("text/json")
    assert not is_json_type("application/x-www-form-urlencoded")


def test_is_json() -> None:
    assert _is_json(b'{"name": "x"}')
    assert _is_json(b"[]")
    assert not _is_json(b"name=x")
    assert not _is_json(b"\xff\xfe")


def test_declared_json_replaces_the_content_type_and_replays_the_body() -> None:
    async def receive() -> Message:
        return {"type": "http.disconnect"}

    original = Request(
        {"type": "http", "headers": [(b"content-type", b"text/plain"), (b"x-a", b"1")]}, receive
    )
    replaced = _declared_json(original, b'{"a": 1}')
    assert replaced.scope["headers"] == [(b"x-a", b"1"), (b"content-type", b"application/json")]

    async def read() -> tuple[Message, Message]:
        return await replaced.receive(), await replaced.receive()

    first, then = asyncio.run(read())
    assert first == {"type": "http.request", "body": b'{"a": 1}', "more_body": False}
    assert then == {"type": "http.disconnect"}
    assert _declared_json(original, None).receive is receive


def test_declared_json_is_read_as_is() -> None:
    assert _json(_call("/artifacts", b'{"name": "bert"}', "application/json")) == {"got": "bert"}


def test_an_undeclared_body_is_read_as_json() -> None:
    assert _json(_call("/artifacts", b'{"name": "bert"}', None)) == {"got": "bert"}


def test_curl_form_declared_json_is_read_as_json() -> None:
    response = _call("/artifacts", b'{"name": "bert"}', "application/x-www-form-urlencoded")
    assert _json(response) == {"got": "bert"}


def test_other_declared_types_are_refused_with_415() -> None:
    with pytest.raises(UnsupportedMediaType) as refused:
        _call("/artifacts", b'{"name": "bert"}', "text/plain")
    assert refused.value.message == "a text/plain body is not accepted here: send application/json"
    with pytest.raises(UnsupportedMediaType, match=r"^a application/x-www-form-urlencoded body"):
        _call("/artifacts", b"name=bert", "application/x-www-form-urlencoded")


def test_form_routes_are_left_as_fastapi_makes_them() -> None:
    assert _json(_call("/form", b"name=bert", "application/x-www-form-urlencoded")) == {"form": "bert"}
