"""How domain errors, validation failures and routing errors become HTTP answers. The handlers are
called directly with a request scope (no server, no client): the status, headers and body each
error maps to are the contract clients depend on."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tmr.api.errors import install_error_handlers
from tmr.errors import (
    BlobStoreUnavailable,
    Busy,
    DatabaseUnavailable,
    DiskFull,
    InvalidInput,
    NotFound,
    RangeNotSatisfiable,
    StorageUnavailable,
    TmrError,
    UpstreamDown,
    UpstreamUnavailable,
)


def _app() -> FastAPI:
    app = FastAPI()
    router = APIRouter()

    @router.get("/artifacts/{type_}/{ident}")
    def read(type_: str, ident: str) -> None: ...

    @router.put("/artifacts/{type_}/{ident}")
    def write(type_: str, ident: str) -> None: ...

    @app.delete("/artifacts/{type_}/{ident}")
    def delete(type_: str, ident: str) -> None: ...

    @app.get("/health")
    def health() -> None: ...

    app.include_router(router)
    install_error_handlers(app)
    return app


def _request(app: FastAPI, path: str = "/x", method: str = "GET") -> Request:
    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": b"", "app": app}
    return Request(scope)


def _answer(
    app: FastAPI, exc: Exception, key: type[Exception], path: str = "/x", method: str = "GET"
) -> JSONResponse:
    handler: Any = app.exception_handlers[key]
    response: JSONResponse = asyncio.run(handler(_request(app, path, method), exc))
    return response


def _body(response: JSONResponse) -> Any:
    return json.loads(bytes(response.body))


def test_a_domain_error_answers_its_status_code_and_details() -> None:
    app = _app()
    response = _answer(app, NotFound("no artifact with id 7", id="7"), TmrError)
    assert response.status_code == 404
    assert _body(response) == {"detail": "no artifact with id 7", "code": "not_found", "details": {"id": "7"}}


def test_details_are_left_out_when_empty() -> None:
    response = _answer(_app(), InvalidInput("bad"), TmrError)
    assert (response.status_code, _body(response)) == (400, {"detail": "bad", "code": "invalid_input"})


def test_retry_after_and_content_range_headers() -> None:
    app = _app()
    busy = _answer(app, Busy("later", retry_after=5), TmrError)
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "5"
    not_int = _answer(app, Busy("later", retry_after=True), TmrError)
    assert "retry-after" not in not_int.headers
    ranged = _answer(app, RangeNotSatisfiable("no", length=10), TmrError)
    assert ranged.status_code == 416
    assert ranged.headers["content-range"] == "bytes */10"
    unknown = _answer(app, RangeNotSatisfiable("no"), TmrError)
    assert unknown.headers["content-range"] == "bytes */*"


def test_storage_errors_hide_the_drivers_text() -> None:
    response = _answer(_app(), StorageUnavailable("could not connect to db.internal:5432 as tmr"), TmrError)
    assert response.status_code == 503
    assert _body(response) == {
        "detail": "storage unavailable",
        "code": "storage_unavailable",
        "details": {"component": "storage", "retry_after": 5},
    }


@pytest.mark.parametrize(
    ("error", "code", "component", "words", "retry_after"),
    [
        (DatabaseUnavailable, "database_unavailable", "database", "database", "5"),
        (BlobStoreUnavailable, "blob_store_unavailable", "blob_store", "blob store", "5"),
        (DiskFull, "disk_full", "disk", "disk is full", "30"),
    ],
)
def test_a_failed_component_is_named_with_a_retry_after(
    error: type[StorageUnavailable], code: str, component: str, words: str, retry_after: str
) -> None:
    response = _answer(_app(), error("connection to db.internal:5432 as tmr failed: /srv/x"), TmrError)
    body = _body(response)
    assert (response.status_code, body["code"], body["details"]["component"]) == (503, code, component)
    assert words in body["detail"]
    assert response.headers["retry-after"] == retry_after
    assert "db.internal" not in response.body.decode()


def test_an_upstream_that_did_not_answer_is_503_naming_it() -> None:
    down = UpstreamDown(
        "Hugging Face did not answer", upstream="Hugging Face", component="upstream:huggingface"
    )
    response = _answer(_app(), down, TmrError)
    assert (response.status_code, response.headers["retry-after"]) == (503, "10")
    assert _body(response)["details"]["component"] == "upstream:huggingface"
    garbage = _answer(_app(), UpstreamUnavailable("invalid JSON", component="upstream:github"), TmrError)
    assert (garbage.status_code, "retry-after" in garbage.headers) == (502, False)


def test_validation_failures_are_400_naming_the_first_problem() -> None:
    exc = RequestValidationError(
        [
            {"loc": ("query", "limit"), "msg": "Input should be a valid integer", "type": "int_parsing"},
            {"loc": ("body",), "msg": "Field required", "type": "missing"},
        ]
    )
    response = _answer(_app(), exc, RequestValidationError)
    assert response.status_code == 400
    assert _body(response) == {
        "detail": "invalid request: query.limit: Input should be a valid integer",
        "code": "invalid_input",
        "details": {
            "errors": [
                {"loc": ["query", "limit"], "msg": "Input should be a valid integer"},
                {"loc": ["body"], "msg": "Field required"},
            ]
        },
    }


def test_a_validation_failure_without_errors_still_answers() -> None:
    response = _answer(_app(), RequestValidationError([]), RequestValidationError)
    assert _body(response)["detail"] == "invalid request: : invalid request"


def test_405_allows_every_method_of_the_resource() -> None:
    app = _app()
    exc = HTTPException(405, "Method Not Allowed")
    response = _answer(app, exc, HTTPException, "/artifacts/model/7", "POST")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PUT"
    assert _body(response) == {"detail": "Method Not Allowed", "code": "http_error"}


def test_other_http_errors_keep_their_headers() -> None:
    response = _answer(_app(), HTTPException(404, "Not Found", headers={"X-A": "1"}), HTTPException)
    assert response.status_code == 404
    assert response.headers["x-a"] == "1"
    assert "allow" not in response.headers


def test_unexpected_errors_are_a_bare_500() -> None:
    response = _answer(_app(), RuntimeError("secret path /etc/x"), Exception)
    assert (response.status_code, _body(response)) == (
        500,
        {"detail": "internal error", "code": "internal_error"},
    )
