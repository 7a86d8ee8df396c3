"""Who is asking, and how errors look, at the Hugging Face-compatible door.

huggingface_hub sends `Authorization: Bearer <token>`; the registry's own clients send
`X-Authorization: bearer <jwt>`. Both carry the registry's token, so both are accepted, and so is
`Authorization: Bearer bearer <jwt>` (the `/authenticate` answer passed verbatim as `token=`).

Errors are the Hub's (`X-Error-Code`), because that is what the client turns into
`RepositoryNotFoundError`, `RevisionNotFoundError` and `EntryNotFoundError`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header
from fastapi.responses import JSONResponse

from tmr.accounts.models import Principal
from tmr.api.deps import RegistryDep
from tmr.errors import PermissionDenied, RangeNotSatisfiable, TmrError, Unauthenticated

# The exact message the Hub sends for a token it refuses; huggingface_hub then raises a plain
# 401 HfHubHTTPError instead of pretending the repository does not exist.
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


class TokenRequired(Unauthenticated):
    """No token at all: the Hub's answer for a private repository (RepositoryNotFoundError)."""

    status_code = 401
    hub_code = "RepoNotFound"


class TokenRefused(Unauthenticated):
    """A token the registry does not accept (invalid, expired, used up)."""

    status_code = 401
    hub_message = INVALID_CREDENTIALS


def _header_text(text: str) -> str:
    """Header values are one line of printable ASCII."""
    return "".join(c if " " <= c <= "~" else "?" for c in text)[:500]


def hub_error_response(exc: TmrError) -> JSONResponse:
    """A domain error as the Hub sends errors: `{"error": ...}` with X-Error-Code/-Message."""
    message, details = exc.public()
    headers = {"X-Error-Message": _header_text(getattr(exc, "hub_message", message))}
    retry_after = details.get("retry_after")
    if isinstance(retry_after, int) and not isinstance(retry_after, bool):
        headers["Retry-After"] = str(retry_after)
    code = getattr(exc, "hub_code", None)
    if code:
        headers["X-Error-Code"] = code
    commit = exc.details.get("commit")
    if isinstance(commit, str):
        headers["X-Repo-Commit"] = commit
    if isinstance(exc, RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.details.get('length', '*')}"
    # The Hub's client reads 401 as "bad or missing token" and 403 as "forbidden": a token that
    # lacks a permission is the latter (the contract's 401 for it is the contract's alone).
    if isinstance(exc, Unauthenticated):
        status = 401
    elif isinstance(exc, PermissionDenied):
        status = 403
    else:
        status = exc.status_code
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def hub_user(
    registry: RegistryDep,
    authorization: Annotated[str | None, Header()] = None,
    x_authorization: Annotated[str | None, Header(alias="X-Authorization")] = None,
) -> Principal:
    """The registry user behind the request's token (X-Authorization wins over Authorization)."""
    token = (x_authorization or "").strip()
    if not token and authorization and authorization.strip():
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise TokenRefused("the Authorization header must be `Bearer <registry token>`")
        token = value.strip()
    if not token:
        raise TokenRequired(
            "this registry serves repositories to authenticated users only: pass the token from "
            "PUT /authenticate as `token=` (or HF_TOKEN)"
        )
    try:
        return registry.accounts.check(token)
    except Unauthenticated as exc:
        raise TokenRefused(exc.message) from exc


HubUserDep = Annotated[Principal, Depends(hub_user)]
