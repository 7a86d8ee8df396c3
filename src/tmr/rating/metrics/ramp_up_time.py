"""ramp_up_time: how quickly a new engineer can put the model to use.

What a newcomer needs is written down in the model card and the repository layout: a card that
explains the model (length, the usual sections), metadata that tells tools how to load it, a
runnable example, and the files a loader expects (config.json, a tokenizer for text models). Each
is checked directly; none depends on popularity, which says nothing about how easy a model is.
"""

from __future__ import annotations

import re

from tmr.rating.evidence import ModelEvidence
from tmr.rating.metrics.common import CardText, as_list, flag, log_scale, read_card, weighted

WEIGHTS = {
    "card_length": 0.15,
    "sections": 0.20,
    "metadata": 0.15,
    "usage_example": 0.20,
    "library": 0.10,
    "config": 0.10,
    "tokenizer": 0.05,
    "docs": 0.05,
}

FULL_CARD_WORDS = 800  # ~800 words of prose (code excluded) read as a complete card
FULL_LINKS = 3  # paper, code, docs

# Sections a newcomer looks for, each a group of heading keywords.
SECTIONS = (
    ("usage", "how to use", "how to get started", "quick start", "quickstart", "getting started"),
    ("intended use", "uses", "use case", "direct use", "downstream"),
    ("limitation", "bias", "risk", "out-of-scope"),
    ("training",),
    ("evaluation", "results", "benchmark", "performance"),
)
METADATA_FIELDS = ("license", "language", "pipeline_tag", "tags", "datasets", "base_model")

# Tasks whose inputs or outputs are text: a tokenizer must ship with the model.
TEXT_TASKS = frozenset(
    {
        "text-classification", "token-classification", "question-answering", "fill-mask",
        "text-generation", "text2text-generation", "summarization", "translation",
        "sentence-similarity", "feature-extraction", "zero-shot-classification",
        "table-question-answering", "conversational", "automatic-speech-recognition",
        "text-to-speech", "image-to-text", "image-text-to-text", "visual-question-answering",
        "document-question-answering", "text-to-image", "multiple-choice", "text-ranking",
    }
)  # fmt: skip
_LOADER_CALL = re.compile(
    r"\b(?:from_pretrained|pipeline|SentenceTransformer|load_model|hf_hub_download)\s*\("
)
_PYTHON_LANGS = frozenset({"python", "py", "python3", "pycon", "ipython", ""})


def components(evidence: ModelEvidence) -> dict[str, float | None]:
    """Each ramp-up signal in [0, 1]; None where a signal does not apply."""
    card = read_card(evidence.readme)
    return {
        "card_length": log_scale(card.words, FULL_CARD_WORDS),
        "sections": sum(flag(card.has_section(group)) for group in SECTIONS) / len(SECTIONS),
        "metadata": _metadata(evidence),
        "usage_example": _usage_example(card),
        "library": flag(bool(evidence.library_name or evidence.card.get("library_name"))),
        "config": flag(evidence.config is not None or evidence.adapter_config is not None),
        "tokenizer": _tokenizer(evidence),
        "docs": _docs(evidence, card),
    }


def compute(evidence: ModelEvidence) -> float:
    return weighted(components(evidence), WEIGHTS)


def _metadata(evidence: ModelEvidence) -> float:
    card = evidence.card
    present = [bool(as_list(card.get(name))) for name in METADATA_FIELDS]
    present[0] = present[0] or evidence.license is not None  # the Hub's `license:` tag counts too
    return sum(present) / len(present)


def _usage_example(card: CardText) -> float:
    """A Python snippet is half the way; one that actually loads the model is the rest."""
    python = [b.code for b in card.code_blocks if b.language in _PYTHON_LANGS and b.code.strip()]
    has_python = any("import " in code or "(" in code for code in python)
    loads = any(_LOADER_CALL.search(code) for code in python)
    return 0.4 * flag(has_python) + 0.6 * flag(loads)


def _is_text_model(evidence: ModelEvidence) -> bool:
    task = evidence.pipeline_tag or evidence.card.get("pipeline_tag")
    if isinstance(task, str):
        return task in TEXT_TASKS
    config = evidence.config or {}
    return "vocab_size" in config or (evidence.adapter_config or {}).get("task_type") in (
        "CAUSAL_LM",
        "SEQ_2_SEQ_LM",
        "SEQ_CLS",
        "TOKEN_CLS",
        "QUESTION_ANS",
    )


def _tokenizer(evidence: ModelEvidence) -> float | None:
    if not _is_text_model(evidence):
        return None  # images and audio need no tokenizer: the signal does not apply
    return flag(any(f.kind == "tokenizer" for f in evidence.files))


def _docs(evidence: ModelEvidence, card: CardText) -> float:
    """Links from the card (paper, code, docs), extra documentation files, a linked repository."""
    found = len(card.links())
    found += sum(1 for f in evidence.files if f.kind == "docs" and not f.path.lower().startswith("readme"))
    found += 1 if evidence.repository is not None else 0
    return min(1.0, found / FULL_LINKS)
