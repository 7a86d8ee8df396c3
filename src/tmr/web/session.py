"""The browser's session: a registry token in an HttpOnly, SameSite=Strict cookie.

The cookie holds the same token `PUT /authenticate` issues, so a session has the same lifetime
and use budget as any token and `AccountService` stays the one judge of it. Every form that
changes state carries the session's form key (an HMAC of the token's id, see
`AccountService.form_key`); a missing, forged or other user's key is refused before the service
is called. Sign-in itself is guarded by a double-submit nonce, since no session exists yet.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from tmr.accounts.models import Principal
from tmr.accounts.permissions import require_admin
from tmr.container import Registry
from tmr.errors import TmrError, Unauthenticated
from tmr.web.templating import base_path

SESSION_COOKIE = "tmr_session"
SIGN_IN_COOKIE = "tmr_sign_in"
FORM_FIELD = "form_key"


class SignInRequired(TmrError):
    """No live session: the page answers with a redirect to the sign-in form, not an error."""

    status_code = 303
    code = "sign_in_required"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class FormRefused(TmrError):
    """A state-changing form without this session's key (forged, stale, or another user's)."""

    status_code = 403
    code = "form_refused"


def registry_of(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _cookie_path(request: Request) -> str:
    return base_path(request) or "/"


def start_session(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token.removeprefix("bearer ").strip(),
        max_age=max_age,
        path=_cookie_path(request),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=_cookie_path(request), httponly=True, samesite="strict", secure=_secure(request)
    )


def sign_in_nonce(request: Request, response: Response) -> str:
    """A fresh nonce for the sign-in form, also set as a cookie: a cross-site page can neither read
    the cookie nor send it (SameSite=Strict), so it cannot sign a victim in to its own account."""
    nonce = secrets.token_urlsafe(24)
    response.set_cookie(
        SIGN_IN_COOKIE,
        nonce,
        max_age=3600,
        path=_cookie_path(request),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return nonce


def check_sign_in_nonce(request: Request, sent: str | None) -> bool:
    kept = request.cookies.get(SIGN_IN_COOKIE)
    return bool(kept and sent) and hmac.compare_digest(
        str(kept).encode(), str(sent).encode("utf-8", "replace")
    )


def principal_of(request: Request) -> Principal:
    """The signed-in principal (one use of the session's token), or SignInRequired."""
    token = session_token(request)
    if token is None:
        raise SignInRequired("sign in to continue", reason="signed-in-needed")
    registry = registry_of(request)
    try:
        principal = registry.accounts.check(token)
    except Unauthenticated as exc:
        raise SignInRequired(exc.message, reason="expired") from exc
    request.state.principal = principal
    request.state.form_key = registry.accounts.form_key(token)
    return principal


def optional_principal(request: Request) -> Principal | None:
    """For pages that also have a public view: nobody without a cookie, but a cookie whose
    session has died still sends the browser to sign in, with the message saying why."""
    if session_token(request) is None:
        return None
    return principal_of(request)


def principal_from_header_or_session(request: Request) -> Principal:
    """For tmr's own JSON feeds, read by API clients (X-Authorization) and by the pages' scripts
    (the session cookie, which a cross-site page cannot send)."""
    header = request.headers.get("x-authorization")
    registry = registry_of(request)
    if header:
        return registry.accounts.check(header)
    token = session_token(request)
    if token is None:
        raise Unauthenticated("missing X-Authorization header")
    return registry.accounts.check(token)


async def check_form(request: Request) -> None:
    """Refuse a state-changing form whose key is not this session's (403 on the page)."""
    token = session_token(request)
    # Scripts that send a body of their own (an upload's bytes) name the key in a header, so the
    # body is never parsed as a form here.
    sent: object = request.headers.get("x-form-key")
    if sent is None:
        sent = (await request.form()).get(FORM_FIELD)
    if token is None:
        raise SignInRequired("sign in to continue", reason="signed-in-needed")
    if not isinstance(sent, str) or not registry_of(request).accounts.check_form_key(token, sent):
        raise FormRefused(
            "This form has expired or was not sent from this session. Reload the page and try again."
        )


def admin_of(principal: Principal) -> Principal:
    require_admin(principal, "open this page")
    return principal


SignedInDep = Annotated[Principal, Depends(principal_of)]
CsrfDep = Depends(check_form)


def _admin(principal: SignedInDep) -> Principal:
    return admin_of(principal)


AdminPageDep = Annotated[Principal, Depends(_admin)]
