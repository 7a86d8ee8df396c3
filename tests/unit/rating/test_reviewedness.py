import pytest

from tests.unit.rating.fixtures import bare_model, good_model, pulls, repository
from tmr.rating.metrics import reviewedness


def score(*specs: tuple[bool, int], direct: int = 0) -> float:
    return reviewedness.compute(
        bare_model(repository=repository(pulls=pulls(*specs), direct_commit_lines=direct))
    )


def test_good_beats_bare_which_has_no_repository() -> None:
    assert reviewedness.compute(good_model()) > 0.9
    assert reviewedness.compute(bare_model()) == -1.0


def test_fraction_of_code_lines() -> None:
    assert score((True, 300), (False, 100)) == pytest.approx(0.75)
    assert score((True, 300), (False, 100), direct=200) == pytest.approx(0.5)
    assert score((True, 10)) == 1.0
    assert score((False, 10)) == 0.0


def test_more_approved_lines_score_higher() -> None:
    scores = [score((True, n), (False, 100), direct=50) for n in (0, 10, 100, 1000, 10_000)]
    assert scores == sorted(scores)
    assert len(set(scores)) == len(scores)


def test_direct_commits_count_as_unreviewed() -> None:
    assert score((True, 100), direct=100) < score((True, 100))


def test_no_pull_requests() -> None:
    assert score() == 0.0  # nothing merged, nothing pushed: no reviewed code to credit
    assert score(direct=500) == 0.0  # everything entered unreviewed
    assert score((True, 0), (False, 0)) == 0.0  # PRs without code lines (weights only)


def test_unreadable_pull_requests_are_not_measurable() -> None:
    evidence = bare_model(repository=repository(pulls=None, direct_commit_lines=100))
    assert reviewedness.compute(evidence) == reviewedness.NOT_APPLICABLE
    assert reviewedness.line_counts(repository(pulls=None)) is None


def test_negative_counts_do_not_cancel_real_lines() -> None:
    assert score((True, 100), (False, -100)) == 1.0
    assert score((True, 100), direct=-50) == 1.0
