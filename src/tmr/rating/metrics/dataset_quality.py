"""dataset_quality: the quality of the datasets the model was trained on, from their own evidence.

Each named dataset is scored on what its Hub page shows:

* card       — the dataset card's completeness: a description (≥ 50 words of prose), task_categories,
  size_categories, a schema (`dataset_info` features or `configs`), a citation; a fraction of 5;
* license    — a license is declared (card, API or `license:` tag);
* popularity — log-scaled downloads (full at 100,000) and likes (full at 100), 0.7 / 0.3: use by
  others is how data problems get found and reported;
* data_files — data files are hosted beside the card (1), only a loading script (0.3: the data
  lives elsewhere, may move or vanish), neither (0).

dataset score = 0.5·card + 0.15·license + 0.15·popularity + 0.2·data_files; the metric is the mean
over the named datasets, so an unresolvable dataset (nothing known: 0) drags the mean down as an
unknown ingredient should. A model that names no dataset scores 0: there is no dataset whose
quality could be vouched for.
"""

from __future__ import annotations

import re

from tmr.rating.evidence import DatasetEvidence, ModelEvidence
from tmr.rating.metrics.common import as_list, flag, log_scale, read_card, weighted

WEIGHTS = {"card": 0.50, "license": 0.15, "popularity": 0.15, "data_files": 0.20}
FULL_DOWNLOADS = 100_000
FULL_LIKES = 100
MIN_DESCRIPTION_WORDS = 50
_CITATION = re.compile(r"@\w+\s*\{|\bcitation\b|\bcite\b", re.IGNORECASE)


def dataset_components(dataset: DatasetEvidence) -> dict[str, float | None]:
    card = dataset.card
    text = read_card(dataset.readme)
    described = text.words >= MIN_DESCRIPTION_WORDS or bool(card.get("pretty_name") and text.words >= 10)
    schema = bool(card.get("dataset_info") or card.get("configs"))
    cited = bool(card.get("citation")) or any(_CITATION.search(line) for line in text.body.splitlines())
    completeness = (
        flag(described)
        + flag(bool(as_list(card.get("task_categories"))))
        + flag(bool(as_list(card.get("size_categories"))))
        + flag(schema)
        + flag(cited)
    ) / 5
    licensed = dataset.license is not None or bool(as_list(card.get("license")))
    popularity = 0.7 * log_scale(dataset.downloads, FULL_DOWNLOADS) + 0.3 * log_scale(
        dataset.likes, FULL_LIKES
    )
    kinds = {f.kind for f in dataset.files}
    data_files = 1.0 if "data" in kinds else 0.3 if "code" in kinds else 0.0
    return {
        "card": completeness,
        "license": flag(licensed),
        "popularity": popularity,
        "data_files": data_files,
    }


def dataset_score(dataset: DatasetEvidence) -> float:
    return weighted(dataset_components(dataset), WEIGHTS)


def compute(evidence: ModelEvidence) -> float:
    if not evidence.datasets:
        return 0.0
    return sum(dataset_score(d) for d in evidence.datasets) / len(evidence.datasets)
