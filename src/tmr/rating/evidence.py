"""The evidence a rating is computed from: plain, typed data gathered once per model.

Metrics are pure functions of these records (no network, no clock: `observed_at` is their "now"),
so they are testable on fixtures and a stored rating can be explained by the evidence stored
beside it. Upstream facts arrive typed
(`tmr.sources.facts`): no Hub or GitHub API field name is read in the rating. What metrics still
read by key is content, not upstream API JSON: the model card's YAML metadata (`card`: `license`,
`datasets`, `base_model`, `model-index` …) and the repository's own config.json and
adapter_config.json (`architectures`, `task_type`, `base_model_name_or_path` …).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tmr.sources.facts import Contributor, PullRequest


@dataclass(frozen=True, slots=True)
class FileFact:
    path: str
    size: int
    kind: str  # tmr.artifacts.models.FileKind value: weights, config, tokenizer, docs, code, data, other
    unsafe: bool = False  # its bytes import code on load (tmr.safety)
    reasons: tuple[str, ...] = ()  # why, when it was judged


@dataclass(frozen=True, slots=True)
class RepositoryEvidence:
    """The GitHub repository the model's card links to (the first one it links)."""

    url: str
    full_name: str
    license: str | None
    readme: str
    stars: int
    forks: int
    open_issues: int
    archived: bool
    pushed_at: datetime | None
    contributors: tuple[Contributor, ...]
    files: tuple[FileFact, ...]
    # None when pull requests could not be read; () when the repository has none.
    pulls: tuple[PullRequest, ...] | None
    direct_commit_lines: int = 0  # code lines in the window that entered without a pull request


@dataclass(frozen=True, slots=True)
class DatasetEvidence:
    """A dataset the model names (card `datasets:`), with what is known of it."""

    name: str  # as the card names it, e.g. "bookcorpus/bookcorpus" or "squad"
    url: str | None  # the URL it was read from; None when it could not be read
    card: dict[str, Any] = field(default_factory=dict)
    readme: str = ""
    license: str | None = None
    downloads: int = 0
    likes: int = 0
    files: tuple[FileFact, ...] = ()
    registered: bool = False  # also an artifact of this registry


@dataclass(frozen=True, slots=True)
class ModelEvidence:
    name: str
    url: str
    readme: str  # the whole card, front matter included
    card: dict[str, Any]  # parsed YAML front matter ({} when none or broken)
    card_error: str | None
    license: str | None
    downloads: int
    likes: int
    tags: tuple[str, ...]
    pipeline_tag: str | None
    library_name: str | None
    config: dict[str, Any] | None  # config.json
    adapter_config: dict[str, Any] | None  # adapter_config.json
    files: tuple[FileFact, ...]
    repository: RepositoryEvidence | None  # the linked GitHub code repository, if any
    datasets: tuple[DatasetEvidence, ...]  # the datasets the card names
    parent_net_scores: tuple[float, ...] = ()  # net scores of the model's registered parents
    last_modified: datetime | None = None
    observed_at: datetime | None = None  # when the evidence was gathered (the metrics' "now")

    @property
    def unsafe_files(self) -> tuple[FileFact, ...]:
        return tuple(f for f in self.files if f.unsafe)
