"""performance_claims: how much evidence stands behind the results a model card states.

A claim is worth what a reader can check. In decreasing strength:

* structured  — `model-index` results in the card metadata: a metric with a numeric value on a
  named dataset (1 per result, saturating at 3; a value without a dataset counts half);
* numeric     — evaluation numbers in the body: a markdown table of numbers (1 if its header names a
  benchmark or a dataset of the card, else 0.6), or benchmarks named beside numbers in prose (1/3 each,
  saturating at 3);
* support     — a paper link (arXiv, DOI, ACL anthology, OpenReview) and an evaluation section;
* prose       — words such as "accuracy" or "state-of-the-art" with nothing to check them against.

score = 0.45·structured + 0.35·numeric + 0.15·support + 0.05·prose, so numbers on named datasets
always outweigh prose. It measures evidence for the claims, not whether they are true: the registry
does not rerun evaluations.
"""

from __future__ import annotations

import re
from typing import Any

from tmr.rating.evidence import ModelEvidence
from tmr.rating.metrics.common import CardText, as_list, flag, read_card, weighted

WEIGHTS = {"structured": 0.45, "numeric": 0.35, "support": 0.15, "prose": 0.05}
FULL_RESULTS = 3

BENCHMARKS = (
    "glue", "superglue", "squad", "mnli", "qqp", "qnli", "sst-2", "sst2", "cola", "sts-b", "mrpc", "rte",
    "mmlu", "hellaswag", "arc", "truthfulqa", "winogrande", "gsm8k", "humaneval", "mbpp", "big-bench",
    "imagenet", "coco", "cifar", "ade20k", "librispeech", "common voice", "wmt", "xnli", "conll", "lambada",
    "piqa", "boolq", "triviaqa", "natural questions", "ms marco", "beir", "mteb", "wikitext", "penn treebank",
    "ag news", "imdb", "yelp", "emotion", "tweet_eval", "xsum", "cnn/dailymail", "cnn_dailymail", "samsum",
)  # fmt: skip
_EVAL = ("evaluation", "results", "benchmark", "performance")
_NUMBER = re.compile(r"(?<![\w.])(?:\d{1,3}(?:\.\d+)?\s?%|\d{1,3}\.\d+|0?\.\d+)(?![\w.])")
_PAPER = re.compile(
    r"arxiv\.org/|doi\.org/|aclanthology\.org/|openreview\.net/|\barxiv:\s?\d{4}\.\d{4,5}", re.I
)
_PROSE_CLAIM = re.compile(
    r"\b(?:accuracy|f1|bleu|rouge|perplexity|wer|state[- ]of[- ]the[- ]art|sota|outperform\w*|benchmark\w*)"
    r"\b",
    re.IGNORECASE,
)


def components(evidence: ModelEvidence) -> dict[str, float | None]:
    card = read_card(evidence.readme)
    names = _dataset_names(evidence)
    return {
        "structured": _model_index(evidence.card.get("model-index")),
        "numeric": _numeric(card, names),
        "support": 0.5 * flag(bool(_PAPER.search(card.body))) + 0.5 * flag(card.has_section(_EVAL)),
        "prose": flag(any(_PROSE_CLAIM.search(line) for line in card.prose)),
    }


def compute(evidence: ModelEvidence) -> float:
    return weighted(components(evidence), WEIGHTS)


def _model_index(index: Any) -> float:
    """Results of the card's `model-index`, each metric value on a named dataset worth 1."""
    found = 0.0
    for entry in as_list(index):
        if not isinstance(entry, dict):
            continue
        for result in as_list(entry.get("results")):
            if not isinstance(result, dict):
                continue
            dataset = result.get("dataset")
            named = isinstance(dataset, dict) and bool(dataset.get("name") or dataset.get("type"))
            for metric in as_list(result.get("metrics")):
                if isinstance(metric, dict) and _is_number(metric.get("value")):
                    found += 1.0 if named else 0.5
    return min(1.0, found / FULL_RESULTS)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and bool(_NUMBER.search(value))


def _dataset_names(evidence: ModelEvidence) -> re.Pattern[str]:
    """One pattern matching a known benchmark or a dataset the card names, as a whole word."""
    names = {str(d).lower().rsplit("/", 1)[-1] for d in as_list(evidence.card.get("datasets"))}
    names.update(d.name.lower().rsplit("/", 1)[-1] for d in evidence.datasets)
    words = sorted({*BENCHMARKS, *(n for n in names if len(n) >= 3)}, key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, words)) + r")(?![a-z0-9])", re.I)


def _numeric(card: CardText, names: re.Pattern[str]) -> float:
    best = 0.0
    for header, rows in _tables(card.prose):
        if any(_NUMBER.search(row) for row in rows):
            best = max(best, 1.0 if names.search(" ".join((header, *rows))) else 0.6)
    # In prose, each benchmark named beside a number is one result ("93.2 on SST-2, 88.5 on SQuAD").
    found = sum(
        min(len(_NUMBER.findall(line)), len(names.findall(line)))
        for line in card.prose
        if not line.lstrip().startswith("|")
    )
    return max(best, min(1.0, found / FULL_RESULTS))


def _tables(lines: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """Markdown tables as (header, data rows); the `|---|` separator row is dropped."""
    tables: list[tuple[str, list[str]]] = []
    current: list[str] = []
    for line in (*lines, ""):
        if line.lstrip().startswith("|"):
            current.append(line)
            continue
        if len(current) >= 2:
            rows = [r for r in current[1:] if not re.fullmatch(r"[\s|:\-]+", r)]
            tables.append((current[0], rows))
        current = []
    return tables
