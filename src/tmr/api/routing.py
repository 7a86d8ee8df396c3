"""Which request bodies the contract's JSON routes read as JSON.

FastAPI reads a body as JSON only when it is declared `application/json` (or `application/*+json`);
any other body reaches validation as raw bytes and fails as a vague 400. But `curl -d`, the README's
own example, declares `application/x-www-form-urlencoded`, and some clients declare nothing. So on
the routes that take a JSON body: an undeclared body, or a form-declared one that is valid JSON, is
read as JSON; any other declared type is refused with 415 naming `application/json`, instead of a
400 that blames the body's fields. Routes without a JSON body field (uploads, form posts) are left
as FastAPI makes them.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response, params
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.types import Message

from tmr.errors import UnsupportedMediaType

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def media_type_of(value: str) -> str:
    """`type/subtype`, lower case, without parameters (parsed as FastAPI itself parses it)."""
    message = email.message.Message()
    message["content-type"] = value
    return message.get_content_type()


def is_json_type(media_type: str) -> bool:
    maintype, _, subtype = media_type.partition("/")
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        return False
    return True


def _declared_json(request: Request, body: bytes | None) -> Request:
    """The same request with `Content-Type: application/json`, for FastAPI to parse; `body`, when
    already read, is replayed to it (the original stream is spent)."""
    scope = dict(request.scope)
    headers = [(k, v) for k, v in request.scope["headers"] if k.lower() != b"content-type"]
    scope["headers"] = [*headers, (b"content-type", JSON.encode())]
    if body is None:
        return Request(scope, request.receive)

    replayed = False

    async def replay() -> Message:
        # The body once; then the client's own stream, which says when it disconnects.
        nonlocal replayed
        if replayed:
            return await request.receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, replay)


class JsonBodyRoute(APIRoute):
    """An APIRoute whose JSON body is read whatever curl declares it to be (see the module)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or isinstance(self.body_field.field_info, params.Form):
            return handler  # no JSON body to read: nothing to decide

        async def json_body_handler(request: Request) -> Response:
            # Headers from the scope, not request.headers: that would cache the ones replaced here.
            declared = Headers(scope=request.scope).get("content-type")
            if not declared:
                return await handler(_declared_json(request, None))
            media_type = media_type_of(declared)
            if is_json_type(media_type):
                return await handler(request)
            body = await request.body()
            if not body:
                return await handler(request)  # nothing to misread: FastAPI says what is missing
            if media_type == FORM and _is_json(body):
                return await handler(_declared_json(request, body))
            raise UnsupportedMediaType(f"a {media_type} body is not accepted here: send {JSON}")

        return json_body_handler
