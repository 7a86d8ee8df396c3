"""Evidence read from a repository in Hugging Face layout, wherever its files came from.

The Hub and an uploaded zip share one layout (README.md with YAML front matter, config.json,
adapter_config.json), so both read their card, license and configs here, the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tmr.sources.cards import card_license, split_card
from tmr.sources.models import UpstreamFile


@dataclass(frozen=True, slots=True)
class LayoutEvidence:
    """A snapshot's pieces read from its files: the source adds `facts` to its own and `notes`
    after its own when it builds the snapshot."""

    readme: str
    card: dict[str, Any]
    license: str | None
    facts: dict[str, Any]
    notes: tuple[str, ...]


def read_layout_evidence(
    files: Iterable[UpstreamFile], info: dict[str, Any], *, is_model: bool
) -> LayoutEvidence:
    """The README, card, license and configs read from the fetched files. `info` holds what a hub
    says beside the files (its `cardData` and `tags`), empty for an upload."""
    by_path = {f.path: f for f in files}
    readme_text = ""
    card: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    notes: list[str] = []
    readme = by_path.get("README.md")
    if readme is not None and readme.content is not None:
        readme_text = readme.content.decode("utf-8", errors="replace")
        card, _body, error = split_card(readme_text)
        if error:
            notes.append(error)
            facts["card_error"] = error
    else:
        if readme is None:
            notes.append("the repository has no model card (README.md)")
        if isinstance(info.get("cardData"), dict):
            card = dict(info["cardData"])
    tags = [t for t in info.get("tags") or [] if isinstance(t, str)]
    for name, key in (("config.json", "config"), ("adapter_config.json", "adapter_config")):
        entry = by_path.get(name)
        if entry is None or entry.content is None:
            continue
        try:
            parsed = json.loads(entry.content)
        except ValueError:
            notes.append(f"{name} is not valid JSON")
            facts[f"{key}_error"] = f"{name} is not valid JSON"
            continue
        if isinstance(parsed, dict):
            facts[key] = parsed
    if "config.json" not in by_path and is_model:
        notes.append("the repository has no config.json")
    return LayoutEvidence(readme_text, card, card_license(card, tags), facts, tuple(notes))
