"""What the accounts domain needs from storage."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from tmr.accounts.models import IssuedToken, User


class AccountRepository(Protocol):
    def get_user(self, name: str) -> User | None: ...

    def put_user(self, user: User) -> None:
        """Create or overwrite a user."""
        ...

    def delete_users_except(self, keep: Collection[str]) -> None:
        """Remove every other user with their tokens."""
        ...

    def add_token(self, token: IssuedToken) -> None: ...

    def spend_token(self, jti: str, now: datetime) -> bool:
        """Atomically count one use of a live token; False when unknown, expired or used up."""
        ...

    def revoke_token(self, jti: str) -> None:
        """Spend every remaining use of a token: it is refused from now on."""
        ...

    def state(self, key: str, default: str) -> str:
        """A registry-wide value, written with `default` the first time (first writer wins)."""
        ...
