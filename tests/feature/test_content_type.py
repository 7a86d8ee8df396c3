"""Which Content-Type a JSON body may arrive with: the README's curl examples (`curl -d`, which
declares application/x-www-form-urlencoded) must work as written, and a body declared as something
else is refused with 415 naming application/json, not a 400 blaming its fields."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.feature.conftest import BERT
from tests.support import auth_request
from tests.zips import model_files, zip_bytes

CURL_FORM = "application/x-www-form-urlencoded"  # what `curl -d` declares
QUERY = b'[{"name":"*"}]'  # the README's enumerate example, byte for byte


def post_artifacts(client: TestClient, auth: dict[str, str], body: bytes, content_type: str | None) -> Any:
    headers = auth | ({} if content_type is None else {"Content-Type": content_type})
    return client.post("/artifacts", content=body, headers=headers)


def assert_415_naming_json(response: Any) -> None:
    assert response.status_code == 415, response.text
    assert response.json()["code"] == "unsupported_media_type"
    assert "application/json" in response.json()["detail"]


@pytest.mark.parametrize(
    "content_type",
    [
        CURL_FORM,  # curl -d, as the README has it
        None,  # no Content-Type at all
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON; charset=UTF-8",
        "application/vnd.api+json",
        f"{CURL_FORM}; charset=utf-8",
    ],
)
def test_a_json_body_is_read_whatever_curl_declares(
    client: TestClient, auth: dict[str, str], content_type: str | None
) -> None:
    response = post_artifacts(client, auth, QUERY, content_type)
    assert response.status_code == 200, response.text
    assert response.json() == []  # an empty registry: the query ran


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (QUERY, "text/plain"),
        (QUERY, "text/plain; charset=utf-8"),
        (QUERY, "application/xml"),
        (QUERY, "multipart/form-data; boundary=x"),
        (b"name=%2A", CURL_FORM),  # a real form, not JSON
        (b"\xff\xfe[{", CURL_FORM),  # not even text
    ],
)
def test_a_body_declared_as_something_else_is_415_naming_json(
    client: TestClient, auth: dict[str, str], body: bytes, content_type: str
) -> None:
    assert_415_naming_json(post_artifacts(client, auth, body, content_type))


def test_a_multipart_form_is_415(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/artifacts", files={"query": ("q.json", QUERY, "application/json")}, headers=auth)
    assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert_415_naming_json(response)


def test_invalid_json_without_a_content_type_is_still_400(client: TestClient, auth: dict[str, str]) -> None:
    response = post_artifacts(client, auth, b'[{"name":', None)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_input"


def test_an_empty_body_is_the_usual_400_whatever_its_type(client: TestClient, auth: dict[str, str]) -> None:
    for content_type in (None, "text/plain", CURL_FORM):
        response = post_artifacts(client, auth, b"", content_type)
        assert response.status_code == 400, (content_type, response.text)
        assert response.json()["code"] == "invalid_input"


def test_authenticate_accepts_curl_d_and_refuses_text(client: TestClient) -> None:
    body = json.dumps(auth_request()).encode()
    for content_type in (CURL_FORM, None):
        headers = {} if content_type is None else {"Content-Type": content_type}
        response = client.put("/authenticate", content=body, headers=headers)
        assert response.status_code == 200, (content_type, response.text)
        assert response.json().startswith("bearer ")
    assert_415_naming_json(client.put("/authenticate", content=body, headers={"Content-Type": "text/plain"}))


def test_registering_accepts_curl_d_and_refuses_multipart(client: TestClient, auth: dict[str, str]) -> None:
    body = json.dumps({"url": BERT}).encode()
    response = client.post("/artifact/model", content=body, headers=auth | {"Content-Type": CURL_FORM})
    assert response.status_code == 201, response.text
    assert response.json()["metadata"]["name"] == "bert-base-uncased"
    refused = client.post(
        "/artifact/model",
        content=body,
        headers=auth | {"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert_415_naming_json(refused)


def test_the_upload_route_keeps_its_own_zip_body(client: TestClient, auth: dict[str, str]) -> None:
    params = {"name": "acme/typed"}
    as_json = client.post(
        "/artifact/model/upload", params=params, content=QUERY, headers=auth | {"Content-Type": CURL_FORM}
    )
    assert as_json.status_code == 415, as_json.text
    assert "application/zip" in as_json.json()["detail"]  # its own rule, not the JSON routes'
    stored = client.post(
        "/artifact/model/upload",
        params=params,
        content=zip_bytes(model_files()),
        headers=auth | {"Content-Type": "application/zip"},
    )
    assert stored.status_code == 201, stored.text
    assert stored.json()["metadata"]["name"] == "acme/typed"
