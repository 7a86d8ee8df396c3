"""argon2id on a bounded pool, and the same work for an unknown user as for a wrong password."""

from __future__ import annotations

from typing import Any

import pytest

from tmr.accounts import passwords
from tmr.accounts.models import User
from tmr.accounts.service import AccountService
from tmr.errors import BadCredentials, Busy


class Users:
    """The few repository calls `authenticate` makes, in memory."""

    def __init__(self, *users: User) -> None:
        self.users = {u.name: u for u in users}
        self.tokens: list[Any] = []
        self.failures: dict[str, int] = {}

    def get_user(self, name: str) -> User | None:
        return self.users.get(name)

    def add_token(self, token: Any) -> None:
        self.tokens.append(token)

    def state(self, key: str, default: str) -> str:
        return default

    # Sign-in failures, counted but never long enough here to impose a wait.
    def sign_in_blocked_until(self, keys: Any, now: Any) -> None:
        return None

    def count_sign_in_failure(self, key: str, now: Any, window_s: int) -> int:
        self.failures[key] = self.failures.get(key, 0) + 1
        return self.failures[key]

    def clear_sign_in_failures(self, key: str) -> None:
        self.failures.pop(key, None)


class CountingHasher:
    """The real argon2 hasher, counting the verifications it does."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[str] = []

    def hash(self, password: str) -> str:
        return str(self.real.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        self.calls.append(password_hash)
        return bool(self.real.verify(password_hash, password))


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    hasher = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    return hasher.calls


def test_an_unknown_user_costs_one_hash_and_gets_the_same_answer(verifications: list[str]) -> None:
    alice = User("alice", False, passwords.hash_password("alice-password"))
    users = Users(alice)
    service = AccountService(
        users,  # type: ignore[arg-type]
        admin_name="admin",
        admin_passwords=("x",),
        token_ttl_s=60,
        token_max_uses=10,
        jwt_secret="k" * 32,
    )
    with pytest.raises(BadCredentials) as wrong:
        service.authenticate("alice", "not-her-password")
    assert len(verifications) == 1
    with pytest.raises(BadCredentials) as unknown:
        service.authenticate("nobody", "not-her-password")
    assert len(verifications) == 2  # a hash was checked for the unknown name too
    assert unknown.value.message == wrong.value.message
    assert users.failures == {"user:alice": 1, "user:nobody": 1}  # both counted alike
    assert service.authenticate("alice", "alice-password").startswith("bearer ")


def test_verify_nobody_never_matches() -> None:
    assert passwords.verify_nobody("") is False
    assert passwords.verify_nobody("anything") is False


def test_hashing_waits_for_a_slot_and_then_says_come_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "WAIT_S", 0.01)
    held = 0
    try:
        while passwords._slots.acquire(blocking=False):
            held += 1
        assert held == passwords.SLOTS
        with pytest.raises(Busy) as refused:
            passwords.hash_password("pw")
        assert refused.value.details["retry_after"] == 5
        with pytest.raises(Busy):
            passwords.verify_password("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA", "pw")
    finally:
        for _ in range(held):
            passwords._slots.release()
    assert passwords.verify_password(passwords.hash_password("pw"), "pw") is True  # slots back
