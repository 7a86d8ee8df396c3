"""RatingService over in-memory storage and a stand-in engine: when a stored rating is stale, how
parents are rated first (cycles cut), a gathering outage as a failed rating, and listings that show
only current scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.memory_repo import MemoryArtifacts, MemoryBlobs
from tmr.accounts.models import Permission, Principal
from tmr.artifacts.interfaces import StoredRating
from tmr.artifacts.models import Artifact, ArtifactLink, ArtifactType, FileEntry, FileKind
from tmr.artifacts.service import ArtifactService
from tmr.errors import NotFound, UpstreamUnavailable
from tmr.rating.engine import ENGINE_VERSION, SAFETY_FIELD, RatingEngine
from tmr.rating.evidence import ModelEvidence
from tmr.rating.service import RatingService, _jsonable
from tmr.sources.facts import PullRequest

READER = Principal("reader", permissions=frozenset({Permission.SEARCH}))
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Sources:
    """No upstream: every repository a card links to is unavailable, unless told it is absent."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.asked: list[str] = []

    def inspect_cached(self, url: str, type_: ArtifactType) -> object:
        self.asked.append(url)
        raise self.error

    def pull_requests(self, repo_id: str) -> Sequence[PullRequest]:
        raise AssertionError("not reached")


def _parents_mean(evidence: ModelEvidence) -> float:
    scores = evidence.parent_net_scores
    return sum(scores) / len(scores) if scores else 0.8


def _engine() -> RatingEngine:
    return RatingEngine(
        scalar_metrics=[("tree_score", _parents_mean)],
        size_metric=lambda e: dict.fromkeys(("raspberry_pi", "jetson_nano", "desktop_pc", "aws_server"), 1.0),
        category_metric=lambda e: "MODEL",
        net_score=lambda scores: scores["tree_score"] / 2,
        workers=1,
    )


def _model(ident: str, keys: set[str], links: Sequence[ArtifactLink] = (), **kw: object) -> Artifact:
    return Artifact(
        id=ident,
        type=ArtifactType.MODEL,
        name=f"m{ident}",
        url=f"https://hf.co/m{ident}",
        source="hf",
        keys=frozenset(keys),
        links=tuple(links),
        **kw,  # type: ignore[arg-type]
    )


def _service(
    *artifacts: Artifact, error: Exception | None = None
) -> tuple[RatingService, MemoryArtifacts, Sources]:
    repo = MemoryArtifacts(*artifacts)
    sources = Sources(error or NotFound("absent"))
    service = RatingService(repo, ArtifactService(repo, MemoryBlobs()), sources, _engine())  # type: ignore[arg-type]
    return service, repo, sources


def _stored(net: float = 0.5, **kw: object) -> StoredRating:
    fields: dict[str, object] = {
        "rating": {"net_score": net, SAFETY_FIELD: {"unsafe": False}},
        "evidence": {},
        "failed": False,
        "computed_at": T0,
        "engine_version": ENGINE_VERSION,
    }
    fields.update(kw)
    return StoredRating(**fields)  # type: ignore[arg-type]


def test_jsonable_shortens_long_texts_and_flattens_values() -> None:
    long = "x" * 2001
    value = _jsonable({1: (long, T0), "n": [1, None]})
    assert value == {"1": ["x" * 2000 + "… (2001 characters)", "2026-01-01T00:00:00+00:00"], "n": [1, None]}
    assert _jsonable("x" * 2000) == "x" * 2000


def test_compute_rates_a_model_without_parents() -> None:
    service, _, _ = _service()
    stored = service.compute(_model("1", {"k1"}))
    assert not stored.failed
    assert stored.errors == {}
    assert stored.rating["tree_score"] == 0.8
    assert stored.rating["net_score"] == 0.4
    assert stored.evidence["name"] == "m1"
    assert stored.evidence["parent_net_scores"] == []
    assert stored.engine_version == ENGINE_VERSION


def test_a_gathering_outage_is_a_failed_rating() -> None:
    readme = "code at https://github.com/acme/trainer"
    service, _, sources = _service(error=UpstreamUnavailable("GitHub is down"))
    stored = service.compute(_model("1", {"k1"}, readme=readme))
    assert stored.failed
    assert stored.rating == {"name": "m1", "category": "unknown"}
    assert stored.evidence == {"error": "GitHub is down"}
    assert stored.errors == {"evidence": "GitHub is down"}
    assert sources.asked == ["https://github.com/acme/trainer"]


def test_parents_are_rated_first_and_stored() -> None:
    parent = _model("p", {"kp"})
    child = _model("c", {"kc"}, [ArtifactLink("kp", "base_model", "card")])
    service, repo, _ = _service(parent, child)
    stored = service.refresh(child)
    assert repo.ratings["p"].rating["net_score"] == 0.4
    assert stored.rating["tree_score"] == 0.4
    assert stored.rating["net_score"] == 0.2
    assert repo.ratings["c"] == stored


def test_stored_parent_ratings_are_reused_and_other_links_ignored() -> None:
    parent = _model("p", {"kp"})
    data = Artifact(id="d", type=ArtifactType.DATASET, name="d", url="d", source="hf", keys=frozenset({"kd"}))
    child = _model(
        "c",
        {"kc"},
        [ArtifactLink("kp", "base_model", "card"), ArtifactLink("kd", "fine_tune", "card")],
    )
    service, repo, _ = _service(parent, data, child)
    repo.ratings["p"] = _stored(net=0.9)
    stored = service.compute(child)
    assert stored.evidence["parent_net_scores"] == [0.9]
    assert set(repo.ratings) == {"p"}


def test_a_lineage_cycle_is_cut_where_it_closes() -> None:
    one = _model("1", {"k1"}, [ArtifactLink("k2", "base_model", "card")])
    two = _model("2", {"k2"}, [ArtifactLink("k1", "adapter", "card")])
    service, repo, _ = _service(one, two)
    stored = service.compute(one)
    # 2 is rated without 1 (the cycle closes there): 0.8 / 2; then 1 from 2's score.
    assert repo.ratings["2"].rating["net_score"] == 0.4
    assert stored.rating["tree_score"] == 0.4


def test_a_failed_parent_rating_is_not_counted() -> None:
    parent = _model("p", {"kp"}, readme="https://github.com/acme/x")
    child = _model("c", {"kc"}, [ArtifactLink("kp", "base_model", "card")])
    service, repo, _ = _service(parent, child, error=UpstreamUnavailable("down"))
    stored = service.compute(child)
    assert repo.ratings["p"].failed
    assert stored.evidence["parent_net_scores"] == []


def test_stale_rules() -> None:
    artifact = _model("1", {"k"}, updated_at=T0)
    assert not RatingService.stale(_stored(), artifact)
    assert RatingService.stale(_stored(failed=True), artifact)
    assert RatingService.stale(_stored(engine_version=ENGINE_VERSION - 1), artifact)
    assert RatingService.stale(_stored(computed_at=T0 - timedelta(seconds=1)), artifact)
    unsafe_file = FileEntry("w.bin", 1, FileKind.WEIGHTS, safety={"unsafe": True})
    assert RatingService.stale(_stored(), replace(artifact, files=(unsafe_file,)))
    rated_unsafe = _stored(rating={"net_score": 0.0, SAFETY_FIELD: {"unsafe": True}})
    assert RatingService.stale(rated_unsafe, artifact)
    assert not RatingService.stale(_stored(rating={"net_score": 1.0}), replace(artifact, updated_at=None))


def test_keep_dates_an_early_rating_from_the_commit() -> None:
    artifact = _model("1", {"k"}, updated_at=T0 + timedelta(minutes=1))
    service, repo, _ = _service(artifact)
    service.keep(artifact, _stored())
    assert repo.ratings["1"].computed_at == T0 + timedelta(minutes=1)
    later = _stored(computed_at=T0 + timedelta(hours=1))
    service.keep(artifact, later)
    assert repo.ratings["1"] == later


def test_rating_serves_a_current_one_and_audits_it() -> None:
    artifact = _model("1", {"k"}, updated_at=T0)
    service, repo, _ = _service(artifact)
    repo.ratings["1"] = _stored(net=0.7)
    assert service.rating(READER, "1").rating["net_score"] == 0.7
    assert [(e.user_name, e.action) for e in repo.audit] == [("reader", "RATE")]


def test_rating_recomputes_a_missing_or_stale_one() -> None:
    artifact = _model("1", {"k"}, updated_at=T0)
    service, repo, _ = _service(artifact)
    assert service.rating(READER, "1").rating["net_score"] == 0.4
    repo.ratings["1"] = _stored(net=0.7, engine_version=0)
    assert service.rating(READER, "1").rating["net_score"] == 0.4


def test_rating_of_a_dataset_is_not_found() -> None:
    data = Artifact(id="d", type=ArtifactType.DATASET, name="d", url="d", source="hf")
    service, _, _ = _service(data)
    with pytest.raises(NotFound, match=r"^no model artifact with id d$"):
        service.rating(READER, "d")


def test_stored_net_scores_show_only_current_visible_ratings() -> None:
    fresh = _model("1", {"a"}, updated_at=T0)
    stale = _model("2", {"b"}, updated_at=T0 + timedelta(days=1))
    unrated = _model("3", {"c"})
    service, repo, _ = _service(fresh, stale, unrated)
    repo.ratings["1"] = _stored(net=0.6)
    repo.ratings["2"] = _stored(net=0.9)
    assert service.stored_net_scores(READER, ["1", "2", "3", "404", "1"]) == {"1": 0.6}
    assert repo.audit == []
