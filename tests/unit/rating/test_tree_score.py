import math

import pytest

from tests.unit.rating.fixtures import GOOD_META, bare_model, card_text, good_model, with_readme
from tmr.rating.metrics import tree_score


def model(parents: tuple[float, ...], meta: dict[str, object] | None = None) -> float:
    evidence = with_readme(bare_model(parent_net_scores=parents), card_text(meta, "# Model\n"))
    return tree_score.compute(evidence)


def test_good_beats_bare() -> None:
    assert tree_score.compute(good_model()) == pytest.approx(0.86)
    assert tree_score.compute(bare_model()) == tree_score.UNKNOWN


def test_mean_of_parents_and_monotonic() -> None:
    assert model((0.2, 0.6), {"base_model": ["a/b", "c/d"]}) == pytest.approx(0.4)
    scores = [model((p,), {"base_model": "a/b"}) for p in (0.0, 0.3, 0.6, 0.9)]
    assert scores == sorted(scores)
    assert len(set(scores)) == 4


def test_declared_but_unrated_parents_are_unknown() -> None:
    assert model((), {"base_model": "a/b"}) == tree_score.UNKNOWN
    assert model((0.9,), {"base_model": ["a/b", "c/d"]}) == pytest.approx((0.9 + 0.5) / 2)
    adapter = bare_model(adapter_config={"base_model_name_or_path": "a/b"})
    assert tree_score.declared_parents(adapter) == 1
    assert tree_score.compute(adapter) == tree_score.UNKNOWN


def test_roots_and_unknown_lineage() -> None:
    assert model((), {"license": "mit"}) == tree_score.ROOT  # a readable card declaring no parent
    assert model((), None) == tree_score.UNKNOWN  # no metadata: lineage unknown
    broken = with_readme(bare_model(), "---\nbase_model: [a\n  : :\n---\nbody")
    assert broken.card_error is not None
    assert tree_score.compute(broken) == tree_score.UNKNOWN


def test_self_and_cyclic_parents_are_ordinary_scores() -> None:
    # A cycle reaches the metric as its members' scores (possibly the model's own): each counts once.
    assert model((0.7, 0.7), {"base_model": "me/model"}) == pytest.approx(0.7)
    assert model((0.1, 0.9), {"base_model": ["a/b", "me/model"]}) == pytest.approx(0.5)


def test_out_of_range_and_nan_parent_scores_are_contained() -> None:
    assert model((1.7,), GOOD_META) == 1.0
    assert model((-1.0,), GOOD_META) == 0.0
    assert model((math.nan,), {"base_model": "a/b"}) == tree_score.UNKNOWN
