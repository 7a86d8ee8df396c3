"""Lineage references: which other artifacts a model names as its parents, and the keys under
which an artifact can be named. Pure functions of the stored metadata.

Parents come from `config.json` (`_name_or_path`), `adapter_config.json`
(`base_model_name_or_path`) and the card's `base_model` (with `base_model_relation`) and
`datasets`. Keys are lower-case repository ids, names and URLs, so a reference resolves whichever
way it was written, and whenever the parent is registered (before or after its child).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from tmr.artifacts.models import ArtifactLink
from tmr.errors import InvalidInput

# The Hub's `base_model_relation` vocabulary, in the spelling our edges use.
_RELATIONS = {
    "adapter": "adapter",
    "finetune": "fine_tune",
    "fine-tune": "fine_tune",
    "quantized": "quantized",
    "merge": "merge",
}


def normalize(reference: str) -> str | None:
    """`https://huggingface.co/Owner/Name/tree/main` → `owner/name`; local paths → None."""
    ref = reference.strip()
    if not ref or ref.startswith((".", "/", "~")) or "\\" in ref:
        return None
    if ref.startswith(("http://", "https://")):
        parts = [p for p in urlsplit(ref).path.split("/") if p]
        if parts and parts[0] == "datasets":
            parts = parts[1:]
        if len(parts) >= 2 and parts[1] not in ("tree", "blob", "resolve"):
            ref = f"{parts[0]}/{parts[1]}"
        elif parts:
            ref = parts[0]
        else:
            return None
    ref = ref.removesuffix(".git").strip("/").lower()
    return ref or None


def keys_for(name: str, url: str, repo_id: str | None) -> set[str]:
    """The keys an artifact answers to: its repository id, its last path segment, its name."""
    found = {name.strip().lower()}
    for candidate in (url, repo_id or ""):
        key = normalize(candidate) if candidate else None
        if key:
            found.add(key)
            found.add(key.rsplit("/", 1)[-1])
    return {k for k in found if k}


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    if value is None:
        return []
    raise InvalidInput(f"lineage metadata is malformed: expected a name or a list of names, got {value!r}")


def references(
    card: dict[str, Any],
    config: dict[str, Any] | None,
    adapter_config: dict[str, Any] | None,
    readme: str = "",
) -> list[ArtifactLink]:
    """Every parent a model's metadata names, de-duplicated by key (first source wins)."""
    found: dict[str, ArtifactLink] = {}

    def add(raw: str, relationship: str, source: str) -> None:
        key = normalize(raw)
        if key and key not in found:
            found[key] = ArtifactLink(key, relationship, source)

    relation = str(card.get("base_model_relation") or "").strip().lower()
    card_relation = _RELATIONS.get(relation, "base_model")
    for parent in _as_list(card.get("base_model")):
        add(parent, card_relation, "model_card")
    if adapter_config is not None:
        value = adapter_config.get("base_model_name_or_path")
        for parent in _as_list(value):
            add(parent, "adapter", "adapter_config_json")
    if config is not None:
        for field in ("_name_or_path", "base_model_name_or_path"):
            value = config.get(field)
            if isinstance(value, str):
                add(value, "base_model", "config_json")
    for dataset in _as_list(card.get("datasets")):
        add(dataset, "fine_tuning_dataset", "model_card")
    for repository in code_links(readme):
        add(repository, "code_repository", "model_card")
    return list(found.values())


_GITHUB_REPO = re.compile(r"https?://(?:www\.)?github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)")
_NOT_REPOS = {"orgs", "settings", "features", "topics", "sponsors", "marketplace", "about"}


def code_links(readme: str) -> list[str]:
    """GitHub repositories a card links to, in order of first mention (the code behind a model)."""
    seen: dict[str, None] = {}
    for owner, name in _GITHUB_REPO.findall(readme or ""):
        name = name.removesuffix(".git").rstrip(".")
        if owner.lower() not in _NOT_REPOS and name:
            seen.setdefault(f"https://github.com/{owner}/{name}", None)
    return list(seen)
