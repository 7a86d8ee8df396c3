"""Users in the browser: everyone's own account (permissions, password), and the administrators'
user list (create, change permissions, delete).

Each form calls the `AccountService` method the `/users` routes call, so the rules (who may, the
password policy, which sessions end) are the same; a refusal comes back as the form with the
service's words tied to its field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tmr.accounts.models import Permission, Principal, permissions_named
from tmr.errors import BadCredentials, Conflict, InvalidInput, NotFound, TooManyAttempts
from tmr.web.pages.register import sentence
from tmr.web.routing import PageRoute
from tmr.web.session import AdminPageDep, CsrfDep, SignedInDep, registry_of
from tmr.web.templating import href, render

router = APIRouter(route_class=PageRoute)

PERMISSIONS = (
    (Permission.SEARCH.value, "Search", "list, find, read, rate and analyse"),
    (Permission.DOWNLOAD.value, "Download", "download packages and files"),
    (Permission.UPLOAD.value, "Upload", "register, ingest, upload and change one's own artifacts"),
)


@dataclass
class NewUserForm:
    name: str = ""
    is_admin: bool = False
    permissions: list[str] = field(default_factory=lambda: [Permission.SEARCH.value])
    errors: dict[str, str] = field(default_factory=dict)


def _users_page(request: Request, admin: Principal, form: NewUserForm, status: int = 200) -> Response:
    registry = registry_of(request)
    return render(
        request,
        "users.html",
        {
            "users": registry.accounts.list_users(admin),
            "form": form,
            "permissions": PERMISSIONS,
            "admin_name": registry.accounts.admin_name,
        },
        status_code=status,
    )


@router.get("/ui/users")
def users_page(request: Request, admin: AdminPageDep) -> Response:
    return _users_page(request, admin, NewUserForm())


@router.post("/ui/users", dependencies=[CsrfDep])
def create_user(
    request: Request,
    admin: AdminPageDep,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    is_admin: Annotated[str, Form()] = "",
    permissions: Annotated[list[str] | None, Form()] = None,
) -> Response:
    form = NewUserForm(name=name.strip(), is_admin=is_admin == "true", permissions=permissions or [])
    try:
        registry_of(request).accounts.create_user(
            admin,
            form.name,
            password,
            is_admin=form.is_admin,
            permissions=permissions_named(form.permissions),
        )
    except Conflict as exc:
        form.errors["name"] = sentence(exc.message)
        return _users_page(request, admin, form, exc.status_code)
    except InvalidInput as exc:
        form.errors["password" if "password" in exc.message else "name"] = sentence(exc.message)
        return _users_page(request, admin, form, exc.status_code)
    return RedirectResponse(href(request, "/ui/users", notice="user-created"), status_code=303)


@router.post("/ui/users/{name}/permissions", dependencies=[CsrfDep])
def set_permissions(
    request: Request,
    admin: AdminPageDep,
    name: str,
    permissions: Annotated[list[str] | None, Form()] = None,
) -> Response:
    registry_of(request).accounts.set_permissions(admin, name, permissions_named(permissions or []))
    return RedirectResponse(href(request, "/ui/users", notice="permissions-saved"), status_code=303)


@router.post("/ui/users/{name}/delete", dependencies=[CsrfDep])
def delete_user(request: Request, principal: SignedInDep, name: str) -> Response:
    """Self or admin, as `DELETE /users/{name}`; deleting oneself ends the session too."""
    registry_of(request).accounts.delete_user(principal, name)
    if name == principal.name:
        return RedirectResponse(href(request, "/ui/sign-in", notice="account-deleted"), status_code=303)
    return RedirectResponse(href(request, "/ui/users", notice="user-deleted"), status_code=303)


# -- one's own account ---------------------------------------------------------------------
def _account_page(
    request: Request, principal: Principal, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    user = registry_of(request).accounts.user(principal, principal.name)
    held = {p.value for p in Permission if principal.can(p)}
    return render(
        request,
        "account.html",
        {
            "user": user,
            "rows": [(label, what, value in held) for value, label, what in PERMISSIONS],
            "errors": errors or {},
            "is_default_admin": user.name == registry_of(request).accounts.admin_name,
        },
        status_code=status,
    )


@router.get("/ui/account")
def account_page(request: Request, principal: SignedInDep) -> Response:
    return _account_page(request, principal)


@router.post("/ui/account/password", dependencies=[CsrfDep])
def change_password(
    request: Request,
    principal: SignedInDep,
    old_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
) -> Response:
    if new_password != confirm_password:
        return _account_page(request, principal, {"confirm_password": "The two new passwords differ."}, 400)
    try:
        registry_of(request).accounts.set_password(principal, principal.name, new_password, old_password)
    except (BadCredentials, TooManyAttempts) as exc:
        page = _account_page(request, principal, {"old_password": sentence(exc.message)}, exc.status_code)
        if isinstance(exc, TooManyAttempts):
            page.headers["Retry-After"] = str(exc.details["retry_after"])
        return page
    except (InvalidInput, Conflict, NotFound) as exc:
        return _account_page(request, principal, {"new_password": sentence(exc.message)}, exc.status_code)
    return RedirectResponse(href(request, "/ui/account", notice="password-changed"), status_code=303)
