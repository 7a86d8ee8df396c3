"""Finding artifacts: enumeration with keyset paging, exact names, and regex over names and READMEs."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from tmr.artifacts.interfaces import ArtifactRepository
from tmr.artifacts.models import ArtifactSummary, ArtifactType
from tmr.errors import Busy, InvalidInput, NotFound
from tmr.search.prefilter import required_literals
from tmr.search.regex import compile_pattern


@dataclass(frozen=True, slots=True)
class Query:
    """One ArtifactQuery of the contract: a name (`*` for all) and optional types."""

    name: str
    types: frozenset[ArtifactType] | None = None


def decode_cursor(offset: str | None) -> int | None:
    if offset is None or offset.strip() == "":
        return None
    if not offset.strip().isdigit():
        raise InvalidInput("offset must be a value returned in a previous `offset` header")
    return int(offset.strip())


class SearchService:
    def __init__(
        self,
        repo: ArtifactRepository,
        page_size: int,
        regex_concurrency: int = 2,
        regex_queue_s: float = 30.0,
    ) -> None:
        self._repo = repo
        self._page_size = page_size
        # Regex scans read every README: a few at a time keep the cheap requests of this worker
        # responsive instead of letting many scans share (and starve) the CPU.
        self._scans = threading.BoundedSemaphore(max(1, regex_concurrency))
        self._queue_s = regex_queue_s

    def enumerate(
        self, queries: Sequence[Query], offset: str | None
    ) -> tuple[list[ArtifactSummary], str | None]:
        """The union of the queries, in registration order, one page at a time. The database does
        the filtering and keyset paging, so no request makes the server hold the whole registry."""
        if not queries:
            raise InvalidInput("at least one artifact query is required")
        filters = [(None if q.name == "*" else q.name, q.types) for q in queries]
        items, cursor = self._repo.page(filters, decode_cursor(offset), self._page_size)
        return items, (str(cursor) if cursor is not None else None)

    def by_name(self, name: str) -> list[ArtifactSummary]:
        if not name or not name.strip():
            raise InvalidInput("name must be non-empty")
        items = self._repo.by_name(name)
        if not items:
            raise NotFound(f"no artifact is named {name!r}")
        return items

    def by_regex(self, pattern: str) -> list[ArtifactSummary]:
        matcher = compile_pattern(pattern)
        if not self._scans.acquire(timeout=self._queue_s):
            raise Busy("too many regex searches in progress; retry shortly")
        try:
            found = self._repo.match_text(matcher, contains=required_literals(pattern))
        finally:
            self._scans.release()
        if not found:
            raise NotFound("no artifact matches this regex")
        return found
