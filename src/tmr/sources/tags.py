"""An artifact's version, read from its upstream's git tags.

Both upstreams answer the same question (which tags point at the commit we pinned?), so the rule
lives here once and the sources only list tags:
- a version tag is `X`, `X.Y` or `X.Y.Z`, optionally `v`/`V`-prefixed, with optional SemVer
  pre-release and build (`tmr.search.versions` decides, and gives the stored spelling);
- the version is the version tag pointing at the pinned commit: the one the URL names when it
  names one, else the highest by SemVer precedence; None when no version tag points there;
- the repository's newest version tag (a release when there is one, as `latest_version` in
  `tmr.search.versions` decides) is kept in the facts, so a reader can tell a newer one exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tmr.search.versions import sort_key, version_or_none

VERSION_FACT = "version_tag"
LATEST_FACT = "latest_version_tag"


@dataclass(frozen=True, slots=True)
class GitTag:
    """A tag as an upstream lists it: its name and the commit it points at."""

    name: str
    commit: str


@dataclass(frozen=True, slots=True)
class TagVersion:
    """A version tag: the tag's own name, its normalised version and its commit."""

    tag: str
    version: str
    commit: str

    def as_fact(self) -> dict[str, str]:
        return {"tag": self.tag, "version": self.version, "commit": self.commit}


def _is_release(version: str) -> bool:
    return "-" not in version.split("+", 1)[0]


def version_tags(tags: Iterable[GitTag]) -> list[TagVersion]:
    """The tags that are versions, ascending by SemVer precedence; equal versions (`v1.2` and
    `1.2.0`) are ordered by tag name so the choice among them is stable."""
    found = [
        TagVersion(tag.name, version, tag.commit)
        for tag in tags
        if (version := version_or_none(tag.name)) is not None
    ]
    return sorted(found, key=lambda t: (sort_key(t.version), t.tag))


def pinned_version(tags: Iterable[GitTag], commit: str, requested: str | None = None) -> TagVersion | None:
    """The version tag of `commit`: the one the URL named (`requested`) if it is a version tag
    pointing there, else the highest pointing there, else None."""
    at_commit = [t for t in version_tags(tags) if t.commit == commit]
    wanted = (requested or "").removeprefix("refs/tags/")
    named = [t for t in at_commit if t.tag == wanted]
    if named:
        return named[0]
    return at_commit[-1] if at_commit else None


def newest_version(tags: Iterable[GitTag]) -> TagVersion | None:
    """The repository's highest release tag; its highest pre-release tag when it has no release."""
    ordered = version_tags(tags)
    releases = [t for t in ordered if _is_release(t.version)]
    if releases:
        return releases[-1]
    return ordered[-1] if ordered else None


@dataclass(frozen=True, slots=True)
class TagReading:
    """What the tags say of the pinned commit: its version and the facts recording the tags it
    came from (`version_tag` when one points there, `latest_version_tag` when any exists)."""

    version: str | None
    facts: dict[str, dict[str, str]]


def read_tags(tags: Iterable[GitTag], commit: str, requested: str | None = None) -> TagReading:
    """The snapshot's version from the tags, and the facts a source records beside it."""
    listed = list(tags)
    pinned = pinned_version(listed, commit, requested)
    facts: dict[str, dict[str, str]] = {}
    if pinned is not None:
        facts[VERSION_FACT] = pinned.as_fact()
    newest = newest_version(listed)
    if newest is not None:
        facts[LATEST_FACT] = newest.as_fact()
    return TagReading(pinned.version if pinned is not None else None, facts)
