"""Bundles: the registered datasets a model links to, resolved for its download package.

A model's card names its datasets; they are stored as links (normalised keys) and resolve at
query time to whatever is registered then, like lineage. Only registered datasets the requesting
user may see are bundled; every other dataset link is reported as skipped, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from tmr.artifacts.models import Artifact, ArtifactLink, ArtifactSummary, ArtifactType
from tmr.errors import NotFound

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_FOLDER = 100


Resolver = Callable[[Collection[str]], dict[str, list[ArtifactSummary]]]
"""For each lineage key, the artifacts answering to it that the requesting user may see."""


@dataclass(frozen=True, slots=True)
class LinkedDatasets:
    """`included`: (folder, dataset) pairs in link order; `skipped`: keys of dataset links that
    resolve to no dataset the user may see."""

    included: list[tuple[str, Artifact]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def is_dataset_link(link: ArtifactLink) -> bool:
    """Dataset relationships are named `…dataset` (`fine_tuning_dataset` from the card today)."""
    return link.relationship == "dataset" or link.relationship.endswith("_dataset")


def folder_name(name: str, fallback: str) -> str:
    """A dataset's name as one safe path segment: ASCII letters, digits, `._-`; no `.`/`..`."""
    folder = _UNSAFE.sub("_", name).strip("._")[:MAX_FOLDER]
    return folder or fallback


def linked_datasets(model: Artifact, resolve: Resolver, fetch: Callable[[str], Artifact]) -> LinkedDatasets:
    """Resolve the model's dataset links. `fetch(id)` reads one dataset as the requesting user
    may see it, raising NotFound otherwise (a private dataset of someone else is treated as not
    registered). A key answered by several datasets bundles each of them."""
    links = [link for link in model.links if is_dataset_link(link)]
    resolved = resolve({link.key for link in links})
    result = LinkedDatasets()
    seen: set[str] = set()
    folders: set[str] = set()
    for link in links:
        found = False
        for summary in resolved.get(link.key, []):
            if summary.type is not ArtifactType.DATASET:
                continue
            if summary.id in seen:
                found = True
                continue
            try:
                dataset = fetch(summary.id)
            except NotFound:
                continue
            found = True
            seen.add(dataset.id)
            folder = folder_name(dataset.name, dataset.id)
            if folder in folders:  # two datasets of one name: the id tells them apart
                folder = f"{folder}-{dataset.id}"
            folders.add(folder)
            result.included.append((folder, dataset))
        if not found:
            result.skipped.append(link.key)
    return result
