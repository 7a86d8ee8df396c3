"""Evidence read from a repository in Hugging Face layout, wherever its files came from.

The Hub and an uploaded zip share one layout (README.md with YAML front matter, config.json,
adapter_config.json), so both read their card, license and configs here, the same way.
"""

from __future__ import annotations

import json
from typing import Any

from tmr.sources.cards import card_license, split_card
from tmr.sources.models import SourceSnapshot


def read_layout_evidence(snapshot: SourceSnapshot, info: dict[str, Any], *, is_model: bool) -> None:
    """Fill the snapshot's README, card, license and configs from its fetched files. `info` holds
    what a hub says beside the files (its `cardData` and `tags`), empty for an upload."""
    by_path = {f.path: f for f in snapshot.files}
    readme = by_path.get("README.md")
    if readme is not None and readme.content is not None:
        text = readme.content.decode("utf-8", errors="replace")
        card, _body, error = split_card(text)
        snapshot.readme = text
        snapshot.card = card
        if error:
            snapshot.notes.append(error)
            snapshot.facts["card_error"] = error
    else:
        if readme is None:
            snapshot.notes.append("the repository has no model card (README.md)")
        if isinstance(info.get("cardData"), dict):
            snapshot.card = dict(info["cardData"])
    tags = [t for t in info.get("tags") or [] if isinstance(t, str)]
    snapshot.license = card_license(snapshot.card, tags)
    for name, key in (("config.json", "config"), ("adapter_config.json", "adapter_config")):
        entry = by_path.get(name)
        if entry is None or entry.content is None:
            continue
        try:
            parsed = json.loads(entry.content)
        except ValueError:
            snapshot.notes.append(f"{name} is not valid JSON")
            snapshot.facts[f"{key}_error"] = f"{name} is not valid JSON"
            continue
        if isinstance(parsed, dict):
            snapshot.facts[key] = parsed
    if "config.json" not in by_path and is_model:
        snapshot.notes.append("the repository has no config.json")
