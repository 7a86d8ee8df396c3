from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.support import ADMIN, PASSWORD, PASSWORD_YAML, auth_request
from tmr.accounts.models import User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.container import Registry

PROTECTED = [
    ("POST", "/artifacts", [{"name": "*"}]),
    ("DELETE", "/reset", None),
    ("GET", "/artifacts/model/123", None),
    (
        "PUT",
        "/artifacts/model/123",
        {"metadata": {"name": "a", "id": "123", "type": "model"}, "data": {"url": "https://x/y"}},
    ),
    ("DELETE", "/artifacts/model/123", None),
    ("POST", "/artifact/model", {"url": "https://huggingface.co/a/b"}),
    ("GET", "/artifact/byName/x", None),
    ("POST", "/artifact/byRegEx", {"regex": "x"}),
    ("GET", "/artifact/model/123/audit", None),
    ("GET", "/download/123", None),
]


@pytest.mark.parametrize("password", [PASSWORD, PASSWORD_YAML])
def test_authenticate_returns_a_bearer_token_for_both_spellings(client: TestClient, password: str) -> None:
    response = client.put("/authenticate", json=auth_request(password))
    assert response.status_code == 200
    token = response.json()
    assert isinstance(token, str)
    assert token.startswith("bearer ")
    assert token.count(".") == 2


@pytest.mark.parametrize(
    "body",
    [
        auth_request("wrong"),
        auth_request(PASSWORD[:-1]),
        auth_request(PASSWORD + " "),
        auth_request(PASSWORD.upper()),
        auth_request(PASSWORD, name="nobody"),
        auth_request(PASSWORD, name=ADMIN + "\x00"),  # no backend can hold it: nobody, not a 500
        auth_request("' OR 1=1 --"),
    ],
)
def test_wrong_credentials_are_401(client: TestClient, body: dict[str, object]) -> None:
    assert client.put("/authenticate", json=body).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"user": {"name": ADMIN}},
        {"secret": {"password": PASSWORD}},
        {"user": {"name": ADMIN, "is_admin": True}, "secret": {}},
        {"user": {"name": 5, "is_admin": True}, "secret": {"password": PASSWORD}},
        {"user": "admin", "secret": "pw"},
        [],
    ],
)
def test_malformed_authentication_requests_are_400(client: TestClient, body: object) -> None:
    assert client.put("/authenticate", json=body).status_code == 400


def test_non_json_body_is_400(client: TestClient) -> None:
    response = client.put(
        "/authenticate", content=b"user=admin", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
@pytest.mark.parametrize("header", [None, "", "bearer", "bearer not-a-jwt", "bearer a.b.c", "Basic abc"])
def test_every_contract_endpoint_needs_a_valid_token(
    client: TestClient, method: str, path: str, body: object, header: str | None
) -> None:
    headers = {} if header is None else {"X-Authorization": header}
    assert client.request(method, path, json=body, headers=headers).status_code == 403


def test_token_works_with_and_without_the_bearer_prefix(client: TestClient, auth: dict[str, str]) -> None:
    token = auth["X-Authorization"]
    for value in (token, token.removeprefix("bearer "), "Bearer " + token.removeprefix("bearer ")):
        response = client.post("/artifacts", json=[{"name": "*"}], headers={"X-Authorization": value})
        assert response.status_code == 200, value


def test_a_token_signed_with_another_key_is_refused(
    client: TestClient, make_registry: Callable[..., Registry]
) -> None:
    other = make_registry(jwt_secret="another-secret-another-secret-another-secret")
    with TestClient(create_app(registry=other)) as other_client:
        foreign = other_client.put("/authenticate", json=auth_request()).json()
    assert (
        client.post("/artifacts", json=[{"name": "*"}], headers={"X-Authorization": foreign}).status_code
        == 403
    )


def test_token_expires_after_its_lifetime(make_registry: Callable[..., Registry]) -> None:
    registry = make_registry(token_ttl_s=-1)
    with TestClient(create_app(registry=registry)) as client:
        token = client.put("/authenticate", json=auth_request()).json()
        assert (
            client.post("/artifacts", json=[{"name": "*"}], headers={"X-Authorization": token}).status_code
            == 403
        )


def test_the_1001st_use_of_a_token_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    for i in range(1000):
        response = client.get("/artifact/byName/nothing-here", headers=auth)
        assert response.status_code == 404, (i, response.text)
    assert client.get("/artifact/byName/nothing-here", headers=auth).status_code == 403
    fresh = client.put("/authenticate", json=auth_request()).json()
    assert client.get("/artifact/byName/nothing-here", headers={"X-Authorization": fresh}).status_code == 404


def test_auth_token_setting_is_an_admin_token(make_registry: Callable[..., Registry]) -> None:
    registry = make_registry(auth_token="automation-secret-token")
    with TestClient(create_app(registry=registry)) as client:
        headers = {"X-Authorization": "bearer automation-secret-token"}
        assert client.delete("/reset", headers=headers).status_code == 200
        assert (
            client.delete("/reset", headers={"X-Authorization": "bearer automation-secret-tokeN"}).status_code
            == 403
        )


def test_reset_needs_an_admin(client: TestClient, registry: Registry) -> None:
    registry.store.put_user(User("casey", False, hash_password("pw")))
    token = client.put("/authenticate", json=auth_request("pw", name="casey")).json()
    assert client.delete("/reset", headers={"X-Authorization": token}).status_code == 401


def test_reset_keeps_the_default_admin_and_its_token(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    registry.store.put_user(User("casey", False, hash_password("pw")))
    assert client.delete("/reset", headers=auth).status_code == 200
    assert registry.store.get_user("casey") is None
    assert client.post("/artifacts", json=[{"name": "*"}], headers=auth).json() == []
    assert client.put("/authenticate", json=auth_request()).status_code == 200


def test_public_endpoints_need_no_token(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/health/components").status_code == 200
    assert client.get("/tracks").status_code == 200
    assert client.get("/openapi.json").status_code == 200


# -- non-ASCII credentials: refused with the contract's codes, never a 500 -----------------------


@pytest.mark.parametrize("password", ["pässwörd", PASSWORD + "é", "密码", "\U0001f511"])
def test_a_wrong_non_ascii_password_is_401(client: TestClient, password: str) -> None:
    # The default admin's password is also compared with the course's spellings: that compare
    # must take any text, not only ASCII.
    response = client.put("/authenticate", json=auth_request(password))
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "bad_credentials"


def test_a_non_ascii_password_that_is_right_opens(client: TestClient, registry: Registry) -> None:
    registry.store.put_user(User("zoë", True, hash_password("mot de passe été")))
    response = client.put("/authenticate", json=auth_request("mot de passe été", name="zoë"))
    assert response.status_code == 200, response.text
    assert response.json().startswith("bearer ")


@pytest.mark.parametrize(
    "header",
    [
        "bearer automation-sécret-token".encode(),  # UTF-8, as a client would send text
        "bearer automation-sécret-token".encode("latin-1"),  # HTTP's own header charset
        "tökén".encode(),
    ],
)
def test_a_non_ascii_token_is_403_when_auth_token_is_set(
    make_registry: Callable[..., Registry], header: bytes
) -> None:
    registry = make_registry(auth_token="automation-secret-token")
    with TestClient(create_app(registry=registry)) as client:
        response = client.delete("/reset", headers={"X-Authorization": header})
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "authentication_failed"
        ok = client.delete("/reset", headers={"X-Authorization": "bearer automation-secret-token"})
        assert ok.status_code == 200
