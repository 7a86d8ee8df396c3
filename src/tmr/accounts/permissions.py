"""Who may do and see what: the one place the permission and visibility rules live.

Every use-case service calls `require` with the permission its use case needs, so a door (the
contract API, tmr's own routes, the Hugging Face door, the UI, the CLI's server side) cannot forget
it. A refusal names the missing permission. Changing an artifact needs `upload` and its owner (or
an admin): `require_owner`.


Public artifacts (from public upstreams) are for every user. Private ones (uploads, the company's
own) are for their owner and for admins; to anyone else they do not exist (404, never 403), so a
listing or an error cannot reveal a private model's name or id. Every check names its principal:
the registry's own work passes `SYSTEM` explicitly.
"""

from __future__ import annotations

from tmr.accounts.models import Permission, Principal
from tmr.artifacts.interfaces import Scope
from tmr.artifacts.models import Artifact, Visibility
from tmr.errors import PermissionDenied

_DOING = {
    Permission.SEARCH: "list, find, read, rate or analyse artifacts",
    Permission.DOWNLOAD: "download artifacts",
    Permission.UPLOAD: "register, ingest, upload or change artifacts",
}


def require(principal: Principal, permission: Permission) -> None:
    """Refuse (401, as the contract answers a missing permission) unless `principal` holds it."""
    if not principal.can(permission):
        raise PermissionDenied(
            f"the '{permission.value}' permission is needed to {_DOING[permission]}; "
            f"user {principal.name!r} does not have it",
            missing_permission=permission.value,
        )


def require_admin(principal: Principal, what: str) -> None:
    if not principal.is_admin:
        raise PermissionDenied(
            f"only an administrator may {what}; user {principal.name!r} is not one",
            missing_permission="admin",
        )


def require_self_or_admin(principal: Principal, name: str, what: str) -> None:
    if not (principal.is_admin or principal.name == name):
        raise PermissionDenied(
            f"only the user {name!r} or an administrator may {what}", missing_permission="admin"
        )


def is_owner(principal: Principal, artifact: Artifact) -> bool:
    return principal.is_admin or artifact.created_by == principal.name


def require_owner(
    principal: Principal, artifact: Artifact, what: str = "change", permission: Permission = Permission.UPLOAD
) -> None:
    """Changing an artifact (or reading what only its owner may: `permission` says which use):
    the permission, and its owner or an admin."""
    require(principal, permission)
    if not is_owner(principal, artifact):
        raise PermissionDenied(
            f"only the artifact's owner or an administrator may {what} it",
            missing_permission="owner",
        )


def can_read(principal: Principal, artifact: Artifact) -> bool:
    if principal.is_admin or artifact.visibility is Visibility.PUBLIC:
        return True
    return artifact.created_by == principal.name


def scope_for(principal: Principal, *, versioned: bool = False) -> Scope:
    """The listing scope of a principal: admins (and the registry itself) see every artifact."""
    viewer = None if principal.is_admin else principal.name
    return Scope(viewer=viewer, versioned=versioned)
