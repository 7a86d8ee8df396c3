"""Reproducibility: 1 when the card's demonstration code runs as written and loads this model, 0.5
when it does so only after mechanical repair, 0 when there is none or it cannot run.

The judgement is static (see `tmr.rating.codecheck` and docs/reproducibility.md). `explain` returns
it whole (reason, repairs, unresolved imports …) to say why; a rating keeps only the score.
"""

from __future__ import annotations

from collections.abc import Iterable

from tmr.errors import InvalidInput
from tmr.rating.codecheck import Judgement, judge
from tmr.rating.evidence import FileFact, ModelEvidence
from tmr.sources.models import SourceKind
from tmr.sources.urls import parse_source_url


def hub_repo_id(url: str) -> str:
    """`owner/name` of a Hugging Face model URL (`/tree/<rev>/…` allowed); "" for any other URL."""
    try:
        ref = parse_source_url(url)
    except InvalidInput:
        return ""
    return ref.repo_id if ref.kind is SourceKind.HF_MODEL else ""


def local_modules(files: Iterable[FileFact]) -> set[str]:
    """Top-level modules importable from a checkout of the repository: `x.py` at the root gives `x`,
    any `.py` file under `pkg/` gives the package `pkg`."""
    found: set[str] = set()
    for fact in files:
        if fact.path.endswith(".py"):
            first, sep, _ = fact.path.lstrip("/").partition("/")
            found.add(first if sep else first.removesuffix(".py"))
    return found


def explain(evidence: ModelEvidence) -> Judgement:
    """The judgement of the card's code: score, reason, repairs, unresolved imports, …"""
    return judge(evidence.readme, hub_repo_id(evidence.url), evidence.name, local_modules(evidence.files))


def compute(evidence: ModelEvidence) -> float:
    """The reproducibility score in {0.0, 0.5, 1.0}."""
    return explain(evidence).score
