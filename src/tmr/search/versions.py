"""Artifact versions: parsing, npm-style queries and ordering.

Versions come from uploads and from upstream git tags (`v1.2.3`, `1.2`), so they are normalised
to one spelling before they are stored or compared. Queries follow npm's semantics (the issue
asks for them by name), evaluated by `nodesemver` over candidates in Python rather than in SQL.

Decisions:
- `v`/`V` prefixes are dropped; `1` and `1.2` are padded to `1.0.0` and `1.2.0` because git tags
  often omit parts. Padding applies to release versions only: a pre-release or build suffix needs
  all three parts (`1.2-rc.1` is refused), so `1-2` can never be read as `1.0.0-2`.
- Numbers follow SemVer 2.0: no leading zeros, pre-release and build identifiers `[0-9A-Za-z-]`.
  Build metadata is kept in the normalised string but, as in npm, ignored when comparing.
- A bounded range is `A-B` where both sides are full release versions (`1.2.3-2.1.0`), or
  `A - B` (npm's spelling, spaces around the hyphen) where each side is any full version,
  pre-releases included. Anything else with a hyphen is a pre-release exact version
  (`1.2.3-rc.1`). Both ends are inclusive and a range whose low end is above its high end is
  refused. Consequence: an exact query cannot name a version whose pre-release is itself a
  release version (`1.2.3-2.1.0`); such versions are vanishingly rare.
- Tilde and caret operands keep npm's partial forms (`~1.2`, `^0`) unpadded: padding would change
  their meaning (`~1` allows `1.x`, `~1.0.0` only `1.0.x`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import nodesemver

from tmr.errors import InvalidInput

MAX_VERSION_LENGTH = 64

_NUM = r"0|[1-9][0-9]*"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_ID = r"[0-9A-Za-z-]+"
_FULL = re.compile(
    rf"[vV]?(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_PRE_ID}(?:\.{_PRE_ID})*))?"
    rf"(?:\+(?P<build>{_BUILD_ID}(?:\.{_BUILD_ID})*))?"
)
_PARTIAL = re.compile(rf"[vV]?(?P<major>{_NUM})(?:\.(?P<minor>{_NUM}))?")
_RELEASE = rf"[vV]?(?:{_NUM})\.(?:{_NUM})\.(?:{_NUM})"
_TIGHT_RANGE = re.compile(rf"(?P<low>{_RELEASE})-(?P<high>{_RELEASE})")
_SPACED_RANGE = re.compile(r"(?P<low>\S+)\s+-\s+(?P<high>\S+)")


class QueryKind(StrEnum):
    EXACT = "exact"
    RANGE = "range"
    TILDE = "tilde"
    CARET = "caret"


@dataclass(frozen=True, slots=True)
class VersionQuery:
    """A parsed version query. `low` is the version (or operand) and `high` the range's upper end."""

    kind: QueryKind
    low: str
    high: str | None = None

    @property
    def npm_range(self) -> str:
        """The query in npm's range syntax, which is what `nodesemver` evaluates."""
        if self.kind is QueryKind.RANGE:
            return f"{self.low} - {self.high}"
        if self.kind is QueryKind.TILDE:
            return f"~{self.low}"
        if self.kind is QueryKind.CARET:
            return f"^{self.low}"
        return self.low


def _check_length(raw: str) -> str:
    if not isinstance(raw, str):
        raise InvalidInput("a version must be a string")
    text = raw.strip()
    if not text:
        raise InvalidInput("a version must not be empty")
    if len(text) > MAX_VERSION_LENGTH:
        raise InvalidInput(f"a version is at most {MAX_VERSION_LENGTH} characters", length=len(text))
    return text


def normalize_version(raw: str) -> str:
    """The canonical spelling of a version (`v1.2` → `1.2.0`); InvalidInput when it is not one."""
    text = _check_length(raw)
    full = _FULL.fullmatch(text)
    if full is not None:
        version = f"{int(full['major'])}.{int(full['minor'])}.{int(full['patch'])}"
        if full["pre"]:
            version += f"-{full['pre']}"
        if full["build"]:
            version += f"+{full['build']}"
        return version
    partial = _PARTIAL.fullmatch(text)
    if partial is not None:
        return f"{int(partial['major'])}.{int(partial['minor'] or 0)}.0"
    raise InvalidInput(
        "not a version: expected MAJOR.MINOR.PATCH with optional -pre-release and +build",
        version=text[:MAX_VERSION_LENGTH],
    )


def is_version(raw: str) -> bool:
    try:
        normalize_version(raw)
    except InvalidInput:
        return False
    return True


def parse_query(raw: str) -> VersionQuery:
    """Classify a query as exact, bounded range, tilde or caret (see the module's rules)."""
    if not isinstance(raw, str):
        raise InvalidInput("a version query must be a string")
    text = raw.strip()
    if len(text) > 2 * MAX_VERSION_LENGTH + 3:
        raise InvalidInput("a version query is too long", length=len(text))
    if text[:1] in ("~", "^"):
        kind = QueryKind.TILDE if text[0] == "~" else QueryKind.CARET
        operand = _check_length(text[1:])
        partial = _PARTIAL.fullmatch(operand)
        if partial is not None:  # npm's partial forms keep their wider meaning: no padding
            parts = [partial["major"], partial["minor"]]
            return VersionQuery(kind, ".".join(str(int(p)) for p in parts if p is not None))
        if _FULL.fullmatch(operand) is None:
            raise InvalidInput(f"not a version after {text[0]!r}", query=text[:80])
        return VersionQuery(kind, normalize_version(operand))
    rng = _TIGHT_RANGE.fullmatch(text) or _SPACED_RANGE.fullmatch(text)
    if rng is not None:
        low, high = normalize_version(rng["low"]), normalize_version(rng["high"])
        if _FULL.fullmatch(rng["low"]) is None or _FULL.fullmatch(rng["high"]) is None:
            raise InvalidInput("both ends of a version range must be MAJOR.MINOR.PATCH", query=text[:80])
        if _precedence(low) > _precedence(high):
            raise InvalidInput("a version range's low end is above its high end", query=text[:80])
        return VersionQuery(QueryKind.RANGE, low, high)
    return VersionQuery(QueryKind.EXACT, normalize_version(text))


def matches(query: VersionQuery, version: str) -> bool:
    """Whether `version` satisfies `query` under npm's rules. A candidate that is not a version
    matches nothing: stored data should not turn a search into a 400."""
    try:
        candidate = normalize_version(version)
    except InvalidInput:
        return False
    if query.kind is QueryKind.EXACT:
        return _precedence(candidate) == _precedence(query.low)
    return bool(nodesemver.satisfies(candidate, query.npm_range, loose=False))


_PreKey = tuple[tuple[int, int, str], ...]


def _precedence(version: str) -> tuple[int, int, int, int, _PreKey]:
    match = _FULL.fullmatch(version)
    if match is None:
        raise InvalidInput("not a normalised version", version=version[:MAX_VERSION_LENGTH])
    pre: _PreKey = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in (match["pre"].split(".") if match["pre"] else ())
    )
    return (int(match["major"]), int(match["minor"]), int(match["patch"]), 0 if pre else 1, pre)


def sort_key(version: str) -> tuple[tuple[int, int, int, int, _PreKey], str]:
    """Order by SemVer precedence (numeric parts numerically, a pre-release before its release);
    the spelling breaks ties between versions differing only in build metadata."""
    normalised = normalize_version(version)
    return _precedence(normalised), normalised


def tag_versions(tags: Iterable[str]) -> list[str]:
    """The git tags that are versions, normalised, deduplicated, ascending by precedence."""
    found = {normalize_version(tag) for tag in tags if is_version(tag)}
    return sorted(found, key=sort_key)


def latest_version(tags: Iterable[str]) -> str | None:
    """The highest release among the tags; the highest pre-release only when there is no release."""
    versions = tag_versions(tags)
    releases = [v for v in versions if "-" not in v.split("+", 1)[0]]
    if releases:
        return releases[-1]
    return versions[-1] if versions else None


def version_or_none(raw: str) -> str | None:
    """The canonical spelling of `raw`, or None when it is not a version: most git tags are not
    (`release-candidate`, `nightly`), and that is no error when scanning an upstream's tags."""
    try:
        return normalize_version(raw)
    except InvalidInput:
        return None
