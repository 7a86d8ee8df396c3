"""FastAPI dependencies: the registry container and the authenticated user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from tmr.accounts.models import Principal
from tmr.accounts.permissions import require_admin
from tmr.artifacts.models import ArtifactType
from tmr.container import Registry
from tmr.errors import InvalidInput
from tmr.web.session import principal_from_header_or_session


def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


RegistryDep = Annotated[Registry, Depends(get_registry)]


def current_user(
    registry: RegistryDep,
    x_authorization: Annotated[str | None, Header(alias="X-Authorization")] = None,
) -> Principal:
    """Every contract endpoint but health, tracks and authenticate needs a live token (403 else)."""
    return registry.accounts.check(x_authorization)


UserDep = Annotated[Principal, Depends(current_user)]


def client_address(request: Request) -> str | None:
    """The address the request came from, as the server (or Mangum, from API Gateway's source
    IP) saw it; forwarded headers are not trusted, since any client can send them."""
    return request.client.host if request.client else None


ClientDep = Annotated[str | None, Depends(client_address)]


def admin_user(user: UserDep) -> Principal:
    """A door-side early refusal only; the service called behind it checks again."""
    require_admin(user, "do this")
    return user


AdminDep = Annotated[Principal, Depends(admin_user)]


def feed_principal(
    request: Request,
    x_authorization: Annotated[
        str | None,
        Header(alias="X-Authorization", description="The token from PUT /authenticate (or a UI session)"),
    ] = None,
) -> Principal:
    """For tmr's own JSON feeds, which the pages' scripts read too: the token or the UI's session
    cookie. The header is declared here so that the OpenAPI document has it (clients know to send
    it); the session helper reads it, or the cookie, itself."""
    return principal_from_header_or_session(request)


FeedUserDep = Annotated[Principal, Depends(feed_principal)]


def artifact_type(artifact_type: str) -> ArtifactType:
    """Path types are checked here so an unknown type is a 400 like the contract says."""
    try:
        return ArtifactType(artifact_type)
    except ValueError:
        raise InvalidInput(
            f"artifact_type must be one of model, dataset, code; got {artifact_type!r}"
        ) from None


TypeDep = Annotated[ArtifactType, Depends(artifact_type)]
