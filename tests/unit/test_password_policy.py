"""The password and user-name policy, and the sign-in wait schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tmr.accounts.models import Permission, format_permissions, parse_permissions
from tmr.accounts.policy import check_password, check_user_name
from tmr.accounts.throttle import ThrottlePolicy, seconds_until
from tmr.errors import InvalidInput


@pytest.mark.parametrize(
    "password",
    ["violet-kayak-meadow-17", "correct horse battery staple", "Tr0ub4dor&3xyz", "é" * 6 + "-ørbit-93-ßky"],
)
def test_long_unguessable_passwords_pass(password: str) -> None:
    check_password(password, user_name="alice", min_length=12)


@pytest.mark.parametrize(
    ("password", "said"),
    [
        ("short-pw1", "at least 12"),
        ("password123456", "too easy"),
        ("qwertyuiop12", "too easy"),
        ("alicealice2024", "too easy"),
        ("Alice123456789", "too easy"),
        ("1234567890123", "too easy"),
        ("ALICE1234567", "too easy"),
        ("x" * 257, "at most 256"),
        ("tab\there-kayak-99", "control"),
        ("kayak-meadow-17 ", "spaces"),
    ],
)
def test_short_common_or_patterned_passwords_are_refused(password: str, said: str) -> None:
    with pytest.raises(InvalidInput, match=said):
        check_password(password, user_name="alice", min_length=12)


def test_the_user_name_itself_is_refused_whatever_its_case() -> None:
    with pytest.raises(InvalidInput, match="user name"):
        check_password("Quokka-Lantern-93", user_name="quokka-lantern-93", min_length=12)


def test_a_long_guessable_password_is_judged_by_its_head() -> None:
    with pytest.raises(InvalidInput, match="too easy"):
        check_password("a" * 200, user_name="alice", min_length=12)


@pytest.mark.parametrize("name", ["alice", "a", "bob.smith@corp", "x" * 64, "ece30861defaultadminuser"])
def test_good_user_names(name: str) -> None:
    check_user_name(name)


@pytest.mark.parametrize(
    "name", ["", "-lead", "sp ace", "x" * 65, "tmr-system", "TMR-System", "nul\0", "ünï"]
)
def test_bad_user_names(name: str) -> None:
    with pytest.raises(InvalidInput):
        check_user_name(name)


def test_waits_are_free_then_double_up_to_the_cap() -> None:
    policy = ThrottlePolicy(free_per_user=5, max_wait_s=900)
    waits = [policy.wait_after(n, 5).total_seconds() for n in range(1, 17)]
    assert waits[:5] == [0] * 5
    assert waits[5:11] == [1, 2, 4, 8, 16, 32]
    assert waits[-1] == 900
    assert policy.wait_after(10**6, 5) == timedelta(seconds=900)  # no overflow however many
    slower = ThrottlePolicy(first_wait_s=30, max_wait_s=100)
    assert [slower.wait_after(n, 2).total_seconds() for n in range(3, 7)] == [30, 60, 100, 100]


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    now = datetime.now(UTC)
    assert seconds_until(now + timedelta(milliseconds=10), now) == 1
    assert seconds_until(now + timedelta(seconds=2, milliseconds=1), now) == 3
    assert seconds_until(now - timedelta(seconds=5), now) == 1


def test_permissions_round_trip_and_unknown_names_grant_nothing() -> None:
    every = frozenset(Permission)
    assert parse_permissions(format_permissions(every)) == every
    assert parse_permissions("search, root ,download,") == {Permission.SEARCH, Permission.DOWNLOAD}
    assert parse_permissions("") == frozenset()
