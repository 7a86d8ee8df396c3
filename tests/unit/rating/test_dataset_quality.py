import dataclasses
from typing import Any

import pytest

from tests.unit.rating.fixtures import bare_model, dataset, good_model
from tmr.rating.evidence import FileFact
from tmr.rating.metrics import dataset_quality


def test_good_beats_bare_and_no_dataset_is_zero() -> None:
    assert dataset_quality.compute(good_model()) > 0.9
    assert dataset_quality.compute(bare_model()) == 0.0


def test_unresolved_dataset_drags_the_mean_down() -> None:
    unknown = dataset("gone/data", url=None, card={}, readme="", license=None, downloads=0, likes=0, files=())
    assert dataset_quality.dataset_score(unknown) == 0.0
    good = good_model()
    mixed = dataclasses.replace(good, datasets=(*good.datasets, unknown))
    assert dataset_quality.compute(mixed) == pytest.approx(dataset_quality.compute(good) * 2 / 3)


@pytest.mark.parametrize(
    "change",
    [
        {"card": {}},
        {"readme": ""},
        {"license": None, "card": {"task_categories": ["x"], "size_categories": ["s"], "dataset_info": {}}},
        {"downloads": 10},
        {"likes": 0},
        {"files": (FileFact("load.py", 10, "code"),)},
    ],
)
def test_each_signal_counts(change: dict[str, Any]) -> None:
    assert dataset_quality.dataset_score(dataset(**change)) < dataset_quality.dataset_score(dataset())


def test_popularity_is_monotonic() -> None:
    scores = [dataset_quality.dataset_score(dataset(downloads=d, likes=0)) for d in (0, 10, 1000, 100_000)]
    assert scores == sorted(scores)
    assert len(set(scores)) == 4


def test_data_files_beat_a_loading_script_beat_nothing() -> None:
    hosted = dataset_quality.dataset_components(dataset())["data_files"]
    script = dataset_quality.dataset_components(dataset(files=(FileFact("sst2.py", 10, "code"),)))[
        "data_files"
    ]
    readme_only = dataset_quality.dataset_components(dataset(files=(FileFact("README.md", 10, "docs"),)))
    assert hosted == 1.0
    assert script == pytest.approx(0.3)
    assert readme_only["data_files"] == 0.0


def test_a_declared_license_counts() -> None:
    ds = dataset()
    unlicensed = dataclasses.replace(
        ds, license=None, card={k: v for k, v in ds.card.items() if k != "license"}
    )
    assert dataset_quality.dataset_components(unlicensed)["license"] == 0.0
    assert dataset_quality.dataset_score(unlicensed) < dataset_quality.dataset_score(ds)
