"""RegistrationService with in-memory storage, a scripted upstream and a file mirror that only marks
what it judged: the doors' permission checks, name and URL conflicts (naming only what the caller
may see), Hub impostors, the ingest gate, updates and uploads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from tests.unit.memory_repo import MemoryArtifacts, MemoryBlobs
from tmr.accounts.models import ALL_PERMISSIONS, Permission, Principal
from tmr.artifacts.building import PreparedArtifact
from tmr.artifacts.models import Artifact, ArtifactType, FileKind, Visibility
from tmr.artifacts.registration import Registered, RegistrationService
from tmr.artifacts.service import ArtifactService
from tmr.artifacts.uploads import ExplodedFile, SpooledUpload, UploadLimits
from tmr.errors import Conflict, Disqualified, InvalidInput, NotFound, PermissionDenied
from tmr.rating.engine import DEVICES, RatingEngine
from tmr.rating.service import RatingService
from tmr.sources.models import SourceKind, SourceRef, SourceSnapshot, UpstreamFile

ALICE = Principal("alice", permissions=ALL_PERMISSIONS)
BOB = Principal("bob", permissions=ALL_PERMISSIONS)
READER = Principal("reader", permissions=frozenset({Permission.SEARCH}))


class Upstream:
    """Parses Hugging Face URLs `https://huggingface.co/<owner>/<name>`; everything else is a plain URL."""

    def __init__(self, missing: set[str] | None = None) -> None:
        self.missing = missing or set()

    def parse(self, url: str, type_: ArtifactType) -> SourceRef:
        if url.startswith("https://huggingface.co/"):
            return SourceRef(SourceKind.HF_MODEL, url, repo_id=url.removeprefix("https://huggingface.co/"))
        return SourceRef(SourceKind.URL, url, host="example.org")

    def inspect(self, ref: SourceRef) -> SourceSnapshot:
        if ref.url in self.missing:
            raise NotFound("404 upstream")
        return SourceSnapshot(
            ref=ref,
            readme="# A model",
            facts={"repo_id": ref.repo_id} if ref.repo_id else {},
            files=(UpstreamFile("config.json", 2, FileKind.CONFIG, "", None, b"{}"),),
        )


@dataclass
class Mirror:
    judged: list[str] = field(default_factory=list)
    stored_uploads: list[str] = field(default_factory=list)

    def store_and_judge(self, prepared: PreparedArtifact) -> PreparedArtifact:
        self.judged.append("store:" + prepared.artifact.name)
        return replace(prepared, judged=True)

    def judge_weights(self, prepared: PreparedArtifact) -> PreparedArtifact:
        self.judged.append("weights:" + prepared.artifact.name)
        return replace(prepared, judged=True)

    def store_upload(self, spooled: SpooledUpload, limits: UploadLimits) -> list[ExplodedFile]:
        self.stored_uploads.append(spooled.sha256)
        return [ExplodedFile("README.md", 7, "ab" * 32, 99, FileKind.DOCS)]

    def read_stored(self, sha256: str) -> bytes:
        return b"# Mine\n"


@dataclass
class Events:
    types: list[ArtifactType] = field(default_factory=list)

    def registered(self, type_: ArtifactType) -> None:
        self.types.append(type_)


def _engine(score: float) -> RatingEngine:
    return RatingEngine(
        scalar_metrics=[("license", lambda e: score)],
        size_metric=lambda e: dict.fromkeys(DEVICES, 1.0),
        category_metric=lambda e: "MODEL",
        net_score=lambda s: s["license"],
        workers=1,
    )


@dataclass
class World:
    service: RegistrationService
    repo: MemoryArtifacts
    mirror: Mirror
    events: Events


def _world(
    *artifacts: Artifact, score: float = 0.9, gate: bool = False, missing: set[str] | None = None
) -> World:
    repo = MemoryArtifacts(*artifacts)
    service = ArtifactService(repo, MemoryBlobs())
    ratings = RatingService(repo, service, Upstream(), _engine(score))  # type: ignore[arg-type]
    mirror, events = Mirror(), Events()
    registration = RegistrationService(
        service,
        mirror,  # type: ignore[arg-type]
        Upstream(missing),
        ratings,
        repo,
        gate_models=gate,
        upload_limits=UploadLimits(),
        events=events,
    )
    return World(registration, repo, mirror, events)


HF = "https://huggingface.co/acme/bert"


def test_registered_net_score() -> None:
    world = _world()
    done = world.service.register(ALICE, ArtifactType.MODEL, HF, None)
    assert done.net_score == 0.9
    assert Registered(done.artifact).net_score is None
    assert Registered(done.artifact, replace(done.rating, failed=True)).net_score is None  # type: ignore[arg-type]


def test_register_a_model_commits_rates_and_counts_it() -> None:
    world = _world()
    done = world.service.register(ALICE, ArtifactType.MODEL, HF, None)
    artifact = done.artifact
    assert (artifact.name, artifact.url, artifact.created_by) == ("bert", HF, "alice")
    assert world.repo.rows[artifact.id] == artifact
    assert world.repo.ratings[artifact.id] == done.rating
    assert world.mirror.judged == ["store:bert"]
    assert world.events.types == [ArtifactType.MODEL]


def test_register_a_dataset_is_not_rated() -> None:
    world = _world()
    done = world.service.register(ALICE, ArtifactType.DATASET, "https://example.org/data", "my data")
    assert done.rating is None
    assert done.artifact.name == "my data"
    assert world.repo.ratings == {}


def test_register_needs_upload_and_a_valid_name() -> None:
    world = _world()
    with pytest.raises(PermissionDenied):
        world.service.register(READER, ArtifactType.MODEL, HF, None)
    with pytest.raises(InvalidInput, match=r'^the name "\*" is reserved$'):
        world.service.register(ALICE, ArtifactType.MODEL, HF, "*")


def test_a_url_naming_nothing_upstream_is_invalid_input() -> None:
    world = _world(missing={HF})
    with pytest.raises(InvalidInput, match=rf"^{HF} names no repository upstream: 404 upstream$"):
        world.service.register(ALICE, ArtifactType.MODEL, HF, None)


def test_a_registered_url_conflicts_and_names_the_artifact_to_those_who_see_it() -> None:
    world = _world()
    first = world.service.register(ALICE, ArtifactType.MODEL, HF, None).artifact
    with pytest.raises(Conflict) as taken:
        world.service.register(BOB, ArtifactType.MODEL, HF, None)
    assert taken.value.message == f"a model with url {HF} is already registered as {first.id}"
    assert taken.value.details == {"id": first.id}


def test_a_private_registration_conflicts_without_its_id() -> None:
    secret = Artifact(
        id="7",
        type=ArtifactType.MODEL,
        name="secret",
        url=HF,
        source="huggingface_model",
        visibility=Visibility.PRIVATE,
        created_by="alice",
    )
    world = _world(secret)
    with pytest.raises(Conflict) as taken:
        world.service.register(BOB, ArtifactType.MODEL, HF, None)
    assert taken.value.message == f"a model with url {HF} is already registered"
    assert taken.value.details == {}


def test_a_hub_repository_id_cannot_be_taken_as_a_name() -> None:
    world = _world()
    world.service.register(ALICE, ArtifactType.MODEL, HF, "acme/bert")
    stored = next(iter(world.repo.rows.values()))
    world.repo.rows[stored.id] = replace(
        stored, source="huggingface_model", upstream={"repo_id": "acme/bert"}, keys=frozenset({"acme/bert"})
    )
    with pytest.raises(Conflict, match=r"^the name 'ACME/Bert' is the Hugging Face repository id of another"):
        world.service.register(BOB, ArtifactType.DATASET, "https://example.org/x", "ACME/Bert")
    # A bare name and the repository itself are not impostors.
    assert world.service.register(BOB, ArtifactType.DATASET, "https://example.org/y", "bert").artifact
    dup = world.service.register(BOB, ArtifactType.MODEL, "https://huggingface.co/acme/Bert", "acme/bert")
    assert dup.artifact.name == "acme/bert"


def test_gated_registration_refuses_a_low_rating_and_stores_nothing() -> None:
    world = _world(score=0.2, gate=True)
    with pytest.raises(Disqualified) as refused:
        world.service.register(ALICE, ArtifactType.MODEL, HF, None)
    assert refused.value.message.startswith("the model's rating does not pass the ingest gate")
    assert refused.value.details == {"failing_metrics": {"license": 0.2, "net_score": 0.2}}
    assert world.repo.rows == {}
    assert world.events.types == []
    assert world.mirror.judged == ["weights:bert"]


def test_ingest_admits_a_passing_model_with_its_rating_kept() -> None:
    world = _world(score=0.75)
    done = world.service.ingest(ALICE, HF, "mine")
    assert done.net_score == 0.75
    kept = world.repo.ratings[done.artifact.id]
    # Computed before the commit, the kept rating is dated from it so it is not stale at once.
    assert kept.rating == done.rating.rating  # type: ignore[union-attr]
    assert kept.computed_at == done.artifact.updated_at
    assert world.mirror.judged == ["weights:mine"]


def test_update_replaces_content_and_rates_again() -> None:
    world = _world()
    first = world.service.register(ALICE, ArtifactType.MODEL, HF, None).artifact
    other = "https://huggingface.co/acme/bert-v2"
    done = world.service.update(ALICE, ArtifactType.MODEL, first.id, "bert", other)
    assert (done.artifact.id, done.artifact.url, done.artifact.updated_by) == (first.id, other, "alice")
    assert done.rating is not None
    with pytest.raises(InvalidInput, match=r"^the name in the body must match the artifact's name$"):
        world.service.update(ALICE, ArtifactType.MODEL, first.id, "renamed", other)
    with pytest.raises(PermissionDenied, match=r"owner"):
        world.service.update(BOB, ArtifactType.MODEL, first.id, "bert", other)


def test_update_to_a_url_registered_by_another_artifact_conflicts() -> None:
    world = _world()
    first = world.service.register(ALICE, ArtifactType.MODEL, HF, None).artifact
    world.service.register(ALICE, ArtifactType.MODEL, "https://huggingface.co/acme/gpt", None)
    with pytest.raises(
        Conflict, match=r"^a model with url https://huggingface.co/acme/gpt is already registered$"
    ):
        world.service.update(ALICE, ArtifactType.MODEL, first.id, "bert", "https://huggingface.co/acme/gpt")


def test_upload_makes_a_private_artifact_of_its_uploader(tmp_path: Path) -> None:
    world = _world()
    spooled = SpooledUpload(tmp_path / "up.zip", 10, "cd" * 32)
    done = world.service.upload(ALICE, ArtifactType.MODEL, spooled, "in-house", "v1.2")
    artifact = done.artifact
    assert artifact.visibility is Visibility.PRIVATE
    assert artifact.created_by == "alice"
    assert artifact.url == "upload:sha256:" + "cd" * 32
    assert artifact.version == "1.2.0"
    [readme] = artifact.files
    assert (readme.path, readme.sha256, readme.crc32) == ("README.md", "ab" * 32, 99)
    assert done.rating is not None
    with pytest.raises(Conflict, match=r"^this zip is already uploaded as a model as "):
        world.service.upload(ALICE, ArtifactType.MODEL, spooled, "again", None)
    with pytest.raises(Conflict, match=r"^this zip is already uploaded as a model$"):
        world.service.upload(BOB, ArtifactType.MODEL, spooled, "again", None)
    assert world.mirror.stored_uploads == ["cd" * 32]
