from typing import Any

import pytest

from tests.emulator.hf_cards import BERT_BODY
from tests.unit.rating.fixtures import GOOD_BODY, GOOD_META, bare_model, card_text, good_model, with_readme
from tmr.rating.metrics import performance_claims


def claims(readme: str) -> float:
    return performance_claims.compute(with_readme(bare_model(), readme))


def test_good_beats_bare() -> None:
    assert performance_claims.compute(good_model()) > 0.9
    assert performance_claims.compute(bare_model()) == 0.0


def test_numbers_on_named_datasets_beat_prose() -> None:
    prose = claims("Our model is state-of-the-art and outperforms everything on accuracy.")
    numbers = claims("It reaches 93.2% accuracy on SST-2 and 88.5 F1 on SQuAD and 71.2 on MMLU.")
    table = claims("| Dataset | Accuracy |\n|---|---|\n| SST-2 | 93.2 |")
    anonymous_table = claims("| Setting | Score |\n|---|---|\n| ours | 93.2 |")
    assert 0 < prose < anonymous_table < table
    assert prose < numbers
    assert numbers == pytest.approx(table)


def test_model_index_is_the_strongest_evidence() -> None:
    index_only = with_readme(bare_model(), card_text({"model-index": GOOD_META["model-index"]}, "# Model\n"))
    assert performance_claims.components(index_only)["structured"] == 1.0
    assert performance_claims.compute(index_only) > claims(
        "| Dataset | Accuracy |\n|---|---|\n| SST-2 | 93.2 |"
    )


def result(dataset: dict[str, Any] | None, value: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"metrics": [{"type": "accuracy", "value": value}]}
    if dataset is not None:
        entry["dataset"] = dataset
    return entry


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([result({"name": "SST-2"}, 0.93)], 1 / 3),
        ([result(None, 0.93)], 1 / 6),
        ([result({"name": "SST-2"}, "n/a")], 0.0),
        ([result({"name": "SST-2"}, True)], 0.0),
        ([result({"name": "SST-2"}, "93.2%")], 1 / 3),
        ([result({"type": "squad"}, 88)] * 5, 1.0),
        ("garbage", 0.0),
    ],
)
def test_model_index_counting(results: Any, expected: float) -> None:
    index = [{"name": "m", "results": results}]
    assert performance_claims._model_index(index) == pytest.approx(expected)
    assert performance_claims._model_index("not a list of dicts") == 0.0


def test_paper_and_evaluation_section_support_claims() -> None:
    assert claims("See https://arxiv.org/abs/1810.04805.") > 0
    assert claims("## Evaluation\nWe evaluated it.") > 0
    assert claims("## Evaluation\narXiv:1810.04805") > claims("## Evaluation\nWe evaluated it.")


def test_years_and_versions_are_not_results() -> None:
    assert claims("Released in 2018 with SQuAD v1.1 support, trained on 2048 GPUs.") == 0.0


def test_bert_card_tables_count_as_named_benchmarks() -> None:
    evidence = with_readme(bare_model(), card_text({"license": "apache-2.0"}, BERT_BODY))
    parts = performance_claims.components(evidence)
    assert parts["numeric"] == 1.0
    assert parts["support"] == 1.0
    assert parts["structured"] == 0.0


def test_removing_the_model_index_lowers_the_good_score() -> None:
    meta = {k: v for k, v in GOOD_META.items() if k != "model-index"}
    without = with_readme(good_model(), card_text(meta, GOOD_BODY))
    assert performance_claims.compute(without) < performance_claims.compute(good_model())
