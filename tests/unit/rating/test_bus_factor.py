import pytest

from tests.unit.rating.fixtures import bare_model, contributors, good_model, repository, with_readme
from tmr.rating.metrics import bus_factor
from tmr.sources.facts import Contributor


def repo_model(*counts: int) -> float:
    return bus_factor.compute(bare_model(repository=repository(contributors=contributors(*counts))))


def test_good_beats_bare() -> None:
    assert bus_factor.compute(good_model()) > 0.5
    assert bus_factor.compute(bare_model()) == 0.0


def test_one_contributor_is_zero() -> None:
    assert repo_model(500) == 0.0


def test_more_even_contributors_score_higher() -> None:
    scores = [repo_model(*([10] * n)) for n in (1, 2, 3, 5, 10, 20, 50)]
    assert scores == sorted(scores)
    assert len(set(scores)) == len(scores)
    assert scores[-1] > 0.95


def test_concentration_lowers_the_score() -> None:
    even = repo_model(100, 100, 100, 100)
    skewed = repo_model(370, 10, 10, 10)
    assert skewed < even
    assert repo_model(1000, 1, 1, 1, 1, 1, 1, 1) < repo_model(10, 10)


def test_normalisation() -> None:
    evenness, breadth = bus_factor.concentration([10, 10, 10, 10, 10])
    assert evenness == pytest.approx(1.0)
    assert breadth == pytest.approx(1 - 2.718281828 ** (-4 / 5), rel=1e-6)
    assert bus_factor.concentration([7]) == (0.0, 0.0)


def test_bots_hold_no_knowledge() -> None:
    people = (Contributor("alice", 50), Contributor("dependabot[bot]", 500), Contributor("bob", 0))
    assert bus_factor.people(people) == [50]


def test_without_contributors_only_written_knowledge_counts_and_stays_low() -> None:
    documented = bus_factor.compute(good_model(repository=None))
    assert 0 < documented <= bus_factor.FALLBACK_CAP
    assert bus_factor.compute(with_readme(bare_model(), "## Training\nlearning rate 1e-4")) > 0
    assert bus_factor.compute(with_readme(bare_model(), "## Training\nlearning rate 1e-4")) < documented
    # contributors that could not be read are no evidence either
    unread = good_model(repository=repository(contributors=()))
    assert bus_factor.compute(unread) == documented


def test_linking_a_one_person_repository_never_lowers_the_score() -> None:
    alone = good_model(repository=repository(contributors=contributors(400)))
    assert bus_factor.compute(alone) == bus_factor.compute(good_model(repository=None))
