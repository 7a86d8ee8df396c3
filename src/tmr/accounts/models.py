"""Users, tokens and principals as the accounts domain sees them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Permission(StrEnum):
    """What a user may do besides reading health: `search` lists, finds, reads, rates and
    analyses; `download` takes bytes; `upload` registers, ingests, uploads and changes one's own
    artifacts. Admins hold every permission, whatever their stored set says."""

    UPLOAD = "upload"
    SEARCH = "search"
    DOWNLOAD = "download"


ALL_PERMISSIONS: frozenset[Permission] = frozenset(Permission)


def permissions_named(names: Iterable[str]) -> frozenset[Permission]:
    """The permissions `names` name; unknown names are dropped (never granted)."""
    known = {p.value: p for p in Permission}
    return frozenset(known[n] for n in (x.strip() for x in names) if n in known)


def parse_permissions(names: str) -> frozenset[Permission]:
    """The stored comma-separated form."""
    return permissions_named(names.split(","))


def format_permissions(permissions: frozenset[Permission]) -> str:
    return ",".join(p.value for p in Permission if p in permissions)


@dataclass(frozen=True, slots=True)
class User:
    """An account as stored: its name, role and password hash."""

    name: str
    is_admin: bool
    password_hash: str = ""
    permissions: frozenset[Permission] = field(default=ALL_PERMISSIONS)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who asks. Every service call names one, so that forgetting it cannot grant access: there is
    no "no check" value. `SYSTEM` is the registry itself (rating a parent, mirroring, collecting
    orphans); it is never the result of authenticating a request."""

    name: str
    is_admin: bool = False
    is_system: bool = False
    permissions: frozenset[Permission] = field(default=frozenset())
    token_id: str | None = field(default=None, compare=False)
    """The id of the token the request came with (a password change keeps this one alive)."""

    @classmethod
    def of(cls, user: User, token_id: str | None = None) -> Principal:
        return cls(user.name, user.is_admin, permissions=user.permissions, token_id=token_id)

    def can(self, permission: Permission) -> bool:
        return self.is_admin or permission in self.permissions


SYSTEM = Principal("tmr-system", is_admin=True, is_system=True)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    jti: str
    user_name: str
    issued_at: datetime
    expires_at: datetime
    max_uses: int
