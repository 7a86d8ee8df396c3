"""Pushes through the Hugging Face door: `create_repo`, `upload_file`/`upload_folder` (small files
in the commit, large ones over Git LFS), `delete_file` and `create_tag` from `huggingface_hub`.

A pushed repository is a private upload of its owner, named by its repository id
(`owner/name`) and registered from `upload:hub:<repo id>`, so every rule of an upload applies
through `RegistrationService` (permission, name, file safety, rating, versions). A commit is the
old file set plus what it adds minus what it deletes, staged (blobs first, content-addressed and
invisible) and applied in one metadata transaction: a refused or interrupted push changes
nothing but orphan blobs, which `tmr gc` collects.

An empty repository is not an artifact (there is nothing to rate or show): `create_repo` records
the repository id for its owner (`CreatedRepos`: reading a file of it is then "entry not found",
as on the Hub) and the first commit creates the artifact; creating it again is 409 once pushed.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from tmr.accounts.models import Permission, Principal
from tmr.accounts.permissions import require
from tmr.artifacts.filekinds import classify
from tmr.artifacts.models import Artifact, ArtifactType
from tmr.artifacts.packages import StateStore
from tmr.artifacts.registration import Registered, RegistrationService
from tmr.artifacts.service import ArtifactService
from tmr.artifacts.uploads import ExplodedFile, SpooledUpload
from tmr.errors import ChangedMeanwhile, Conflict, IntegrityError, InvalidInput, PermissionDenied, TmrError
from tmr.hub.repo import MAIN, repo_commit
from tmr.hub.service import EntryNotFound, RepoNotFound, RevisionNotFound
from tmr.sources.cards import split_card
from tmr.storage.blobs.base import BlobStore, is_digest

URL_PREFIX = "upload:hub:"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")
_GRANT = "hub-lfs-upload"
_CREATED = "hf-repo:"  # + sha256(type, repo id): its owner, who created it through the door
_UPLOADED = "hf-lfs-sent:"  # + sha256(user, object): this user sent this object's bytes
_BRANCHES = frozenset({MAIN, f"refs/heads/{MAIN}"})
_APPLY_ATTEMPTS = 5  # a commit re-applied on a head that moved under it, before 409


def _state_key(prefix: str, *parts: str) -> str:
    """A state-store key (at most 128 characters) for parts of any length."""
    return prefix + hashlib.sha256("\n".join(parts).encode()).hexdigest()


class PushState(StateStore, Protocol):
    """The state store, which a reset also empties of what pushes recorded."""

    def forget_states(self, prefix: str) -> None: ...


class CreatedRepos:
    """Repository ids created through the door, with their owner, in the shared state store
    (first writer wins), so every worker knows an empty repository exists."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    def record(self, owner: str, type_: ArtifactType, repo_id: str) -> None:
        key = _state_key(_CREATED, type_.value, repo_id)
        if self._state.peek_state(key) is None:
            self._state.state(key, owner)

    def owner(self, type_: ArtifactType, repo_id: str) -> str | None:
        return self._state.peek_state(_state_key(_CREATED, type_.value, repo_id))


class Signer(Protocol):
    """Signs what a URL must carry to authorise itself (`AccountService.signature`)."""

    def signature(self, purpose: str, message: str) -> str: ...

    def check_signature(self, purpose: str, message: str, signature: str) -> bool: ...


class RepoExists(Conflict):
    """The Hub's answer to creating a repository twice (`exist_ok=True` accepts it)."""


class CommitMoved(TmrError):
    """The Hub's answer to a commit whose `parent_commit` is no longer the head."""

    status_code = 412
    code = "precondition_failed"


class HubForbidden(PermissionDenied):
    """Refused outright (a namespace not the caller's, a forged upload URL): 403 at the door."""


@dataclass(frozen=True, slots=True)
class AddRegular:
    """A small file whose bytes ride in the commit."""

    path: str
    content: bytes


@dataclass(frozen=True, slots=True)
class AddLfs:
    """A file uploaded before the commit over LFS, named by its sha256."""

    path: str
    sha256: str
    size: int | None


@dataclass(frozen=True, slots=True)
class Delete:
    path: str
    folder: bool = False


Operation = AddRegular | AddLfs | Delete


@dataclass(frozen=True, slots=True)
class _StoredRegular:
    """A small file of a commit once its bytes are stored."""

    file: ExplodedFile


@dataclass(frozen=True, slots=True)
class LfsObject:
    """An object of an LFS batch: `grant` signs its upload URL; None when nothing need be sent."""

    sha256: str
    size: int
    grant: str | None


@dataclass(frozen=True, slots=True)
class Pushed:
    registered: Registered
    commit: str


def push_url(repo_id: str) -> str:
    return URL_PREFIX + repo_id


def check_path(path: str) -> str:
    """A repository path as the Hub accepts it: relative, no `..`, no control characters."""
    parts = path.split("/")
    if (
        not path
        or len(path) > 1024
        or path.startswith("/")
        or _CONTROL.search(path)
        or any(p in ("", ".", "..") for p in parts)
        or parts[0] == ".git"
    ):
        raise InvalidInput(f"invalid path in repository: {path[:200]!r}")
    return path


class HubPushService:
    def __init__(
        self,
        artifacts: ArtifactService,
        registration: RegistrationService,
        blobs: BlobStore,
        state: PushState,
        signer: Signer,
        *,
        lfs_threshold: int,
        max_file_bytes: int,
    ) -> None:
        self._artifacts = artifacts
        self._registration = registration
        self._blobs = blobs
        self._state = state
        self._signer = signer
        self._created = CreatedRepos(state)
        self.lfs_threshold = lfs_threshold
        self.max_file_bytes = max_file_bytes

    def reset(self) -> None:
        """Part of the registry's reset: forget created repositories and who sent which objects
        (a user of the same name created afterwards inherits neither)."""
        for prefix in (_CREATED, _UPLOADED):
            self._state.forget_states(prefix)

    # -- repositories --------------------------------------------------------------------------
    def create_repo(
        self, principal: Principal, type_: ArtifactType, name: str, organization: str | None
    ) -> str:
        """The repository id `create_repo` makes: in the caller's own namespace (the only one a
        registry user has). 409 when the caller pushed it already."""
        require(principal, Permission.UPLOAD)
        namespace = organization or principal.name
        if _NAME.fullmatch(name or "") is None or name.endswith((".git", ".")):
            raise InvalidInput(f"invalid repository name {name!r}: letters, digits, '-', '_', '.'")
        self._own_namespace(principal, namespace)
        repo_id = f"{namespace}/{name}"
        if self._current(principal, type_, repo_id) is not None:
            raise RepoExists(f"You already created this {type_.value} repo")
        self._created.record(principal.name, type_, repo_id)
        return repo_id

    def preupload(
        self,
        principal: Principal,
        type_: ArtifactType,
        repo_id: str,
        revision: str,
        files: Iterable[tuple[str, int]],
    ) -> list[tuple[str, bool]]:
        """Which files go over LFS (True) and which ride in the commit. The client uploads an
        "lfs" file over LFS only without `hf_xet` (HF_HUB_DISABLE_XET=1): Xet is not spoken here."""
        self.writable(principal, type_, repo_id, revision)
        answer = []
        for path, size in files:
            check_path(path)
            if not isinstance(size, int) or size < 0:
                raise InvalidInput(f"invalid size for {path[:200]!r}")
            answer.append((path, size >= self.lfs_threshold))
        return answer

    @staticmethod
    def card_warnings(readme: str) -> list[str]:
        """`/api/validate-yaml`: what is wrong with a card's front matter. Warnings, never errors:
        the registry keeps a card with broken metadata (it notes why) rather than refuse a push."""
        _, _, error = split_card(readme)
        return [error] if error else []

    # -- LFS -----------------------------------------------------------------------------------
    def lfs_batch(
        self, principal: Principal, type_: ArtifactType, repo_id: str, objects: Iterable[tuple[str, int]]
    ) -> list[LfsObject]:
        """The objects of an LFS upload batch, each with a signed grant to PUT its bytes unless
        this user has sent those very bytes before (knowing a digest proves nothing)."""
        self.writable(principal, type_, repo_id, MAIN)
        answer = []
        for oid, size in objects:
            self._check_object(oid, size)
            sent = self._uploaded_by(principal, oid) and self._blobs.exists(oid)
            answer.append(LfsObject(oid, size, None if sent else self._grant(principal.name, oid, size)))
        return answer

    def check_grant(self, user: str, oid: str, size: int, grant: str) -> None:
        """An upload URL is the grant of `lfs_batch`, unforgeable and bound to user and object."""
        self._check_object(oid, size)
        if not self._signer.check_signature(_GRANT, f"{user}\n{oid}\n{size}", grant):
            raise HubForbidden("this upload URL was not issued by the registry")

    def lfs_store(self, user: str, oid: str, size: int, grant: str, spooled: SpooledUpload) -> None:
        """Store an LFS object's bytes, if they are the ones declared (size and sha256)."""
        self.check_grant(user, oid, size, grant)
        if spooled.size != size or spooled.sha256 != oid:
            raise InvalidInput(
                f"the uploaded bytes do not match the declared object: sha256 {spooled.sha256} and "
                f"size {spooled.size}, declared {oid} and {size}"
            )

        def chunks() -> Iterable[bytes]:
            with spooled.path.open("rb") as source:
                while chunk := source.read(1024 * 1024):
                    yield chunk

        try:
            self._blobs.put_stream(chunks(), expected_sha256=oid)
        except IntegrityError as exc:  # the spool changed under us: the client's bytes were sent
            raise InvalidInput("the uploaded bytes do not match their declared sha256") from exc
        self._state.state(_state_key(_UPLOADED, user, oid), "1")

    def lfs_verify(self, principal: Principal, oid: str, size: int) -> None:
        require(principal, Permission.UPLOAD)
        self._check_object(oid, size)
        if not (self._uploaded_by(principal, oid) and self._blobs.exists(oid)):
            raise EntryNotFound(f"LFS object {oid} has not been uploaded")
        if self._blobs.size(oid) != size:
            raise InvalidInput(f"LFS object {oid} is not {size} bytes long")

    # -- commits -------------------------------------------------------------------------------
    def commit(
        self,
        principal: Principal,
        type_: ArtifactType,
        repo_id: str,
        revision: str,
        operations: Iterable[Operation],
        parent_commit: str | None = None,
    ) -> Pushed:
        """Apply a commit: the new file set is the head's plus additions minus deletions,
        registered (judged, rated) in one transaction, or nothing at all. As on the Hub, a commit
        without `parent_commit` lands on whatever the head is when it is applied (two pushes of
        different files both keep theirs); with one, it is refused (412) once the head moved."""
        steps = [self._stored(op) for op in operations]  # small files' blobs, once

        def change(current: Artifact | None) -> tuple[tuple[ExplodedFile, ...], str | None]:
            if parent_commit is not None and parent_commit != (repo_commit(current) if current else None):
                raise CommitMoved("A commit has happened since. Please refresh and try again.")
            files = {f.path: f for f in self._files_of(current)}
            known = {f.sha256 for f in files.values()}
            for op in steps:
                if isinstance(op, Delete):
                    self._delete(files, op)
                elif isinstance(op, _StoredRegular):
                    files[op.file.path] = op.file
                else:
                    path = check_path(op.path)
                    files[path] = self._lfs_file(principal, op, path, known)
            self._refuse_clashes(files)
            return tuple(files.values()), current.version if current is not None else None

        return self._apply(principal, type_, repo_id, revision, change)

    def tag(self, principal: Principal, type_: ArtifactType, repo_id: str, revision: str, tag: str) -> Pushed:
        """A tag is the repository's version: it must read as one (`v1.2` → 1.2.0)."""
        if not isinstance(tag, str) or not tag.strip():
            raise InvalidInput("the tag must be a non-empty string")

        def change(current: Artifact | None) -> tuple[tuple[ExplodedFile, ...], str | None]:
            if current is None:
                raise RepoNotFound(f"Repository not found: {repo_id} has no commit to tag")
            return self._files_of(current), tag.strip()

        return self._apply(principal, type_, repo_id, revision, change)

    # -- the steps -----------------------------------------------------------------------------
    def _apply(
        self,
        principal: Principal,
        type_: ArtifactType,
        repo_id: str,
        revision: str,
        change: Callable[[Artifact | None], tuple[tuple[ExplodedFile, ...], str | None]],
    ) -> Pushed:
        """`change` applied to the repository's head and registered, only if the head is still
        the one it read (a conditional write): when another push got in between, it is applied
        again on the new head, a few times before giving up with 409."""
        for attempt in range(1, _APPLY_ATTEMPTS + 1):
            current = self.writable(principal, type_, repo_id, revision)
            files, version = change(current)
            staged = self._registration.stage_push(
                principal, type_, repo_id, push_url(repo_id), files, version
            )
            admission = self._registration.prepare_upload(staged, replaces=current)
            try:
                registered = self._registration.commit(principal, admission, if_unchanged=True)
            except ChangedMeanwhile:
                if attempt == _APPLY_ATTEMPTS:
                    raise
                continue
            except Conflict:
                # Created by another push meanwhile (its url is now registered): apply on top.
                if current is not None or attempt == _APPLY_ATTEMPTS or not self._exists(type_, repo_id):
                    raise
                continue
            self._created.record(principal.name, type_, repo_id)  # when pushed without create_repo
            return Pushed(registered, repo_commit(registered.artifact))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _stored(self, op: Operation) -> AddLfs | Delete | _StoredRegular:
        """A small file's bytes stored (content-addressed, invisible until a commit names them)."""
        if not isinstance(op, AddRegular):
            return op
        path = check_path(op.path)
        stored = self._blobs.put_bytes(op.content)
        return _StoredRegular(
            ExplodedFile(path, stored.size, stored.sha256, zlib.crc32(op.content), classify(path))
        )

    def _exists(self, type_: ArtifactType, repo_id: str) -> bool:
        return self._artifacts.url_taken(type_, push_url(repo_id)) is not None

    def _own_namespace(self, principal: Principal, namespace: str, *, admin_may: bool = False) -> None:
        if namespace != principal.name and not (admin_may and principal.is_admin):
            raise HubForbidden(
                f"You don't have the rights to push to the namespace {namespace!r}: "
                f"a registry user pushes to {principal.name}/<name>"
            )

    def _current(self, principal: Principal, type_: ArtifactType, repo_id: str) -> Artifact | None:
        """The repository's artifact when it was pushed before, if `principal` may change it."""
        summary = self._artifacts.url_taken(type_, push_url(repo_id))
        if summary is None:
            return None
        return self._registration.check_update(principal, type_, summary.id)

    def writable(
        self, principal: Principal, type_: ArtifactType, repo_id: str, revision: str
    ) -> Artifact | None:
        """The repository `principal` may push to (None before its first commit), on its branch."""
        require(principal, Permission.UPLOAD)
        if revision not in _BRANCHES:
            raise RevisionNotFound(f"Invalid rev id: {revision}: pushes go to the branch {MAIN}")
        namespace, _, name = repo_id.partition("/")
        if not name or _NAME.fullmatch(name) is None:
            raise RepoNotFound(f"Repository not found: {repo_id!r} is not <namespace>/<name>")
        # Refused before the lookup, so the answer never tells whether another's private
        # repository exists; an administrator may push to an existing one, as to any artifact.
        self._own_namespace(principal, namespace, admin_may=True)
        current = self._current(principal, type_, repo_id)
        if current is None:
            self._own_namespace(principal, namespace)
        return current

    def _files_of(self, artifact: Artifact | None) -> tuple[ExplodedFile, ...]:
        if artifact is None:
            return ()
        files = []
        for f in artifact.files:
            if f.sha256 is None:  # a pushed repository's files are all stored
                raise IntegrityError(f"{f.path} has not been stored")
            files.append(ExplodedFile(f.path, f.size, f.sha256, f.crc32, f.kind))
        return tuple(files)

    def _delete(self, files: dict[str, ExplodedFile], op: Delete) -> None:
        path = op.path.strip("/")
        if op.folder:
            doomed = [p for p in files if p.startswith(path + "/")] if path else list(files)
        else:
            doomed = [path] if path in files else []
        if not doomed:
            raise EntryNotFound(f"A file with this name doesn't exist: {op.path[:200]}")
        for p in doomed:
            del files[p]

    def _lfs_file(self, principal: Principal, op: AddLfs, path: str, known: set[str]) -> ExplodedFile:
        """An LFS file of the commit: bytes this user uploaded, or already in the repository."""
        oid = op.sha256
        if not is_digest(oid) or not (oid in known or self._uploaded_by(principal, oid)):
            raise InvalidInput(f"{path}: LFS object {oid[:64]} has not been uploaded")
        if not self._blobs.exists(oid):
            raise InvalidInput(f"{path}: LFS object {oid} has not been uploaded")
        size = self._blobs.size(oid)
        if op.size is not None and op.size != size:
            raise InvalidInput(f"{path}: LFS object {oid} is {size} bytes, not {op.size}")
        return ExplodedFile(path, size, oid, None, classify(path))

    @staticmethod
    def _refuse_clashes(files: dict[str, ExplodedFile]) -> None:
        folders = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
        clash = folders & files.keys()
        if clash:
            raise InvalidInput(f"{min(clash)[:200]} would be both a file and a folder")

    def _check_object(self, oid: str, size: int) -> None:
        if not isinstance(oid, str) or not is_digest(oid):
            raise InvalidInput("an LFS object id is a sha256 (64 lowercase hex characters)")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= self.max_file_bytes:
            raise InvalidInput(f"an LFS object's size must be between 1 and {self.max_file_bytes} bytes")

    def _grant(self, user: str, oid: str, size: int) -> str:
        return self._signer.signature(_GRANT, f"{user}\n{oid}\n{size}")

    def _uploaded_by(self, principal: Principal, oid: str) -> bool:
        return self._state.peek_state(_state_key(_UPLOADED, principal.name, oid)) is not None
