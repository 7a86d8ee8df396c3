"""tmr's user management, beside the contract: create, list, read and delete users, and change
their permissions and passwords. Every rule (who may, what a password must be, which tokens die)
is `AccountService`'s; these routes parse and present."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field, StrictStr

from tmr.accounts.models import Permission, User
from tmr.api.deps import RegistryDep, UserDep
from tmr.api.refusals import NOT_JSON, Responses, refusal
from tmr.api.routing import JsonBodyRoute
from tmr.api.schemas import SecretIn, UserIn, UserOut, _In

router = APIRouter(tags=["users"], route_class=JsonBodyRoute)

NameDep = Annotated[str, Path(description="The user's name.", max_length=256)]
_REFUSALS: Responses = {
    400: refusal("Malformed body, an unknown permission, or a password the policy refuses."),
    401: refusal("The caller lacks the permission (the message names it)."),
    403: refusal("Missing, invalid or expired token."),
    404: refusal("No user by this name."),
}


class NewUserIn(_In):
    user: UserIn
    secret: SecretIn
    permissions: list[Permission] = Field(
        default_factory=list,
        description="upload, search and/or download; none when absent. Admins hold all three.",
    )


class PermissionsIn(_In):
    permissions: list[Permission]


class PasswordIn(_In):
    old_password: StrictStr | None = Field(
        default=None, description="Required when users change their own password."
    )
    new_password: StrictStr


class UserAccountOut(BaseModel):
    user: UserOut
    permissions: list[Permission] = Field(description="The stored permissions.")
    effective_permissions: list[Permission] = Field(
        description="What the user may do: every permission for an admin."
    )


def _out(user: User) -> UserAccountOut:
    held = frozenset(Permission) if user.is_admin else user.permissions
    return UserAccountOut(
        user=UserOut(name=user.name, is_admin=user.is_admin),
        permissions=[p for p in Permission if p in user.permissions],
        effective_permissions=[p for p in Permission if p in held],
    )


@router.post(
    "/users",
    status_code=201,
    response_model=UserAccountOut,
    summary="Create a user (admin)",
    responses={**_REFUSALS, 409: refusal("A user by this name exists."), **NOT_JSON},
)
def create_user(registry: RegistryDep, user: UserDep, body: NewUserIn) -> UserAccountOut:
    created = registry.accounts.create_user(
        user,
        body.user.name,
        body.secret.password,
        is_admin=bool(body.user.is_admin),
        permissions=frozenset(body.permissions),
    )
    return _out(created)


@router.get("/users", response_model=list[UserAccountOut], summary="List users (admin)", responses=_REFUSALS)
def list_users(registry: RegistryDep, user: UserDep) -> list[UserAccountOut]:
    return [_out(u) for u in registry.accounts.list_users(user)]


@router.get(
    "/users/{name}", response_model=UserAccountOut, summary="Read a user (self or admin)", responses=_REFUSALS
)
def read_user(registry: RegistryDep, user: UserDep, name: NameDep) -> UserAccountOut:
    return _out(registry.accounts.user(user, name))


@router.delete(
    "/users/{name}",
    status_code=204,
    summary="Delete a user and revoke its tokens (self or admin)",
    responses={**_REFUSALS, 409: refusal("The default administrator cannot be deleted.")},
)
def delete_user(registry: RegistryDep, user: UserDep, name: NameDep) -> Response:
    registry.accounts.delete_user(user, name)
    return Response(status_code=204)


@router.put(
    "/users/{name}/permissions",
    response_model=UserAccountOut,
    summary="Replace a user's permissions (admin)",
    responses={**_REFUSALS, **NOT_JSON},
)
def set_permissions(
    registry: RegistryDep, user: UserDep, name: NameDep, body: PermissionsIn
) -> UserAccountOut:
    return _out(registry.accounts.set_permissions(user, name, frozenset(body.permissions)))


@router.put(
    "/users/{name}/password",
    status_code=204,
    summary="Change a password (self with the old password, or admin); the user's other tokens are revoked",
    responses={
        **_REFUSALS,
        409: refusal("The default administrator's password is a setting."),
        429: refusal("Too many wrong old passwords: wait `Retry-After` seconds."),
        **NOT_JSON,
    },
)
def set_password(registry: RegistryDep, user: UserDep, name: NameDep, body: PasswordIn) -> Response:
    registry.accounts.set_password(user, name, body.new_password, body.old_password)
    return Response(status_code=204)
