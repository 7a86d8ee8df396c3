"""Registration: the one path by which an artifact enters the registry or changes its content.

Every door (the contract's `POST /artifact/{type}` and `PUT /artifacts/{type}/{id}`, tmr's ingest
and upload routes, and whatever comes next) runs the same steps:

    prepare  → read the source (an upstream URL, or an uploaded zip exploded into blobs)
    judge    → store the small files and judge every stored file by its bytes
    gate     → for a gated model, rate it first and refuse it (424) below the gate
    commit   → one metadata transaction
    rate     → a model is rated at once (a failed rating is stored, never raised)

The first three are `prepare_*` (an `Admission`), the last two `commit` and `settle`: a single
door runs them in turn, a transaction (`tmr.transactions`) prepares every command, commits them
all in one metadata transaction, then settles each. Nothing is visible before the commit: a
refusal leaves at most orphan blobs, collectable.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from tmr.accounts.models import SYSTEM, Permission, Principal
from tmr.accounts.permissions import can_read, require, require_owner
from tmr.analysis.references import keys_for
from tmr.artifacts.building import PreparedArtifact, check_name, describe
from tmr.artifacts.interfaces import EVERYTHING, KeyResolver, StoredRating
from tmr.artifacts.mirror import FileMirror
from tmr.artifacts.models import Artifact, ArtifactType, Visibility
from tmr.artifacts.service import ArtifactService
from tmr.artifacts.uploads import ExplodedFile, SpooledUpload, UploadLimits
from tmr.errors import Conflict, Disqualified, InvalidInput, NotFound
from tmr.hub.repo import canonical_id, from_hub
from tmr.rating.gate import gate_failures
from tmr.rating.service import RatingService
from tmr.search.versions import normalize_version
from tmr.sources.models import SourceKind, SourceRef, SourceSnapshot
from tmr.sources.upload import upload_snapshot

_HUB_KINDS = frozenset({SourceKind.HF_MODEL, SourceKind.HF_DATASET})


class RegistrationEvents(Protocol):
    """Who counts the artifacts registered (the operations dashboard's recorder)."""

    def registered(self, type_: ArtifactType) -> None: ...


class RegistrationSources(Protocol):
    def parse(self, url: str, type_: ArtifactType) -> SourceRef: ...

    def inspect(self, ref: SourceRef) -> SourceSnapshot: ...


@dataclass(frozen=True, slots=True)
class Admission:
    """A registration prepared and judged, not yet committed: the artifact as it will be stored
    (without id or owner when new), the artifact it replaces, and the rating a gated model was
    admitted with (kept, not computed again, once committed)."""

    artifact: Artifact
    replaces: Artifact | None = None
    rating: StoredRating | None = None


@dataclass(frozen=True, slots=True)
class StagedUpload:
    """An uploaded zip, checked and exploded into blobs, with what will describe it."""

    type: ArtifactType
    name: str
    version: str | None
    url: str
    files: tuple[ExplodedFile, ...]


@dataclass(frozen=True, slots=True)
class Registered:
    """A committed artifact and, for a model, the rating computed as it entered."""

    artifact: Artifact
    rating: StoredRating | None = None

    @property
    def net_score(self) -> float | None:
        if self.rating is None or self.rating.failed:
            return None
        return float(self.rating.rating["net_score"])


class RegistrationService:
    def __init__(
        self,
        artifacts: ArtifactService,
        files: FileMirror,
        sources: RegistrationSources,
        ratings: RatingService,
        keys: KeyResolver,
        *,
        gate_models: bool,
        upload_limits: UploadLimits,
        events: RegistrationEvents | None = None,
    ) -> None:
        self._artifacts = artifacts
        self._files = files
        self._sources = sources
        self._ratings = ratings
        self._keys = keys
        self._gate_models = gate_models  # TMR_INGEST_GATE=enforce: `register` gates models too
        self._upload_limits = upload_limits
        self._events = events

    # -- the doors ---------------------------------------------------------------------------
    def register(self, principal: Principal, type_: ArtifactType, url: str, name: str | None) -> Registered:
        """The contract's registration by URL. A model is rated at once or, when models are gated,
        admitted only if its rating passes the gate."""
        return self.commit(principal, self.prepare_register(principal, type_, url, name))

    def ingest(self, principal: Principal, url: str, name: str | None) -> Registered:
        """A public model, admitted only when its rating passes the gate and no weights file
        imports code (424 with the failing metrics otherwise)."""
        return self.commit(principal, self.prepare_ingest(principal, url, name))

    def upload(
        self,
        principal: Principal,
        type_: ArtifactType,
        spooled: SpooledUpload,
        name: str,
        version: str | None,
    ) -> Registered:
        """A private artifact of `principal` from an uploaded zip: validated, exploded into shared
        blobs, indexed like a Hub repository, rated, not gated (the company's own models are
        not held to the ingest gate). The same zip uploaded twice as one type is a conflict, as
        registering one URL twice is."""
        staged = self.stage_upload(principal, type_, spooled, name, version)
        return self.commit(principal, self.prepare_upload(staged))

    def update(
        self, principal: Principal, type_: ArtifactType, artifact_id: str, name: str, url: str
    ) -> Registered:
        """Replace an artifact's content from its (possibly new) source URL; name and id stay, and
        a model is rated again."""
        return self.commit(principal, self.prepare_update(principal, type_, artifact_id, url, name))

    # -- prepare (nothing visible) and commit: the doors above, and transactions --------------
    def check_register(self, principal: Principal, type_: ArtifactType, url: str, name: str | None) -> None:
        """The checks of a registration that need no upstream (permission, URL, name, a source
        registered already), for a transaction to refuse a bad command when it is appended."""
        require(principal, Permission.UPLOAD)
        self._checked_source(principal, type_, url, name)

    def prepare_register(
        self, principal: Principal, type_: ArtifactType, url: str, name: str | None
    ) -> Admission:
        require(principal, Permission.UPLOAD)
        prepared = self._prepare_url(principal, type_, url, name)
        if type_ is ArtifactType.MODEL and self._gate_models:
            return self._gated(prepared)
        return self._judged(prepared)

    def prepare_ingest(self, principal: Principal, url: str, name: str | None) -> Admission:
        require(principal, Permission.UPLOAD)
        return self._gated(self._prepare_url(principal, ArtifactType.MODEL, url, name))

    def stage_upload(
        self,
        principal: Principal,
        type_: ArtifactType,
        spooled: SpooledUpload,
        name: str,
        version: str | None,
    ) -> StagedUpload:
        """An upload's checks, then its zip validated and exploded into blobs (invisible until an
        artifact that names them is committed)."""
        normalised = self.check_upload(principal, name, version)
        url = f"upload:sha256:{spooled.sha256}"
        self._refuse_taken(principal, type_, url, f"this zip is already uploaded as a {type_.value}")
        exploded = self._files.store_upload(spooled, self._upload_limits)
        return StagedUpload(type_, name, normalised, url, tuple(exploded))

    def prepare_upload(self, staged: StagedUpload, replaces: Artifact | None = None) -> Admission:
        """A staged upload described like a Hub repository, its files judged; with `replaces`, the
        new content of that artifact (a Hub push's later commit, `tmr.hub.push`), whose owner
        `check_update` has accepted."""
        type_, name = staged.type, staged.name
        snapshot = upload_snapshot(
            staged.url,
            list(staged.files),
            self._files.read_stored,
            is_model=type_ is ArtifactType.MODEL,
            version=staged.version,
        )
        prepared = describe(type_, name, staged.url, snapshot)
        by_path = {e.path: e for e in staged.files}
        stored = [
            replace(f, sha256=by_path[f.path].sha256, crc32=by_path[f.path].crc32)
            for f in prepared.artifact.files
        ]
        artifact = replace(
            prepared.artifact.with_files(stored),
            visibility=Visibility.PRIVATE,
            keys=frozenset(keys_for(name, "", None)),
        )
        judged = self._judged(replace(prepared, artifact=artifact))
        return judged if replaces is None else replace(judged, replaces=replaces)

    def stage_push(
        self,
        principal: Principal,
        type_: ArtifactType,
        name: str,
        url: str,
        files: tuple[ExplodedFile, ...],
        version: str | None,
    ) -> StagedUpload:
        """A Hub push's new file set (blobs already stored) held to an upload's checks."""
        normalised = self.check_upload(principal, name, version)
        if not files:
            raise InvalidInput("a repository needs at least one file")
        return StagedUpload(type_, name, normalised, url, files)

    def check_upload(self, principal: Principal, name: str, version: str | None) -> str | None:
        """The checks of an upload that need none of its bytes: the permission, the name, a Hub
        repository id it must not pass for, the version (normalised, or None)."""
        require(principal, Permission.UPLOAD)
        check_name(name)
        self._refuse_hub_impostor(name, None)
        return normalize_version(version) if version is not None else None

    def check_update(self, principal: Principal, type_: ArtifactType, artifact_id: str) -> Artifact:
        """The artifact an update would replace, if `principal` may change it."""
        current = self._artifacts.get(principal, type_, artifact_id, to=Permission.UPLOAD)
        require_owner(principal, current)
        return current

    def prepare_update(
        self, principal: Principal, type_: ArtifactType, artifact_id: str, url: str, name: str | None = None
    ) -> Admission:
        """The replacement of an artifact's content from `url`, judged; `name`, when given, must
        be the artifact's own."""
        current = self.check_update(principal, type_, artifact_id)
        if name is not None and name != current.name:
            raise InvalidInput("the name in the body must match the artifact's name")
        ref = self._sources.parse(url, type_)
        if url != current.url and self._artifacts.url_taken(type_, url, other_than=artifact_id):
            raise Conflict(f"a {type_.value} with url {url} is already registered")
        prepared = self._files.store_and_judge(describe(type_, current.name, url, self._inspect(ref)))
        return Admission(prepared.artifact, replaces=current)

    def commit(self, principal: Principal, admission: Admission, *, if_unchanged: bool = False) -> Registered:
        """A single door's commit (one metadata transaction), then what follows it; `if_unchanged`
        (`ArtifactService.commit_replacement`) for content derived from what it replaces."""
        if admission.replaces is None:
            artifact = self._artifacts.commit_new(principal, admission.artifact)
        else:
            artifact = self._artifacts.commit_replacement(
                principal, admission.replaces, admission.artifact, if_unchanged=if_unchanged
            )
        return self.settle(admission, artifact)

    def settle(self, admission: Admission, artifact: Artifact) -> Registered:
        """After the commit (a single door's, or a transaction's): count a new artifact, keep a
        gated model's rating or rate a model now (a failed rating is stored, never raised)."""
        if admission.replaces is None and self._events is not None:
            self._events.registered(artifact.type)
        if admission.rating is not None:
            self._ratings.keep(artifact, admission.rating)
            return Registered(artifact, admission.rating)
        return Registered(artifact, self._rate(artifact))

    # -- the steps ---------------------------------------------------------------------------
    def _prepare_url(
        self, principal: Principal, type_: ArtifactType, url: str, name: str | None
    ) -> PreparedArtifact:
        """Everything about a new artifact, read from its source, with nothing stored yet."""
        ref, chosen = self._checked_source(principal, type_, url, name)
        return describe(type_, chosen, url, self._inspect(ref))

    def _checked_source(
        self, principal: Principal, type_: ArtifactType, url: str, name: str | None
    ) -> tuple[SourceRef, str]:
        """The source a URL names and the artifact's name, once neither is refused: a bad URL or
        name, a name that passes for a Hub repository, a source registered already."""
        ref = self._sources.parse(url, type_)
        chosen = check_name(name) if name is not None else ref.default_name
        self._refuse_hub_impostor(chosen, ref)
        self._refuse_taken(principal, type_, url, f"a {type_.value} with url {url} is already registered")
        return ref, chosen

    def _refuse_taken(self, principal: Principal, type_: ArtifactType, url: str, said: str) -> None:
        """409 when the source is registered already. The answer names the existing artifact only
        to someone who may see it: a private upload or private upstream stays unnamed."""
        existing = self._artifacts.url_taken(type_, url)
        if existing is None:
            return
        try:
            visible = can_read(principal, self._artifacts.get_any(SYSTEM, existing.id))
        except NotFound:  # removed meanwhile
            visible = False
        if not visible:
            raise Conflict(said)
        raise Conflict(f"{said} as {existing.id}", id=existing.id)

    def _refuse_hub_impostor(self, name: str, ref: SourceRef | None) -> None:
        """Refuse (409) a name that is, ignoring case, the Hub repository id of an artifact
        mirrored from the Hub, unless the new artifact is that very repository: the Hugging Face
        door answers to names, so such a name would pass one artifact off as another. Only
        namespaced names (`owner/name`) are held to it; a bare name is also a short name that
        unrelated repositories share, and the door ranks the real repository above it anyway."""
        key = name.strip().lower()
        if "/" not in key:
            return
        if ref is not None and ref.kind in _HUB_KINDS and ref.repo_id.lower() == key:
            return
        for summary in self._keys.answering_to({key}, EVERYTHING).get(key, []):
            try:
                artifact = self._artifacts.get_any(SYSTEM, summary.id)
            except NotFound:
                continue  # removed meanwhile
            if from_hub(artifact) and canonical_id(artifact).lower() == key:
                raise Conflict(
                    f"the name {name!r} is the Hugging Face repository id of another registered "
                    "artifact; choose a name of your own"
                )

    def _inspect(self, ref: SourceRef) -> SourceSnapshot:
        """The source's snapshot. A URL that names no repository upstream is a malformed
        registration (the contract's 400), not a missing registry artifact (404 is for ids)."""
        try:
            return self._sources.inspect(ref)
        except NotFound as exc:
            raise InvalidInput(f"{ref.url} names no repository upstream: {exc.message}") from exc

    def _judged(self, prepared: PreparedArtifact) -> Admission:
        if not prepared.judged:
            prepared = self._files.store_and_judge(prepared)
        return Admission(prepared.artifact)

    def _gated(self, prepared: PreparedArtifact) -> Admission:
        """Rate before committing: the weights are mirrored and judged first, since an unsafe
        file keeps the model out. Refused: nothing is stored but orphan blobs (collectable)."""
        prepared = self._files.judge_weights(prepared)
        rating = self._ratings.compute(prepared.artifact)
        failing = gate_failures(rating)
        if failing:
            raise Disqualified(
                "the model's rating does not pass the ingest gate (every metric must be at least 0.5)",
                failing_metrics=failing,
            )
        return Admission(prepared.artifact, rating=rating)

    def _rate(self, artifact: Artifact) -> StoredRating | None:
        return self._ratings.refresh(artifact) if artifact.type is ArtifactType.MODEL else None
