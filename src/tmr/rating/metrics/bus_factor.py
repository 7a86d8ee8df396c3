"""bus_factor: how concentrated the upstream knowledge is (1 = spread over many people).

With a linked repository, the contributions of its (top-100, as GitHub lists them) contributors are
the evidence. Let s_i be each person's share of the contributions and H = Σ s_i² (Herfindahl):

* evenness  E = (1 - H) / (1 - 1/n)  — 0 when one person holds everything, 1 when n share evenly;
* breadth   B = 1 - exp(-(1/H - 1) / 5) — 1/H is the effective number of contributors; one person
  gives 0, five even contributors 0.55, ten 0.83, twenty 0.98;
* score = E x B. Both must be high: many names with one dominant author, or two perfectly even
  authors, are still fragile.

Bots (`…[bot]` logins) are excluded: they hold no knowledge.

Without contributor evidence (no repository, or its contributors could not be read) there is no
measure of who holds the knowledge. Popularity or an organisation's name are not bus factor. The
fallback credits only knowledge that is written down where anyone can pick it up — the training
recipe, its data, its evaluation — and is capped at 0.25 (`FALLBACK_CAP`): a low-confidence value
that never rivals real contributor evidence, and 0 when nothing is written down either. The same
value is a floor when contributors are known, so linking a one-person repository never scores
below not linking one.
"""

from __future__ import annotations

import math
import re

from tmr.rating.evidence import ModelEvidence
from tmr.rating.metrics.common import as_list, flag, read_card
from tmr.sources.facts import Contributor

BREADTH_SCALE = 5.0  # effective contributors at which breadth reaches 1 - 1/e
FALLBACK_CAP = 0.25
_HYPERPARAMETERS = re.compile(
    r"\b(?:learning[ _]rate|batch[ _]size|epochs?|optimizer|warmup|hyper-?parameters?)\b", re.IGNORECASE
)


def people(contributors: tuple[Contributor, ...]) -> list[int]:
    """Contribution counts of the human contributors."""
    return [
        c.contributions for c in contributors if c.contributions > 0 and not c.login.lower().endswith("[bot]")
    ]


def concentration(counts: list[int]) -> tuple[float, float]:
    """(evenness E, breadth B) of a list of contribution counts, each in [0, 1]."""
    total = sum(counts)
    n = len(counts)
    if n < 2 or total <= 0:
        return 0.0, 0.0
    herfindahl = sum((c / total) ** 2 for c in counts)
    evenness = (1.0 - herfindahl) / (1.0 - 1.0 / n)
    breadth = 1.0 - math.exp(-(1.0 / herfindahl - 1.0) / BREADTH_SCALE)
    return min(1.0, max(0.0, evenness)), min(1.0, max(0.0, breadth))


def compute(evidence: ModelEvidence) -> float:
    repository = evidence.repository
    counts = people(repository.contributors) if repository is not None else []
    written = FALLBACK_CAP * _written_knowledge(evidence)
    if not counts:
        return written
    evenness, breadth = concentration(counts)
    return max(evenness * breadth, written)


def _written_knowledge(evidence: ModelEvidence) -> float:
    """Fraction of the recipe that is written down in the card (lower-confidence proxy)."""
    card = read_card(evidence.readme)
    signals = (
        card.has_section(("training",)),
        any(_HYPERPARAMETERS.search(line) for line in card.prose),
        bool(as_list(evidence.card.get("datasets"))) or bool(evidence.datasets),
        card.has_section(("evaluation", "results")),
    )
    return sum(flag(s) for s in signals) / len(signals)
