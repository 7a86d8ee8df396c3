"""A stored rating as the artifact page presents it: words for every state of a score (applicable,
not applicable, failed, missing), size fit per device, and evidence sentences that name what the
metrics read without inventing numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tmr.artifacts.interfaces import StoredRating
from tmr.artifacts.models import Artifact, ArtifactType
from tmr.rating.engine import DEVICES
from tmr.web.ratings import SUB_SCORES, rating_view

CARD = "---\nlicense: mit\n---\n# Model\n\nSome words here.\n\n```python\nprint(1)\n```\n"


def artifact(readme: str = CARD) -> Artifact:
    return Artifact(id="1", type=ArtifactType.MODEL, name="m", url="https://huggingface.co/a/m", source="hf",
                    readme=readme)  # fmt: skip


def fields(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"name": "m", "category": "nlp/fill-mask", "net_score": 0.5}
    for key in SUB_SCORES:
        values[key] = 0.5
        values[f"{key}_latency"] = 0.002
    values["net_score_latency"] = 0.01
    values["size_score"] = {"raspberry_pi": 0.0, "jetson_nano": 0.4, "desktop_pc": 1.0, "aws_server": 1.0}
    values.update(overrides)
    return values


def stored(
    rating: dict[str, Any], evidence: dict[str, Any], errors: dict[str, str] | None = None
) -> StoredRating:
    return StoredRating(rating, evidence, bool(errors), datetime(2025, 1, 2, tzinfo=UTC), 2, errors or {})


def test_every_sub_score_has_a_meaning_evidence_and_latency() -> None:
    view = rating_view(stored(fields(), {"files": [], "repository": None, "datasets": []}), artifact())
    assert [row.key for row in view.rows] == list(SUB_SCORES)
    for row in view.rows:
        assert row.meaning
        assert row.evidence
        assert row.latency == "2.0 ms"
    assert view.net.score_text == "0.50"
    assert view.net.level.word == "fair"
    assert view.category == "nlp/fill-mask"


def test_reviewedness_minus_one_is_said_in_words() -> None:
    alone = rating_view(stored(fields(reviewedness=-1.0), {"repository": None}), artifact())
    row = next(r for r in alone.rows if r.key == "reviewedness")
    assert row.score is None
    assert row.score_text == "no linked repository"
    repository = {"full_name": "o/r", "pulls": None, "contributors": [], "files": []}
    unread = rating_view(stored(fields(reviewedness=-1.0), {"repository": repository}), artifact())
    row = next(r for r in unread.rows if r.key == "reviewedness")
    assert row.score_text == "not measurable"
    assert "could not be read" in row.evidence


def test_size_fit_per_device_in_words_and_bars() -> None:
    files = [{"path": "model.safetensors", "size": 3 * 1024**3, "kind": "weights"}]
    view = rating_view(stored(fields(), {"files": files}), artifact())
    assert [d.key for d in view.devices] == list(DEVICES)
    verdicts = {d.key: (d.verdict, d.bar, d.score_text) for d in view.devices}
    assert verdicts["raspberry_pi"] == ("does not fit", 0.0, "0.00")
    assert verdicts["jetson_nano"] == ("tight fit", 40.0, "0.40")
    assert verdicts["aws_server"] == ("fits comfortably", 100.0, "1.00")
    assert "3.2 GB" in view.size_evidence  # the metric's own count of one deployable copy


def test_a_failed_rating_shows_no_made_up_numbers() -> None:
    failed = stored(
        {"name": "m", "category": "unknown"}, {"error": "GitHub is down"}, {"evidence": "GitHub is down"}
    )
    view = rating_view(failed, artifact())
    assert view.failed
    assert view.errors == (("evidence", "GitHub is down"),)
    assert all(row.score is None for row in view.rows)
    assert view.net.score_text == "not recorded"
    one = rating_view(stored(fields(), {}, {"bus_factor": "ValueError: x"}), artifact())
    row = next(r for r in one.rows if r.key == "bus_factor")
    assert (row.score_text, row.level.word) == ("failed", "failed")


def test_evidence_sentences_name_what_was_read() -> None:
    evidence = {
        "card": {"license": "mit", "base_model": "org/parent", "model-index": [{"results": [{}, {}]}]},
        "license": "mit",
        "files": [{"path": "config.json", "size": 10, "kind": "config"}],
        "repository": {
            "full_name": "org/code",
            "license": "Apache-2.0",
            "stars": 1200,
            "pushed_at": "2024-07-23T00:00:00",
            "archived": False,
            "files": [{"path": "tests/test_a.py", "size": 1, "kind": "code"}],
            "contributors": [
                {"login": "a", "contributions": 10},
                {"login": "b", "contributions": 5},
                {"login": "dependabot[bot]", "contributions": 50},
            ],
            "pulls": [
                {"number": 1, "approved": True, "code_lines": 30},
                {"number": 2, "approved": False, "code_lines": 10},
            ],
            "direct_commit_lines": 7,
        },
        "datasets": [
            {"name": "Org/Data", "url": "https://huggingface.co/datasets/Org/Data", "license": "cc0-1.0"},
            {"name": "lost", "url": None},
        ],
        "parent_net_scores": [0.8],
    }
    rows = {r.key: r.evidence for r in rating_view(stored(fields(), evidence), artifact()).rows}
    assert "2 people" in rows["bus_factor"]
    assert "1 bot left out" in rows["bus_factor"]
    assert "2 results" in rows["performance_claims"]
    assert "org/code: Apache-2.0" in rows["license"]
    assert "1 of 2 found" in rows["dataset_and_code_score"]
    assert rows["dataset_and_code_score"].startswith(
        "Datasets named: Org/Data, lost"
    )  # names keep their case
    assert "lost (could not be read)" in rows["dataset_quality"]
    assert "1,200 stars" in rows["code_quality"]
    assert "2 merged pull requests" in rows["reviewedness"]
    assert "1 with an approving review" in rows["reviewedness"]
    assert "7 code lines committed without review" in rows["reviewedness"]
    assert "org/parent" in rows["tree_score"]
    assert "0.80" in rows["tree_score"]
    assert "1 code block (1 marked Python)" in rows["reproducibility"]
    assert "No weights files" in rows["size_score"]
