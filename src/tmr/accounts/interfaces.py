"""What the accounts domain needs from storage."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from tmr.accounts.models import IssuedToken, User


class AccountRepository(Protocol):
    def get_user(self, name: str) -> User | None: ...

    def list_users(self) -> list[User]:
        """Every user, by name."""
        ...

    def put_user(self, user: User) -> None:
        """Create or overwrite a user."""
        ...

    def add_user(self, user: User) -> bool:
        """Create a user; False when the name is taken."""
        ...

    def delete_user(self, name: str) -> bool:
        """Remove a user and its tokens; False when there was none."""
        ...

    def delete_users_except(self, keep: Collection[str]) -> None:
        """Remove every other user with their tokens, and forget every sign-in failure."""
        ...

    def add_token(self, token: IssuedToken) -> None: ...

    def spend_token_of(self, jti: str, now: datetime) -> tuple[bool, User | None]:
        """Atomically count one use of a live token, then read its user, in one transaction:
        (False, None) when the token is unknown, expired or used up; (True, None) when its user
        no longer exists."""
        ...

    def revoke_token(self, jti: str) -> None:
        """Spend every remaining use of a token: it is refused from now on."""
        ...

    def revoke_user_tokens(self, name: str, except_jti: str | None = None) -> None:
        """Spend every token of a user (but `except_jti`)."""
        ...

    def sign_in_blocked_until(self, keys: Sequence[str], now: datetime) -> datetime | None:
        """The latest wait still running for any of `keys`, if any."""
        ...

    def count_sign_in_failure(self, key: str, now: datetime, window_s: int) -> int:
        """Count a failure within the current window of `window_s` seconds; the count so far."""
        ...

    def block_sign_in(self, key: str, until: datetime) -> None: ...

    def clear_sign_in_failures(self, key: str) -> None: ...

    def state(self, key: str, default: str) -> str:
        """A registry-wide value, written with `default` the first time (first writer wins)."""
        ...
