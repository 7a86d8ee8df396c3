"""Version search (tmr's, beside the contract): exact, bounded range, tilde and caret as npm reads
them, combined with enumerate, byName and byRegEx queries, and paged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.feature.test_uploads import upload
from tests.support import auth_request
from tests.zips import model_files, zip_bytes
from tmr.app import create_app

VERSIONS = ["1.0.0", "1.2.3", "1.2.4-rc.1", "1.2.9", "1.3.0", "2.0.0", "2.1.0", "2.1.1"]


@pytest.fixture(scope="module")
def versioned(
    tmp_path_factory: pytest.TempPathFactory, emulator: Any
) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    from tests.support import make_settings
    from tmr.container import build_registry

    registry = build_registry(
        make_settings(tmp_path_factory.mktemp("versions"), emulator.url, TMR_PAGE_SIZE="2")
    )
    with TestClient(create_app(registry=registry)) as client:
        auth = {"X-Authorization": client.put("/authenticate", json=auth_request()).json()}
        ids = {}
        for seed, version in enumerate(VERSIONS):
            out = upload(
                client, auth, zip_bytes(model_files(seed=seed + 10)), name="acme/bert", version=version
            )
            ids[out["metadata"]["id"]] = version
        other = upload(client, auth, zip_bytes(model_files(seed=99)), name="acme/gpt", version="2.1.0")
        ids[other["metadata"]["id"]] = "gpt 2.1.0"
        upload(client, auth, zip_bytes(model_files(seed=98)), name="acme/bert")  # no version
        yield client, auth, ids
    registry.close()


def versions_of(items: list[dict[str, Any]], ids: dict[str, str]) -> list[str]:
    return sorted(ids[i["id"]] for i in items)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("1.2.3", ["1.2.3"]),
        ("v1.2.3", ["1.2.3"]),
        ("1.2.4-rc.1", ["1.2.4-rc.1"]),
        ("1.2.3-2.1.0", ["1.2.3", "1.2.9", "1.3.0", "2.0.0", "2.1.0"]),
        ("~1.2.0", ["1.2.3", "1.2.9"]),
        ("^1.2.0", ["1.2.3", "1.2.9", "1.3.0"]),
        ("^2.1.0", ["2.1.0", "2.1.1"]),
        ("~2.1", ["2.1.0", "2.1.1"]),
    ],
)
def test_by_name_with_a_version(versioned: Any, query: str, expected: list[str]) -> None:
    client, auth, ids = versioned
    response = client.get("/artifact/byName/acme/bert", params={"version": query}, headers=auth)
    assert response.status_code == 200, response.text
    assert versions_of(response.json(), ids) == expected


def test_no_version_matches_is_404(versioned: Any) -> None:
    client, auth, _ids = versioned
    assert (
        client.get("/artifact/byName/acme/bert", params={"version": "9.0.0"}, headers=auth).status_code == 404
    )
    regex = client.post("/artifact/byRegEx", json={"regex": "bert", "version": "^7"}, headers=auth)
    assert regex.status_code == 404


@pytest.mark.parametrize("bad", ["banana", "1.2.3.4", "", "^", "2.0.0-1.0.0", "1.2-rc.1", "~x"])
def test_a_version_that_is_not_a_version_is_400(versioned: Any, bad: str) -> None:
    client, auth, _ids = versioned
    assert client.get("/artifact/byName/acme/bert", params={"version": bad}, headers=auth).status_code == 400
    body = [{"name": "acme/bert", "version": bad}]
    assert client.post("/artifacts", json=body, headers=auth).status_code == 400
    regex = client.post("/artifact/byRegEx", json={"regex": "bert", "version": bad}, headers=auth)
    assert regex.status_code == 400


def test_regex_with_a_version(versioned: Any) -> None:
    client, auth, ids = versioned
    response = client.post("/artifact/byRegEx", json={"regex": "^acme/", "version": "~2.1.0"}, headers=auth)
    assert response.status_code == 200
    assert versions_of(response.json(), ids) == ["2.1.0", "2.1.1", "gpt 2.1.0"]


def all_pages(client: TestClient, auth: dict[str, str], body: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset: str | None = None
    for _ in range(20):
        response = client.post(
            "/artifacts", json=body, params={"offset": offset} if offset else {}, headers=auth
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page) <= 2  # TMR_PAGE_SIZE
        items += page
        offset = response.headers.get("offset")
        if offset is None:
            return items
    raise AssertionError("paging did not end")


def test_enumerate_with_versions_pages_through_the_union(versioned: Any) -> None:
    client, auth, ids = versioned
    caret = all_pages(client, auth, [{"name": "acme/bert", "version": "^1.0.0"}])
    assert versions_of(caret, ids) == ["1.0.0", "1.2.3", "1.2.9", "1.3.0"]
    union = all_pages(
        client,
        auth,
        [{"name": "acme/bert", "version": "1.0.0"}, {"name": "*", "version": "2.1.0", "types": ["model"]}],
    )
    assert versions_of(union, ids) == ["1.0.0", "2.1.0", "gpt 2.1.0"]
    # A query without a version keeps every artifact it names, versioned or not.
    plain = all_pages(client, auth, [{"name": "acme/bert"}])
    assert len(plain) == len(VERSIONS) + 1
