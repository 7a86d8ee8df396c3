"""Sign in and sign out."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tmr.api.deps import client_address
from tmr.errors import BadCredentials, TooManyAttempts
from tmr.web.routing import PageRoute
from tmr.web.session import (
    CsrfDep,
    SignedInDep,
    SignInRequired,
    check_sign_in_nonce,
    end_session,
    principal_of,
    registry_of,
    session_token,
    sign_in_nonce,
    start_session,
)
from tmr.web.templating import base_path, href, render

router = APIRouter(route_class=PageRoute)


def safe_next(request: Request, target: str | None) -> str:
    """Only a path of this deployment may follow sign-in: never another site (`//evil`, `https:`)."""
    root = base_path(request)
    if target and target.startswith(root + "/") and not target.startswith("//") and "\\" not in target:
        rest = target[len(root) :]
        if rest.startswith("/") and not rest.startswith("//"):
            return target
    return href(request, "/")


@router.get("/ui/sign-in")
def sign_in_form(request: Request) -> Response:
    if session_token(request) is not None:
        # Already signed in: the page says so (its header offers Sign out) and still lets the
        # user sign in as someone else. A dead session just shows the form.
        with contextlib.suppress(SignInRequired):
            principal_of(request)
    return _render_with_nonce(request)


def _render_with_nonce(
    request: Request, *, name: str = "", error: str | None = None, status: int = 200, next_url: str = ""
) -> Response:
    placeholder = Response()
    nonce = sign_in_nonce(request, placeholder)
    response = render(
        request,
        "sign_in.html",
        {
            "name": name,
            "error": error,
            "nonce": nonce,
            "next_url": next_url or request.query_params.get("next", ""),
        },
        status_code=status,
    )
    for key, value in placeholder.raw_headers:
        if key == b"set-cookie":
            response.raw_headers.append((key, value))
    return response


@router.post("/ui/sign-in")
def sign_in(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    nonce: Annotated[str, Form()] = "",
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    if not check_sign_in_nonce(request, nonce):
        return _render_with_nonce(
            request,
            name=username,
            status=403,
            next_url=next_url,
            error="The sign-in form expired. Enter your username and password again.",
        )
    if not username.strip() or not password:
        return _render_with_nonce(
            request,
            name=username,
            status=400,
            next_url=next_url,
            error="Enter both your username and your password.",
        )
    registry = registry_of(request)
    try:
        token = registry.accounts.authenticate(username, password, client_address(request))
    except BadCredentials:
        return _render_with_nonce(
            request,
            name=username,
            status=401,
            next_url=next_url,
            error="The username or password is not right.",
        )
    except TooManyAttempts as exc:
        page = _render_with_nonce(request, name=username, status=429, next_url=next_url, error=exc.message)
        page.headers["Retry-After"] = str(exc.details["retry_after"])
        return page
    response = RedirectResponse(safe_next(request, next_url), status_code=303)
    start_session(request, response, token, registry.accounts.token_ttl_s)
    return response


@router.post("/ui/sign-out", dependencies=[CsrfDep])
def sign_out(request: Request, _principal: SignedInDep) -> Response:
    token = session_token(request)
    if token is not None:
        registry_of(request).accounts.revoke(token)
    response = RedirectResponse(href(request, "/ui/sign-in", notice="signed-out"), status_code=303)
    end_session(request, response)
    return response
