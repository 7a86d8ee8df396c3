"""Users and tokens as the accounts domain sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class User:
    name: str
    is_admin: bool
    password_hash: str = ""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    jti: str
    user_name: str
    issued_at: datetime
    expires_at: datetime
    max_uses: int
