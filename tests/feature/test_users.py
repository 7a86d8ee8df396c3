"""tmr's users API: creating, reading, listing and deleting users, their permissions and passwords,
and slowed sign-ins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import ADMIN, auth_request
from tmr.accounts.models import Permission, Principal
from tmr.accounts.service import AccountService
from tmr.accounts.throttle import ThrottlePolicy
from tmr.app import create_app
from tmr.container import Registry
from tmr.errors import BadCredentials, TooManyAttempts, Unauthenticated

GOOD = "violet-kayak-meadow-17"


def new_user(
    name: str, permissions: list[str] | None = None, password: str = GOOD, **user: Any
) -> dict[str, Any]:
    return {
        "user": {"name": name, "is_admin": False, **user},
        "secret": {"password": password},
        "permissions": ["search"] if permissions is None else permissions,
    }


def login(client: TestClient, name: str, password: str = GOOD) -> dict[str, str]:
    response = client.put("/authenticate", json=auth_request(password, name))
    assert response.status_code == 200, response.text
    return {"X-Authorization": response.json()}


def test_an_admin_creates_a_user_who_can_then_sign_in(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/users", json=new_user("alice", ["search", "download"]), headers=auth)
    assert response.status_code == 201, response.text
    assert response.json() == {
        "user": {"name": "alice", "is_admin": False},
        "permissions": ["search", "download"],
        "effective_permissions": ["search", "download"],
    }
    alice = login(client, "alice")
    assert client.get("/users/alice", headers=alice).json()["permissions"] == ["search", "download"]
    names = [u["user"]["name"] for u in client.get("/users", headers=auth).json()]
    assert names == sorted(names)
    assert {"alice", ADMIN} <= set(names)


def test_a_taken_name_is_409_and_the_first_user_is_untouched(
    client: TestClient, auth: dict[str, str]
) -> None:
    assert client.post("/users", json=new_user("alice"), headers=auth).status_code == 201
    response = client.post(
        "/users", json=new_user("alice", ["upload"], password="other-kayak-meadow-99"), headers=auth
    )
    assert response.status_code == 409
    assert "alice" in response.json()["detail"]
    login(client, "alice")  # the first password still opens
    assert client.get("/users/alice", headers=auth).json()["permissions"] == ["search"]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (new_user("bob", password="short-pw1"), "at least 12 characters"),
        (new_user("bob", password="password123456"), "too easy to guess"),
        (new_user("bob", password="bobbobbobbobbob"), "too easy to guess"),
        (new_user("bob", password="x" * 300), "at most 256"),
        (new_user("bob", password=" " + GOOD), "spaces"),
        (new_user("bob", ["fly"]), "upload"),
        (new_user("bad name!"), "user name"),
        (new_user("tmr-system"), "reserved"),
        ({"user": {"name": "bob"}}, "secret"),
        ({"user": {"name": "bob"}, "secret": {"password": 5}}, "password"),
    ],
)
def test_bad_users_are_400_and_nothing_is_created(
    client: TestClient, auth: dict[str, str], body: dict[str, Any], said: str
) -> None:
    response = client.post("/users", json=body, headers=auth)
    assert response.status_code == 400, response.text
    assert said in response.text
    assert client.get("/users/bob", headers=auth).status_code == 404


def test_permissions_change_on_the_next_request(client: TestClient, auth: dict[str, str]) -> None:
    client.post("/users", json=new_user("carol", ["search"]), headers=auth)
    carol = login(client, "carol")
    assert client.post("/artifacts", json=[{"name": "*"}], headers=carol).status_code == 200
    response = client.put("/users/carol/permissions", json={"permissions": ["download"]}, headers=auth)
    assert response.status_code == 200
    assert response.json()["permissions"] == ["download"]
    refused = client.post("/artifacts", json=[{"name": "*"}], headers=carol)
    assert refused.status_code == 401
    assert refused.json()["details"] == {"missing_permission": "search"}
    assert client.put("/users/nobody/permissions", json={"permissions": []}, headers=auth).status_code == 404


def test_deleting_a_user_revokes_its_tokens(client: TestClient, auth: dict[str, str]) -> None:
    client.post("/users", json=new_user("dave"), headers=auth)
    first, second = login(client, "dave"), login(client, "dave")
    assert client.delete("/users/dave", headers=first).status_code == 204  # oneself
    for token in (first, second):
        response = client.post("/artifacts", json=[{"name": "*"}], headers=token)
        assert response.status_code == 403
    assert client.get("/users/dave", headers=auth).status_code == 404
    assert client.delete("/users/dave", headers=auth).status_code == 404
    # A user made again under the name does not inherit the old tokens.
    client.post("/users", json=new_user("dave"), headers=auth)
    assert client.post("/artifacts", json=[{"name": "*"}], headers=first).status_code == 403


def test_an_admin_deletes_others_and_the_default_admin_stays(
    client: TestClient, auth: dict[str, str]
) -> None:
    client.post("/users", json=new_user("erin"), headers=auth)
    client.post("/users", json=new_user("frank"), headers=auth)
    frank = login(client, "frank")
    assert client.delete("/users/erin", headers=frank).status_code == 401  # not oneself, not an admin
    assert client.delete("/users/erin", headers=auth).status_code == 204
    response = client.delete(f"/users/{ADMIN}", headers=auth)
    assert response.status_code == 409
    assert client.post("/artifacts", json=[{"name": "*"}], headers=auth).status_code == 200


def test_a_user_changes_its_password_with_the_old_one(client: TestClient, auth: dict[str, str]) -> None:
    client.post("/users", json=new_user("gina"), headers=auth)
    current, other = login(client, "gina"), login(client, "gina")
    new = "amber-walrus-orbit-42"
    missing = client.put("/users/gina/password", json={"new_password": new}, headers=current)
    assert missing.status_code == 400
    assert "old_password" in missing.text
    wrong = client.put(
        "/users/gina/password", json={"old_password": "not-it-at-all", "new_password": new}, headers=current
    )
    assert wrong.status_code == 401
    weak = client.put(
        "/users/gina/password", json={"old_password": GOOD, "new_password": "qwertyuiop12"}, headers=current
    )
    assert weak.status_code == 400
    ok = client.put("/users/gina/password", json={"old_password": GOOD, "new_password": new}, headers=current)
    assert ok.status_code == 204
    assert client.post("/artifacts", json=[{"name": "*"}], headers=current).status_code == 200  # kept
    assert client.post("/artifacts", json=[{"name": "*"}], headers=other).status_code == 403  # revoked
    assert client.put("/authenticate", json=auth_request(GOOD, "gina")).status_code == 401
    login(client, "gina", new)


def test_an_admin_resets_a_password_without_the_old_one(client: TestClient, auth: dict[str, str]) -> None:
    client.post("/users", json=new_user("hank"), headers=auth)
    hank = login(client, "hank")
    new = "granite-pelican-dusk-08"
    assert client.put("/users/hank/password", json={"new_password": new}, headers=auth).status_code == 204
    assert client.post("/artifacts", json=[{"name": "*"}], headers=hank).status_code == 403
    login(client, "hank", new)
    other = login(client, "hank", new)
    assert (
        client.put(f"/users/{ADMIN}/password", json={"new_password": new}, headers=other).status_code == 401
    )
    assert client.put(f"/users/{ADMIN}/password", json={"new_password": new}, headers=auth).status_code == 409


@pytest.fixture
def slow_client(make_registry: Callable[..., Registry]) -> Iterator[TestClient]:
    """A registry whose first wait (an hour) outlasts any test, so no answer depends on timing."""
    registry = make_registry(sign_in_free_per_user=3, sign_in_first_wait_s=3600, sign_in_max_wait_s=3600)
    with TestClient(create_app(registry=registry)) as test_client:
        yield test_client


def test_failed_sign_ins_are_slowed_per_user_with_retry_after(slow_client: TestClient) -> None:
    client = slow_client
    auth = login(client, ADMIN, auth_request()["secret"]["password"])
    client.post("/users", json=new_user("ivy"), headers=auth)
    statuses = [
        client.put("/authenticate", json=auth_request("wrong-guess", "ivy")).status_code for _ in range(4)
    ]
    assert statuses == [401] * 4  # three free failures, the fourth imposes a wait
    response = client.put("/authenticate", json=auth_request(GOOD, "ivy"))  # even the right password
    assert response.status_code == 429
    assert 3500 < int(response.headers["Retry-After"]) <= 3600
    assert "try again" in response.json()["detail"]
    # Another user from the same address is not held up by ivy's wait.
    login(client, ADMIN, auth_request()["secret"]["password"])


def test_an_unknown_user_gets_the_same_answers(slow_client: TestClient) -> None:
    statuses = [
        slow_client.put("/authenticate", json=auth_request("wrong-guess", "nobody")).status_code
        for _ in range(5)
    ]
    assert statuses == [401] * 4 + [429]


def test_the_defaults_leave_room_for_mistakes(client: TestClient) -> None:
    """Ten wrong passwords in a row (a person, or a client's own tests of its error handling) do
    not keep the right one out."""
    for _ in range(10):
        assert client.put("/authenticate", json=auth_request("wrong-guess", ADMIN)).status_code == 401
    login(client, ADMIN, auth_request()["secret"]["password"])


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)  # moved by the test only; long past

    def __call__(self) -> datetime:
        return self.now


def accounts(registry: Registry, clock: Clock, **options: Any) -> AccountService:
    """The registry's accounts over its own store, on a clock the test moves."""
    settings = registry.settings
    return AccountService(
        registry.store,
        admin_name=settings.admin_user,
        admin_passwords=settings.passwords,
        token_ttl_s=settings.token_ttl_s,
        token_max_uses=settings.token_max_uses,
        jwt_secret=settings.jwt_secret,
        clock=clock,
        **options,
    )


def test_waits_double_and_expire_and_a_window_forgets(registry: Registry) -> None:
    clock = Clock()
    service = accounts(
        registry, clock, throttle=ThrottlePolicy(window_s=600, free_per_user=2, free_per_address=100)
    )
    admin = Principal(ADMIN, is_admin=True)
    service.create_user(admin, "jill", GOOD, is_admin=False, permissions=frozenset({Permission.SEARCH}))
    for _ in range(2):
        with pytest.raises(BadCredentials):
            service.authenticate("jill", "wrong-guess", "10.0.0.1")
    with pytest.raises(BadCredentials):
        service.authenticate("jill", "wrong-guess", "10.0.0.1")  # the third: a 1 s wait
    with pytest.raises(TooManyAttempts) as waited:
        service.authenticate("jill", GOOD, "10.0.0.1")
    assert waited.value.details["retry_after"] == 1
    clock.now += timedelta(seconds=1)
    with pytest.raises(BadCredentials):
        service.authenticate("jill", "wrong-guess", "10.0.0.1")  # the fourth: 2 s
    with pytest.raises(TooManyAttempts) as waited:
        service.authenticate("jill", GOOD, "10.0.0.2")  # the wait is the user's, from anywhere
    assert waited.value.details["retry_after"] == 2
    clock.now += timedelta(seconds=2)
    assert service.authenticate("jill", GOOD, "10.0.0.1").startswith("bearer ")  # a success clears
    for _ in range(2):
        with pytest.raises(BadCredentials):
            service.authenticate("jill", "wrong-guess", "10.0.0.1")
    clock.now += timedelta(seconds=601)  # the window has passed: the count starts again
    with pytest.raises(BadCredentials):
        service.authenticate("jill", "wrong-guess", "10.0.0.1")
    assert service.authenticate("jill", GOOD, "10.0.0.1")


def test_one_address_guessing_many_names_is_slowed(registry: Registry) -> None:
    clock = Clock()
    service = accounts(registry, clock, throttle=ThrottlePolicy(free_per_user=100, free_per_address=3))
    for name in ("u1", "u2", "u3", "u4"):
        with pytest.raises(BadCredentials):
            service.authenticate(name, "wrong-guess", "10.9.9.9")
    with pytest.raises(TooManyAttempts):
        service.authenticate("u5", "wrong-guess", "10.9.9.9")
    with pytest.raises(BadCredentials):
        service.authenticate("u5", "wrong-guess", "10.9.9.8")  # another address is not held


def test_a_token_expires_by_time_on_the_servers_record(registry: Registry) -> None:
    clock = Clock()
    service = accounts(registry, clock)
    token = service.authenticate(ADMIN, registry.settings.passwords[0])
    assert service.check(token).name == ADMIN
    clock.now += timedelta(seconds=registry.settings.token_ttl_s - 1)
    assert service.check(token).is_admin
    clock.now += timedelta(seconds=2)
    with pytest.raises(Unauthenticated):
        service.check(token)


def test_a_token_expires_by_count(registry: Registry) -> None:
    service = accounts(registry, Clock())
    token = service.issue(Principal(ADMIN, is_admin=True), max_uses=3)
    for _ in range(3):
        service.check(token)
    with pytest.raises(Unauthenticated, match="used up"):
        service.check(token)
