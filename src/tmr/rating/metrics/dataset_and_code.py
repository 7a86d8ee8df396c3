"""dataset_and_code_score: are the training data and the code named, and can one reach them?

A model whose data and code are named can be audited; one whose names resolve to real, reachable
artifacts can be audited today. So each is scored on both steps:

* datasets_named    — the card's `datasets:` metadata (1), else a Hugging Face dataset link or a
  "training data" section in the body (0.5);
* datasets_resolved — the fraction of the named datasets that resolved upstream (`url`) or are
  registered here (0 when none is named);
* code_linked       — a linked code repository was read (1), else a code-host link in the card (0.5);
* training_code     — training code is visible: a training script in the repository or the model's
  files, or the card pointing to one.

score = 0.2·named + 0.3·resolved + 0.35·code + 0.15·training_code.
"""

from __future__ import annotations

import re

from tmr.rating.evidence import FileFact, ModelEvidence
from tmr.rating.metrics.common import as_list, file_name, flag, read_card, weighted

WEIGHTS = {"datasets_named": 0.20, "datasets_resolved": 0.30, "code_linked": 0.35, "training_code": 0.15}

_DATASET_LINK = re.compile(r"huggingface\.co/datasets/|kaggle\.com/datasets/|zenodo\.org/", re.I)
_CODE_LINK = re.compile(
    r"https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org)/[\w.-]+/[\w.-]+", re.I
)
_TRAINING_MENTION = re.compile(
    r"\b(?:train(?:ing)?[_ ]?script|fine-?tuning script|train\.py|finetune\.py|run_\w+\.py|training code)\b",
    re.IGNORECASE,
)
_TRAINING_FILE = re.compile(r"^(?:train|finetune|fine_tune|run_\w+|pretrain)\w*\.(?:py|sh|ipynb)$")


def components(evidence: ModelEvidence) -> dict[str, float | None]:
    card = read_card(evidence.readme)
    named_in_card = bool(as_list(evidence.card.get("datasets"))) or bool(evidence.datasets)
    mentioned = bool(_DATASET_LINK.search(card.body)) or card.has_section(("training data", "dataset"))
    datasets = evidence.datasets
    resolved = (
        sum(1 for d in datasets if d.url is not None or d.registered) / len(datasets) if datasets else 0.0
    )
    repository = evidence.repository
    linked = 1.0 if repository is not None else 0.5 * flag(bool(_CODE_LINK.search(card.body)))
    files: tuple[FileFact, ...] = evidence.files + (repository.files if repository is not None else ())
    training = any(_TRAINING_FILE.match(file_name(f.path)) for f in files if f.kind == "code") or any(
        _TRAINING_MENTION.search(line) for line in card.prose
    )
    return {
        "datasets_named": 1.0 if named_in_card else 0.5 * flag(mentioned),
        "datasets_resolved": resolved,
        "code_linked": linked,
        "training_code": flag(training),
    }


def compute(evidence: ModelEvidence) -> float:
    return weighted(components(evidence), WEIGHTS)
