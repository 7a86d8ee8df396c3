import dataclasses
from datetime import timedelta

import pytest

from tests.unit.rating.fixtures import NOW, bare_model, good_model, repository
from tmr.rating.evidence import FileFact
from tmr.rating.metrics import code_quality
from tmr.rating.metrics.common import weighted


def score(**changes: object) -> float:
    return code_quality.compute(bare_model(repository=repository(**changes), observed_at=NOW))


def test_good_beats_bare_and_no_repository_is_zero() -> None:
    assert code_quality.compute(good_model()) > 0.9
    assert code_quality.compute(bare_model()) == 0.0
    assert code_quality.compute(bare_model(observed_at=NOW)) == 0.0


@pytest.mark.parametrize(
    ("label", "change"),
    [
        ("no tests", {"files": tuple(f for f in repository().files if "test" not in f.path)}),
        ("no ci", {"files": tuple(f for f in repository().files if ".github" not in f.path)}),
        (
            "no packaging",
            {
                "files": tuple(
                    f for f in repository().files if f.path not in ("pyproject.toml", "requirements.txt")
                )
            },
        ),
        ("short readme", {"readme": "Code."}),
        ("no license", {"license": None}),
        ("unnamed license", {"license": "NOASSERTION"}),
        ("archived", {"archived": True}),
        ("no stars", {"stars": 3}),
        ("stale", {"pushed_at": NOW - timedelta(days=3 * 365)}),
    ],
)
def test_each_signal_counts(label: str, change: dict[str, object]) -> None:
    assert score(**change) < score(), label


def test_recency_is_judged_when_the_evidence_was_gathered() -> None:
    repo = repository(pushed_at=NOW - timedelta(days=90 + 365))
    gathered = bare_model(repository=repo, observed_at=NOW)
    assert code_quality.components(repo, NOW)["recency"] == pytest.approx(0.5)
    # A year later the same push is older, whatever the clock says when the score is computed.
    later = dataclasses.replace(gathered, observed_at=NOW + timedelta(days=365))
    assert code_quality.compute(later) < code_quality.compute(gathered)
    # Evidence without the time it was gathered leaves recency out: the other weights renormalise.
    assert code_quality.components(repo)["recency"] is None
    undated = dataclasses.replace(gathered, observed_at=None)
    assert code_quality.compute(undated) == pytest.approx(
        weighted(code_quality.components(repo), code_quality.WEIGHTS)
    )
    assert code_quality.compute(undated) > code_quality.compute(gathered)


def test_recency_decays() -> None:
    fresh = code_quality.recency(NOW - timedelta(days=30), NOW)
    year = code_quality.recency(NOW - timedelta(days=90 + 365), NOW)
    assert fresh == 1.0
    assert year == pytest.approx(0.5)
    assert code_quality.recency(None, NOW) == 0.0
    assert code_quality.recency(NOW.replace(tzinfo=None), NOW) == 1.0  # naive times are UTC


def test_test_and_ci_detection() -> None:
    def parts(*paths: str) -> dict[str, float | None]:
        repo = repository(files=tuple(FileFact(p, 1, "code") for p in paths))
        return code_quality.components(repo, NOW)

    assert parts("pkg/foo_test.py")["tests"] == 1.0
    assert parts("test_foo.py")["tests"] == 1.0
    assert parts("src/app.test.ts")["tests"] == 1.0
    assert parts("src/contest.py", "testing_notes.md")["tests"] == 0.0
    assert parts(".gitlab-ci.yml")["ci"] == 1.0
    assert parts("docs/.github/workflows/x.yml")["ci"] == 0.0
    assert parts("requirements-dev.txt")["packaging"] == 1.0
    assert parts("src/setup_utils.py")["packaging"] == 0.0


def test_more_stars_never_lower_the_score() -> None:
    scores = [score(stars=s) for s in (0, 10, 100, 1000, 100_000)]
    assert scores == sorted(scores)
    assert scores[0] < scores[-1]


def test_no_push_time_scores_zero_on_recency() -> None:
    assert code_quality.components(repository(pushed_at=None), NOW)["recency"] == 0.0
    assert score(pushed_at=None) < score()
