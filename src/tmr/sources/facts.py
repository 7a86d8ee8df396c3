"""Typed facts about an upstream, read once from the JSON the sources keep.

A snapshot's `facts` (persisted with the artifact as `upstream`) hold the upstream's answer as JSON,
so it can be stored and shown as it came. These records are how the rest of the registry reads it:
the Hub's and GitHub's field names are spelled here (and in the adapters that fetch them), nowhere
else, and a missing or malformed value becomes a default here instead of an exception in a metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def _int(value: Any) -> int:
    """An upstream count; 0 when absent or not a number."""
    try:
        return int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _object(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, Mapping) else None


def timestamp(value: Any) -> datetime | None:
    """An ISO 8601 time as the upstreams write it (GitHub ends it with `Z`); None when absent or
    unreadable. A time without a zone stays naive: its reader decides what it means."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class HubFacts:
    """What the Hugging Face Hub says of a model or dataset repository, plus what the sources read
    from its files in the Hub's layout (card error, config.json, adapter_config.json). An upload
    in that layout has the latter only; any other upstream has none of it (all defaults)."""

    downloads: int = 0
    likes: int = 0
    tags: tuple[str, ...] = ()
    pipeline_tag: str | None = None
    library_name: str | None = None
    last_modified: datetime | None = None
    card_error: str | None = None  # why the card's front matter could not be read
    config: dict[str, Any] | None = None  # config.json, when it is a JSON object
    adapter_config: dict[str, Any] | None = None  # adapter_config.json, likewise

    @classmethod
    def from_upstream(cls, upstream: Mapping[str, Any]) -> HubFacts:
        """Read from a snapshot's facts or an artifact's persisted `upstream`."""
        tags = upstream.get("tags")
        card_error = upstream.get("card_error")
        return cls(
            downloads=_int(upstream.get("downloads")),
            likes=_int(upstream.get("likes")),
            tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list | tuple) else (),
            pipeline_tag=_text(upstream.get("pipeline_tag")),
            library_name=_text(upstream.get("library_name")),
            last_modified=timestamp(upstream.get("lastModified")),
            # Any recorded error is an error, whatever its form: the card stays unreadable.
            card_error=None if card_error is None else str(card_error),
            config=_object(upstream.get("config")),
            adapter_config=_object(upstream.get("adapter_config")),
        )


@dataclass(frozen=True, slots=True)
class Contributor:
    """A person (or bot) who committed to a repository, with their number of contributions."""

    login: str
    contributions: int

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> Contributor:
        """From GitHub's contributor object, or the subset of it the sources store
        (`as_json`). Anonymous contributors have a `name` and no `login`."""
        return cls(
            str(entry.get("login") or entry.get("name") or "anonymous"), _int(entry.get("contributions"))
        )

    def as_json(self) -> dict[str, Any]:
        return {"login": self.login, "contributions": self.contributions}


@dataclass(frozen=True, slots=True)
class RepositoryFacts:
    """What GitHub says of a repository, from the facts its source recorded."""

    stars: int = 0
    forks: int = 0
    open_issues: int = 0
    archived: bool = False
    pushed_at: datetime | None = None
    contributors: tuple[Contributor, ...] = ()  # GitHub's top contributors, as many as were read

    @classmethod
    def from_upstream(cls, upstream: Mapping[str, Any]) -> RepositoryFacts:
        contributors = upstream.get("contributors")
        return cls(
            stars=_int(upstream.get("stargazers_count")),
            forks=_int(upstream.get("forks_count")),
            open_issues=_int(upstream.get("open_issues_count")),
            archived=bool(upstream.get("archived")),
            pushed_at=timestamp(upstream.get("pushed_at")),
            contributors=tuple(
                Contributor.from_json(c)
                for c in (contributors if isinstance(contributors, list | tuple) else ())
                if isinstance(c, Mapping)
            ),
        )


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A merged pull request of a repository's recent window."""

    number: int
    approved: bool  # at least one APPROVED review
    code_lines: int  # additions + deletions in code files (weights and data files excluded)
