"""tree_score: the health of the models this model is built on (its supply chain of parents).

    tree_score = mean(parent net scores + {0.5 for every declared parent that has no score})

Parents are the model's registered parents (lineage: `base_model`, adapters' base models), whose
net scores the engine passes in `parent_net_scores`; a model inherits its parents' weaknesses
(unclear licences, undocumented data), so their ratings bound what one can trust in it.

Choices:

* A parent the card declares (`base_model`, or an adapter's `base_model_name_or_path`) that is not
  rated here counts 0.5: unknown, neither vetted nor known to be bad.
* A model whose card is readable and declares no parent is a root: nothing is inherited, so nothing
  in its tree is unhealthy: 1.0. Its own qualities are judged by the other metrics.
* A model without card metadata (no card, or broken front matter) declares nothing either way: its
  lineage is unknown, 0.5, the same as an unrated parent. A root must say so to be trusted as one.
* Self-references and cycles reach this function only as scores; each counts once like any other.
"""

from __future__ import annotations

import math

from tmr.rating.evidence import ModelEvidence
from tmr.rating.metrics.common import as_list, clamp01

UNKNOWN = 0.5
ROOT = 1.0


def declared_parents(evidence: ModelEvidence) -> int:
    """How many parents the model's own metadata names."""
    named = len([p for p in as_list(evidence.card.get("base_model")) if isinstance(p, str)])
    adapter = evidence.adapter_config or {}
    if named == 0 and isinstance(adapter.get("base_model_name_or_path"), str):
        named = 1
    return named


def compute(evidence: ModelEvidence) -> float:
    scores = [clamp01(s) for s in evidence.parent_net_scores if not math.isnan(s)]
    scores += [UNKNOWN] * max(0, declared_parents(evidence) - len(scores))
    if scores:
        return sum(scores) / len(scores)
    if not evidence.card or evidence.card_error is not None:
        return UNKNOWN
    return ROOT
