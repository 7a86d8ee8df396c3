import dataclasses
from datetime import timedelta

import pytest

from tests.unit.rating.fixtures import NOW, bare_model, good_model, repository
from tmr.rating.evidence import FileFact
from tmr.rating.metrics import code_quality


def score(**changes: object) -> float:
    return code_quality.compute(bare_model(repository=repository(**changes)), now=NOW)


def test_good_beats_bare_and_no_repository_is_zero() -> None:
    assert code_quality.compute(good_model(), now=NOW) > 0.9
    assert code_quality.compute(bare_model()) == 0.0
    assert code_quality.compute(bare_model(), now=NOW) == 0.0


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


def test_recency_needs_a_clock_and_decays() -> None:
    evidence = good_model()
    without_clock = code_quality.components(evidence.repository)  # type: ignore[arg-type]
    assert without_clock["recency"] is None
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


def test_engine_signature_without_now_is_pure() -> None:
    evidence = dataclasses.replace(good_model())
    assert code_quality.compute(evidence) == code_quality.compute(evidence)
    assert 0.0 < code_quality.compute(evidence) <= 1.0
