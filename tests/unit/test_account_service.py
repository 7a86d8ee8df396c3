"""AccountService over an in-memory account store: sign-in with throttling, token budgets and
revocation, form keys, and who may manage which user. Password hashing is replaced by a cheap
stand-in (argon2's cost is tested in test_passwords); the rules around it are what is tested here."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tmr.accounts import service as service_module
from tmr.accounts.models import ALL_PERMISSIONS, SYSTEM, IssuedToken, Permission, Principal, User
from tmr.accounts.service import AccountService
from tmr.accounts.throttle import ThrottlePolicy
from tmr.errors import (
    BadCredentials,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooManyAttempts,
    Unauthenticated,
)

SECRET = "unit-test-secret-of-enough-length-for-hs256"
# The service checks JWT expiry against its own clock, not the wall clock: a start long past
# shows that (every token would have expired by the wall clock).
START = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
GOOD = "correct horse battery staple"


@dataclass
class MemoryAccounts:
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    uses: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    blocks: dict[str, datetime] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)

    def get_user(self, name: str) -> User | None:
        return self.users.get(name)

    def list_users(self) -> list[User]:
        return [self.users[n] for n in sorted(self.users)]

    def put_user(self, user: User) -> None:
        self.users[user.name] = user

    def add_user(self, user: User) -> bool:
        if user.name in self.users:
            return False
        self.users[user.name] = user
        return True

    def delete_user(self, name: str) -> bool:
        return self.users.pop(name, None) is not None

    def delete_users_except(self, keep: Collection[str]) -> None:
        self.users = {n: u for n, u in self.users.items() if n in keep}
        self.failures.clear()

    def add_token(self, token: IssuedToken) -> None:
        self.tokens[token.jti] = token
        self.uses[token.jti] = 0

    def spend_token_of(self, jti: str, now: datetime) -> tuple[bool, User | None]:
        token = self.tokens.get(jti)
        if token is None or now >= token.expires_at or self.uses[jti] >= token.max_uses:
            return False, None
        self.uses[jti] += 1
        return True, self.users.get(token.user_name)

    def revoke_token(self, jti: str) -> None:
        if jti in self.tokens:
            self.uses[jti] = self.tokens[jti].max_uses

    def revoke_user_tokens(self, name: str, except_jti: str | None = None) -> None:
        for jti, token in self.tokens.items():
            if token.user_name == name and jti != except_jti:
                self.revoke_token(jti)

    def sign_in_blocked_until(self, keys: Sequence[str], now: datetime) -> datetime | None:
        running = [self.blocks[k] for k in keys if k in self.blocks and self.blocks[k] > now]
        return max(running) if running else None

    def count_sign_in_failure(self, key: str, now: datetime, window_s: int) -> int:
        self.failures[key] = self.failures.get(key, 0) + 1
        return self.failures[key]

    def block_sign_in(self, key: str, until: datetime) -> None:
        self.blocks[key] = until

    def clear_sign_in_failures(self, key: str) -> None:
        self.failures.pop(key, None)

    def state(self, key: str, default: str) -> str:
        return self.states.setdefault(key, default)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A reversible stand-in for argon2, so each test runs in microseconds."""
    monkeypatch.setattr(service_module, "hash_password", lambda password: "h:" + password)
    monkeypatch.setattr(service_module, "verify_password", lambda stored, password: stored == "h:" + password)
    monkeypatch.setattr(service_module, "verify_nobody", lambda password: False)
    return


def _service(
    repo: MemoryAccounts | None = None, clock: Clock | None = None, **kwargs: object
) -> tuple[AccountService, MemoryAccounts, Clock]:
    repo = repo or MemoryAccounts()
    clock = clock or Clock()
    options: dict[str, object] = {
        "admin_name": "ece30861defaultadminuser",
        "admin_passwords": ("first-admin-password", "second spelling"),
        "token_ttl_s": 36000,
        "token_max_uses": 3,
        "jwt_secret": SECRET,
        "throttle": ThrottlePolicy(free_per_user=2, free_per_address=5, first_wait_s=4, max_wait_s=10),
    }
    options.update(kwargs)
    service = AccountService(repo, clock=clock, **options)  # type: ignore[arg-type]
    service.ensure_default_admin()
    return service, repo, clock


ADMIN = Principal("ece30861defaultadminuser", is_admin=True)


def _with_user(name: str = "carol", password: str = GOOD) -> tuple[AccountService, MemoryAccounts, Clock]:
    service, repo, clock = _service()
    service.create_user(ADMIN, name, password, is_admin=False, permissions=frozenset({Permission.SEARCH}))
    return service, repo, clock


def test_default_admin_is_created_with_the_first_password() -> None:
    _, repo, _ = _service()
    assert repo.users["ece30861defaultadminuser"] == User(
        "ece30861defaultadminuser", True, "h:first-admin-password"
    )


def test_default_admin_is_rewritten_when_its_password_changed() -> None:
    repo = MemoryAccounts(users={"ece30861defaultadminuser": User("ece30861defaultadminuser", True, "h:old")})
    _service(repo)
    assert repo.users["ece30861defaultadminuser"].password_hash == "h:first-admin-password"


def test_secret_is_shared_through_the_store_when_not_configured() -> None:
    repo = MemoryAccounts(states={"jwt_secret": SECRET})
    service, _, _ = _service(repo, jwt_secret=None)
    token = service.authenticate("ece30861defaultadminuser", "first-admin-password")
    # Only the signature is checked here: the token's times are the fake clock's.
    claims = jwt.decode(
        token.removeprefix("bearer "), SECRET, algorithms=["HS256"], options={"verify_exp": False}
    )
    assert claims["sub"] == "ece30861defaultadminuser"
    assert claims["adm"] is True


def test_authenticate_issues_a_bearer_token_the_check_accepts() -> None:
    service, repo, _ = _with_user()
    token = service.authenticate("carol", GOOD)
    assert token.startswith("bearer ")
    principal = service.check(token)
    assert (principal.name, principal.is_admin, principal.permissions) == (
        "carol",
        False,
        frozenset({Permission.SEARCH}),
    )
    [issued] = repo.tokens.values()
    assert principal.token_id == issued.jti
    assert issued.expires_at - issued.issued_at == timedelta(hours=10)
    assert issued.max_uses == 3


def test_the_admin_opens_with_either_spelling_of_its_password() -> None:
    service, _, _ = _service()
    assert service.check(service.authenticate("ece30861defaultadminuser", "second spelling")).is_admin
    with pytest.raises(BadCredentials, match=r"^the user or password is invalid$"):
        service.authenticate("ece30861defaultadminuser", "pässword")


def test_the_alternative_spelling_opens_only_the_admin() -> None:
    service, _, _ = _with_user()
    with pytest.raises(BadCredentials):
        service.authenticate("carol", "second spelling")


def test_unknown_user_fails_like_a_wrong_password() -> None:
    service, repo, _ = _service()
    with pytest.raises(BadCredentials, match=r"^the user or password is invalid$"):
        service.authenticate("nobody", "whatever", client="10.0.0.1")
    assert repo.failures == {"user:nobody": 1, "addr:10.0.0.1": 1}


def test_failures_beyond_the_free_ones_start_a_doubling_wait() -> None:
    service, repo, clock = _with_user()
    for _ in range(3):
        with pytest.raises(BadCredentials):
            service.authenticate("Carol", "wrong")
    assert repo.blocks == {"user:carol": START + timedelta(seconds=4)}
    with pytest.raises(TooManyAttempts, match=r"try again in 4 s$") as refused:
        service.authenticate("carol", GOOD)
    assert refused.value.details == {"retry_after": 4}
    clock.now = START + timedelta(seconds=5)
    with pytest.raises(BadCredentials):
        service.authenticate("carol", "wrong")
    assert repo.blocks["user:carol"] == clock.now + timedelta(seconds=8)


def test_a_success_clears_the_users_failures() -> None:
    service, repo, _ = _with_user()
    with pytest.raises(BadCredentials):
        service.authenticate("carol", "wrong")
    service.authenticate("carol", GOOD)
    assert "user:carol" not in repo.failures


def test_a_token_is_refused_once_its_uses_are_spent() -> None:
    service, _, _ = _with_user()
    token = service.authenticate("carol", GOOD)
    for _ in range(3):
        service.check(token)
    with pytest.raises(Unauthenticated, match=r"^the token has expired, been used up or been revoked$"):
        service.check(token)


def test_check_refuses_missing_malformed_and_expired_tokens() -> None:
    service, _, _clock = _with_user()
    with pytest.raises(Unauthenticated, match=r"^missing X-Authorization header$"):
        service.check("  ")
    with pytest.raises(Unauthenticated, match=r"^missing X-Authorization header$"):
        service.check(None)
    with pytest.raises(Unauthenticated, match=r"^the token is not valid$"):
        service.check("bearer not.a.jwt")
    expired = jwt.encode(
        {"sub": "carol", "jti": "x", "exp": int((START - timedelta(seconds=1)).timestamp())},
        SECRET,
        algorithm="HS256",
    )
    with pytest.raises(Unauthenticated, match=r"^the token has expired$"):
        service.check(expired)


def test_a_token_expires_when_the_service_s_clock_passes_its_exp() -> None:
    service, _, clock = _with_user()
    token = service.authenticate("carol", GOOD)
    exp = jwt.decode(
        token.removeprefix("bearer "), SECRET, algorithms=["HS256"], options={"verify_exp": False}
    )["exp"]
    clock.now = datetime.fromtimestamp(exp, UTC) - timedelta(seconds=1)
    assert service.check(token).name == "carol"
    clock.now = datetime.fromtimestamp(exp, UTC)
    with pytest.raises(Unauthenticated, match=r"^the token has expired$"):
        service.check(token)  # the JWT's own exp said so, in the words of the JWT check


def test_a_token_without_a_numeric_exp_is_not_valid() -> None:
    service, _, _ = _with_user()
    for exp in ({}, {"exp": "soon"}):
        forged = jwt.encode({"sub": "carol", "jti": "x", **exp}, SECRET, algorithm="HS256")
        with pytest.raises(Unauthenticated, match=r"^the token is not valid$"):
            service.check(forged)


def test_check_accepts_the_token_without_its_prefix_in_any_case() -> None:
    service, _, _ = _with_user()
    raw = service.authenticate("carol", GOOD).removeprefix("bearer ")
    assert service.check(raw).name == "carol"
    assert service.check("  BEARER " + raw).name == "carol"


def test_a_deleted_users_token_names_nobody() -> None:
    service, repo, _ = _with_user()
    token = service.authenticate("carol", GOOD)
    del repo.users["carol"]
    with pytest.raises(Unauthenticated, match=r"^the token's user no longer exists$"):
        service.check(token)


def test_static_admin_token_is_an_admin_with_every_permission() -> None:
    service, _, _ = _service(static_admin_token="static-secret")
    principal = service.check("bearer static-secret")
    assert principal == Principal("ece30861defaultadminuser", is_admin=True, permissions=ALL_PERMISSIONS)


def test_revoke_ends_a_token_and_ignores_garbage() -> None:
    service, _, _ = _with_user()
    token = service.authenticate("carol", GOOD)
    service.revoke("garbage")
    service.revoke(token)
    with pytest.raises(Unauthenticated, match=r"been revoked$"):
        service.check(token)


def test_issue_sizes_the_budget_between_one_and_a_hundred_sessions() -> None:
    service, repo, _ = _with_user()
    carol = Principal("carol")
    service.issue(carol, 0)
    service.issue(carol, 10_000)
    assert sorted(t.max_uses for t in repo.tokens.values()) == [1, 300]


def test_issue_refuses_the_system_and_unknown_users() -> None:
    service, _, _ = _service()
    with pytest.raises(Unauthenticated, match=r"^no such user$"):
        service.issue(Principal("ghost"), 5)
    with pytest.raises(Unauthenticated, match=r"^no such user$"):
        service.issue(replace(SYSTEM, name="ece30861defaultadminuser"), 5)


def test_form_key_binds_a_form_to_its_session() -> None:
    service, _, _ = _with_user()
    one = service.authenticate("carol", GOOD)
    two = service.authenticate("carol", GOOD)
    key = service.form_key(one)
    assert len(key) == 64
    assert key != service.form_key(two)
    assert service.check_form_key(one, key)
    assert not service.check_form_key(two, key)
    assert not service.check_form_key(one, None)
    assert not service.check_form_key("garbage", key)


def test_token_ttl_is_reported_in_seconds() -> None:
    service, _, _ = _service(token_ttl_s=90)
    assert service.token_ttl_s == 90


def test_reset_keeps_only_the_default_admin() -> None:
    service, repo, _ = _with_user()
    service.reset()
    assert list(repo.users) == ["ece30861defaultadminuser"]


def test_only_admins_create_and_list_users() -> None:
    service, _, _ = _with_user()
    carol = Principal("carol", permissions=ALL_PERMISSIONS)
    with pytest.raises(
        PermissionDenied, match=r"^only an administrator may create users; user 'carol' is not one$"
    ):
        service.create_user(carol, "dave", GOOD, is_admin=False, permissions=frozenset())
    with pytest.raises(PermissionDenied, match=r"may list users"):
        service.list_users(carol)
    assert [u.name for u in service.list_users(ADMIN)] == ["carol", "ece30861defaultadminuser"]


def test_create_user_checks_name_password_and_uniqueness() -> None:
    service, _, _ = _with_user()
    with pytest.raises(Conflict, match=r"^a user named 'carol' already exists$"):
        service.create_user(ADMIN, "carol", GOOD, is_admin=False, permissions=frozenset())
    with pytest.raises(InvalidInput, match=r"^the password must be at least 12 characters long$"):
        service.create_user(ADMIN, "dave", "short", is_admin=False, permissions=frozenset())


def test_user_is_visible_to_itself_and_admins() -> None:
    service, _, _ = _with_user()
    assert service.user(Principal("carol"), "carol").name == "carol"
    with pytest.raises(
        PermissionDenied, match=r"^only the user 'carol' or an administrator may see this user$"
    ):
        service.user(Principal("dave"), "carol")
    with pytest.raises(NotFound, match=r"^no user named 'dave'$"):
        service.user(ADMIN, "dave")


def test_delete_user_spares_the_default_admin() -> None:
    service, repo, _ = _with_user()
    with pytest.raises(Conflict, match=r"^the default administrator cannot be deleted$"):
        service.delete_user(ADMIN, "ece30861defaultadminuser")
    service.delete_user(Principal("carol"), "carol")
    assert "carol" not in repo.users
    with pytest.raises(NotFound, match=r"^no user named 'carol'$"):
        service.delete_user(ADMIN, "carol")


def test_set_permissions_replaces_the_set() -> None:
    service, repo, _ = _with_user()
    changed = service.set_permissions(ADMIN, "carol", frozenset({Permission.DOWNLOAD}))
    assert changed.permissions == frozenset({Permission.DOWNLOAD})
    assert repo.users["carol"].password_hash == "h:" + GOOD
    with pytest.raises(NotFound):
        service.set_permissions(ADMIN, "ghost", frozenset())
    with pytest.raises(PermissionDenied, match=r"may change permissions"):
        service.set_permissions(Principal("carol"), "carol", ALL_PERMISSIONS)


def test_own_password_change_needs_the_old_one_and_keeps_the_asking_token() -> None:
    service, repo, _ = _with_user()
    first = service.authenticate("carol", GOOD)
    second = service.authenticate("carol", GOOD)
    me = service.check(first)
    with pytest.raises(InvalidInput, match=r"^old_password is required to change one's own password$"):
        service.set_password(me, "carol", "a brand new passphrase", None)
    with pytest.raises(BadCredentials):
        service.set_password(me, "carol", "a brand new passphrase", "wrong")
    service.set_password(me, "carol", "a brand new passphrase", GOOD)
    assert repo.users["carol"].password_hash == "h:a brand new passphrase"
    assert service.check(first).name == "carol"
    with pytest.raises(Unauthenticated):
        service.check(second)


def test_admin_sets_anyones_password_without_the_old_one() -> None:
    service, repo, _ = _with_user()
    token = service.authenticate("carol", GOOD)
    service.set_password(ADMIN, "carol", "a brand new passphrase", None)
    assert repo.users["carol"].password_hash == "h:a brand new passphrase"
    with pytest.raises(Unauthenticated):
        service.check(token)


def test_password_of_the_default_admin_and_of_nobody_cannot_be_set() -> None:
    service, _, _ = _service()
    with pytest.raises(Conflict, match=r"^the default administrator's password is the registry's setting"):
        service.set_password(ADMIN, "ece30861defaultadminuser", GOOD, None)
    with pytest.raises(NotFound, match=r"^no user named 'ghost'$"):
        service.set_password(ADMIN, "ghost", GOOD, None)
