"""Users, tokens and principals as the accounts domain sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class User:
    """An account as stored: its name, role and password hash."""

    name: str
    is_admin: bool
    password_hash: str = ""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who asks. Every service call names one, so that forgetting it cannot grant access: there is
    no "no check" value. `SYSTEM` is the registry itself (rating a parent, mirroring, collecting
    orphans); it is never the result of authenticating a request."""

    name: str
    is_admin: bool = False
    is_system: bool = False

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(user.name, user.is_admin)


SYSTEM = Principal("tmr-system", is_admin=True, is_system=True)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    jti: str
    user_name: str
    issued_at: datetime
    expires_at: datetime
    max_uses: int
