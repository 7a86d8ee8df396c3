import dataclasses

import pytest

from tests.unit.rating.fixtures import bare_model, dataset, good_model, repository, with_readme
from tmr.rating.evidence import FileFact
from tmr.rating.metrics import dataset_and_code


def test_good_beats_bare() -> None:
    assert dataset_and_code.compute(good_model()) == pytest.approx(1.0)
    assert dataset_and_code.compute(bare_model()) == 0.0


def test_unresolved_datasets_score_less_than_resolved() -> None:
    good = good_model()
    half = dataclasses.replace(good, datasets=(dataset(), dataset("gone/data", url=None, registered=False)))
    none = dataclasses.replace(good, datasets=(dataset("gone/data", url=None, registered=False),))
    assert dataset_and_code.components(half)["datasets_resolved"] == 0.5
    scores = [dataset_and_code.compute(e) for e in (none, half, good)]
    assert scores == sorted(scores)
    assert len(set(scores)) == 3


def test_registered_dataset_counts_as_reachable() -> None:
    evidence = good_model(datasets=(dataset(url=None, registered=True),))
    assert dataset_and_code.components(evidence)["datasets_resolved"] == 1.0


def test_code_read_beats_code_named_beats_nothing() -> None:
    named = with_readme(bare_model(), "Code: https://github.com/acme/bert-sst2")
    read = dataclasses.replace(named, repository=repository())
    assert dataset_and_code.components(named)["code_linked"] == 0.5
    assert (
        dataset_and_code.compute(bare_model())
        < dataset_and_code.compute(named)
        < dataset_and_code.compute(read)
    )


def test_datasets_only_mentioned_in_the_body_get_half_credit() -> None:
    mentioned = with_readme(bare_model(), "## Training data\nhttps://huggingface.co/datasets/squad")
    assert dataset_and_code.components(mentioned)["datasets_named"] == 0.5


def test_training_code_from_files_or_card() -> None:
    script = bare_model(files=(FileFact("scripts/train_lora.py", 100, "code"),))
    mention = with_readme(bare_model(), "Run the training script to reproduce.")
    unrelated = bare_model(files=(FileFact("utils/helpers.py", 100, "code"),))
    assert dataset_and_code.components(script)["training_code"] == 1.0
    assert dataset_and_code.components(mention)["training_code"] == 1.0
    assert dataset_and_code.components(unrelated)["training_code"] == 0.0
    repo = repository(files=(FileFact("finetune.py", 100, "code"),))
    assert dataset_and_code.components(bare_model(repository=repo))["training_code"] == 1.0
