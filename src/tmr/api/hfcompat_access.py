"""Who is asking and which artifact a Hub repository id names, for the Hugging Face-compatible API.

huggingface_hub sends `Authorization: Bearer <token>`; the registry's own clients send
`X-Authorization: bearer <jwt>`. Both carry the registry's token, so both are accepted, and so is
`Authorization: Bearer bearer <jwt>` (the `/authenticate` answer passed verbatim as `token=`).

Errors are the Hub's (`X-Error-Code`), because that is what the client turns into
`RepositoryNotFoundError`, `RevisionNotFoundError` and `EntryNotFoundError`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header
from fastapi.responses import JSONResponse

from tmr.accounts.models import User
from tmr.accounts.permissions import scope_for
from tmr.api.deps import RegistryDep
from tmr.api.hfcompat_git import known_blob_oid
from tmr.api.hfcompat_repo import HubRepo, canonical_id
from tmr.artifacts.models import Artifact, ArtifactType, FileEntry
from tmr.container import Registry
from tmr.errors import IntegrityError, NotFound, RangeNotSatisfiable, TmrError, Unauthenticated

# The exact message the Hub sends for a token it refuses; huggingface_hub then raises a plain
# 401 HfHubHTTPError instead of pretending the repository does not exist.
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


class RepoNotFound(NotFound):
    hub_code = "RepoNotFound"


class RevisionNotFound(NotFound):
    hub_code = "RevisionNotFound"


class EntryNotFound(NotFound):
    hub_code = "EntryNotFound"


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
    headers = {"X-Error-Message": _header_text(getattr(exc, "hub_message", exc.message))}
    code = getattr(exc, "hub_code", None)
    if code:
        headers["X-Error-Code"] = code
    commit = exc.details.get("commit")
    if isinstance(commit, str):
        headers["X-Repo-Commit"] = commit
    if isinstance(exc, RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.details.get('length', '*')}"
    status = 401 if isinstance(exc, Unauthenticated) else exc.status_code
    return JSONResponse({"error": exc.message}, status_code=status, headers=headers)


def hub_user(
    registry: RegistryDep,
    authorization: Annotated[str | None, Header()] = None,
    x_authorization: Annotated[str | None, Header(alias="X-Authorization")] = None,
) -> User:
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


HubUserDep = Annotated[User, Depends(hub_user)]

_OID_KEY = "hf-git-blob:"


class OidReader:
    """Git blob ids of stored files whose upstream did not vouch for one (uploaded text files):
    hashed from the bytes once, then kept in the store keyed by the content's sha256."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def __call__(self, file: FileEntry) -> str:
        if file.sha256 is None:
            raise IntegrityError(f"{file.path} has not been mirrored")
        key = _OID_KEY + file.sha256
        cached = self._registry.store.peek_state(key)
        if cached is not None:
            return cached
        hasher = hashlib.sha1(b"blob %d\0" % file.size, usedforsecurity=False)
        for chunk in self._registry.blobs.open(file.sha256):
            hasher.update(chunk)
        return self._registry.store.state(key, hasher.hexdigest())


def _ranked(artifact: Artifact) -> tuple[datetime, str]:
    return artifact.updated_at or datetime.min.replace(tzinfo=UTC), artifact.id


def resolve_repo(registry: Registry, repo_id: str, type_: ArtifactType, viewer: User) -> HubRepo:
    """The artifact of `type_` a Hub repository id names, among those `viewer` may see.

    Artifacts answer to their lower-cased keys (repository id, short name, name). An exact
    match of the Hub repository id or the artifact's name wins over a case-insensitive one, which
    wins over a short name (`bert-base-uncased` for `google-bert/bert-base-uncased`); among
    equals, the most recently updated."""
    key = repo_id.strip().lower()
    candidates: list[Artifact] = []
    for summary in registry.store.answering_to({key}, scope_for(viewer)).get(key, []) if key else []:
        if summary.type is not type_:
            continue
        try:
            candidates.append(registry.artifacts.get_any(summary.id, viewer=viewer))
        except NotFound:
            continue  # private to someone else: it does not exist for this viewer
    if not candidates:
        raise RepoNotFound(f"Repository not found: no {type_.value} {repo_id!r} you may read")

    def names(artifact: Artifact) -> set[str]:
        return {canonical_id(artifact), artifact.name}

    exact = [a for a in candidates if repo_id in names(a)]
    folded = [a for a in candidates if key in {n.lower() for n in names(a)}]
    artifact = max(exact or folded or candidates, key=_ranked)
    if any(f.sha256 is None and known_blob_oid(f) is None for f in artifact.files):
        # Neither stored nor vouched for: its ids can only come from its bytes.
        artifact = registry.artifacts.ensure_mirrored(artifact)
    return HubRepo.of(artifact, OidReader(registry))
