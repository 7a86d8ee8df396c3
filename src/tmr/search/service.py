"""Finding artifacts: enumeration with keyset paging, exact names, and regex over names and READMEs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tmr.accounts.models import Permission, Principal
from tmr.accounts.permissions import require, scope_for
from tmr.artifacts.interfaces import ArtifactRepository, TextMatcher
from tmr.artifacts.models import ArtifactSummary, ArtifactType
from tmr.confusion.interfaces import HitKind, SearchHit, SearchHitLog
from tmr.errors import InvalidInput, NotFound
from tmr.search.prefilter import required_literals, required_prefixes
from tmr.search.regex import compile_pattern
from tmr.search.slots import ScanSlots
from tmr.search.versions import VersionQuery, matches, parse_query

log = logging.getLogger(__name__)

# Search hits (the package-confusion audit's popularity in search): the first results a search
# showed, per search; the table keeps the newest HITS_KEPT, none older than HITS_MAX_AGE.
HITS_PER_SEARCH = 25
HITS_KEPT = 500_000
HITS_MAX_AGE = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Query:
    """One ArtifactQuery of the contract: a name (`*` for all) and optional types, plus tmr's
    optional version query (exact, `A-B`, `~A`, `^A`, as npm reads them)."""

    name: str
    types: frozenset[ArtifactType] | None = None
    version: VersionQuery | None = None

    def admits(self, item: ArtifactSummary) -> bool:
        return (
            (self.name == "*" or item.name == self.name)
            and (not self.types or item.type in self.types)
            and (self.version is None or (item.version is not None and matches(self.version, item.version)))
        )


def version_query(raw: str | None) -> VersionQuery | None:
    """A version query from a request (None when absent); 400 when it is not a version query."""
    return None if raw is None else parse_query(raw)


def _with_version(items: list[ArtifactSummary], version: VersionQuery | None) -> list[ArtifactSummary]:
    if version is None:
        return items
    return [i for i in items if i.version is not None and matches(version, i.version)]


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
        refuse_backtracking: bool = True,
        regex_waiting: int = 16,
        hits: SearchHitLog | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repo = repo
        self._hits = hits
        self._clock = clock
        self._page_size = page_size
        # Regex scans read every README: a few at a time keep the cheap requests of this worker
        # responsive instead of letting many scans share (and starve) the CPU; those waiting
        # for a turn wait on the event loop, never in a worker thread (search/slots.py).
        self.scans = ScanSlots(regex_concurrency, max_waiting=regex_waiting, wait_s=regex_queue_s)
        self._refuse_backtracking = refuse_backtracking

    def enumerate(
        self,
        principal: Principal,
        queries: Sequence[Query],
        offset: str | None,
        *,
        limit: int | None = None,
        client: str | None = None,
    ) -> tuple[list[ArtifactSummary], str | None]:
        """The union of the queries over what `principal` may see, in registration order, one page at
        a time. The database does the filtering and keyset paging, so no request makes the server
        hold the whole registry; version queries are checked on the page's candidates. `limit`
        makes pages smaller than the registry's page size (the browser's lists), never larger.
        Items found by a named query are search hits (a `*` listing finds nothing in particular)."""
        require(principal, Permission.SEARCH)
        if not queries:
            raise InvalidInput("at least one artifact query is required")
        filters = [(None if q.name == "*" else q.name, q.types) for q in queries]
        versioned = all(q.version is not None for q in queries)
        accept = None
        if any(q.version is not None for q in queries):
            accept = lambda item: any(q.admits(item) for q in queries)  # noqa: E731
        items, cursor = self._repo.page(
            filters,
            decode_cursor(offset),
            self._page_size if limit is None else max(1, min(limit, self._page_size)),
            scope_for(principal, versioned=versioned),
            accept,
        )
        named = {q.name for q in queries if q.name != "*"}
        self._record(principal, [i for i in items if i.name in named], "enumerate", client)
        return items, (str(cursor) if cursor is not None else None)

    def by_name(
        self,
        principal: Principal,
        name: str,
        version: VersionQuery | None = None,
        *,
        client: str | None = None,
        searched: bool = True,
    ) -> list[ArtifactSummary]:
        """The artifacts named `name`. `searched=False` when no person searched (a page listing an
        artifact's other versions): the result then is not counted as search hits."""
        require(principal, Permission.SEARCH)
        if not name or not name.strip():
            raise InvalidInput("name must be non-empty")
        scope = scope_for(principal, versioned=version is not None)
        items = _with_version(self._repo.by_name(name, scope), version)
        if not items:
            raise NotFound(f"no artifact is named {name!r}" + (" with that version" if version else ""))
        if searched:
            self._record(principal, items, "name", client)
        return items

    def by_regex(
        self,
        principal: Principal,
        pattern: str,
        version: VersionQuery | None = None,
        *,
        client: str | None = None,
    ) -> list[ArtifactSummary]:
        """For doors that already run in a worker thread (the pages): a free scan slot or 503
        at once, since waiting here would hold the thread."""
        require(principal, Permission.SEARCH)
        matcher = compile_pattern(pattern, refuse_backtracking=self._refuse_backtracking)
        self.scans.try_acquire()
        try:
            return self._scan(principal, pattern, matcher, version, client)
        finally:
            self.scans.release()

    async def by_regex_waiting(
        self,
        principal: Principal,
        pattern: str,
        version: VersionQuery | None = None,
        *,
        client: str | None = None,
    ) -> list[ArtifactSummary]:
        """For async doors (the API): the pattern is checked first (400 never waits), the turn
        is awaited on the event loop, and only the scan itself takes a thread, one outside the
        server's shared pool, so queued scans cannot starve `/health` or downloads."""
        require(principal, Permission.SEARCH)
        matcher = compile_pattern(pattern, refuse_backtracking=self._refuse_backtracking)
        await self.scans.acquire()
        try:
            return await asyncio.to_thread(self._scan, principal, pattern, matcher, version, client)
        finally:
            self.scans.release()

    def _scan(
        self,
        principal: Principal,
        pattern: str,
        matcher: TextMatcher,
        version: VersionQuery | None,
        client: str | None,
    ) -> list[ArtifactSummary]:
        scope = scope_for(principal, versioned=version is not None)
        # A literal every match starts with is checked at the start of each text only; failing
        # that, literals every match contains are searched for anywhere (search/prefilter.py).
        hints = required_prefixes(pattern) or required_literals(pattern)
        found = _with_version(self._repo.match_text(matcher, scope, contains=hints), version)
        if not found:
            raise NotFound("no artifact matches this regex" + (" with that version" if version else ""))
        self._record(principal, found, "regex", client)
        return found

    def _record(
        self, principal: Principal, shown: Sequence[ArtifactSummary], kind: HitKind, client: str | None
    ) -> None:
        """The first results a person was shown, as search hits. Never fails the search: a store
        that cannot take them costs the audit a little evidence, not the user an answer."""
        if self._hits is None or principal.is_system or not shown:
            return
        at = self._clock()
        hits = [SearchHit(i.id, principal.name, client, kind, at) for i in shown[:HITS_PER_SEARCH]]
        try:
            self._hits.record_hits(hits, keep=HITS_KEPT, oldest=at - HITS_MAX_AGE)
        except Exception:
            log.warning("search hits not recorded", exc_info=True)
