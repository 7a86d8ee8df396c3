"""The home page: browse and search the artifacts the signed-in user may see.

One search box, three ways to read it (the contract's own searches): an exact name (empty: every
artifact), a regular expression over names and READMEs (RE2, with the backtracking check's
refusal said at the field), or an npm-style version range. Lists are keyset-paged by the search
service's own offsets; since those only go forward, the links carry the offsets of the pages
before (`trail`) so "Previous page" needs no server state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tmr.accounts.models import Principal
from tmr.artifacts.models import ArtifactSummary, ArtifactType
from tmr.errors import InvalidInput, NotFound
from tmr.search.service import Query as SearchQuery
from tmr.search.service import decode_cursor, version_query
from tmr.web.ratings import Level, level_of
from tmr.web.routing import PageRoute
from tmr.web.session import SignedInDep, registry_of
from tmr.web.templating import href, render

router = APIRouter(route_class=PageRoute)

PAGE_SIZE = 20
TRAIL_LIMIT = 100  # pages remembered for "Previous page"; older ones are reached from the first page
MODES = (("name", "Name"), ("regex", "Regex (names and READMEs)"), ("version", "Version range"))
TYPES = (("", "All types"), ("model", "Models"), ("dataset", "Datasets"), ("code", "Code"))
_TRAIL_ENTRY = re.compile(r"^(?:-|[0-9]{1,20})$")
FIRST = "-"  # the trail's name for the first page, which has no offset


@dataclass(frozen=True, slots=True)
class Result:
    item: ArtifactSummary
    score: float | None
    level: Level | None


@dataclass(slots=True)
class Search:
    """What the form asked, as the page reads it back."""

    q: str
    mode: str
    type: str
    offset: str | None
    trail: list[str]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def types(self) -> frozenset[ArtifactType] | None:
        return frozenset({ArtifactType(self.type)}) if self.type else None

    def link(self, request: Request, offset: str | None, trail: list[str]) -> str:
        return href(
            request,
            "/",
            q=self.q or None,
            mode=self.mode if self.mode != "name" else None,
            type=self.type or None,
            offset=offset,
            trail=",".join(trail) or None,
        )


def _trail(raw: str) -> list[str]:
    entries = [e for e in raw.split(",") if e] if raw else []
    if not all(_TRAIL_ENTRY.match(e) for e in entries):
        return []  # a mangled link loses its way back, nothing else
    return entries[-TRAIL_LIMIT:]


def _read(q: str, mode: str, kind: str, offset: str | None, trail: str) -> Search:
    search = Search(q.strip(), mode, kind, offset or None, _trail(trail))
    if mode not in dict(MODES):
        search.errors["mode"] = "Choose how to match: by name, by regex or by version range."
        search.mode = "name"
    if kind not in dict(TYPES):
        search.errors["type"] = "Choose a type: all, models, datasets or code."
        search.type = ""
    if search.mode == "regex" and not search.q:
        search.errors["q"] = "Enter a regular expression to search names and READMEs, for example bert|gpt."
    if search.mode == "version" and not search.q:
        search.errors["q"] = "Enter a version range, for example ^1.2, ~1.2.0 or 1.0.0-2.0.0."
    return search


def _run(request: Request, principal: Principal, search: Search) -> tuple[list[ArtifactSummary], str | None]:
    """One page of results and the next page's offset (None on the last page)."""
    registry = registry_of(request)
    client = request.client.host if request.client else None
    if search.mode == "regex":
        start = decode_cursor(search.offset) or 0
        try:
            found = registry.search.by_regex(principal, search.q, client=client)
        except NotFound:
            return [], None
        if search.types:
            found = [i for i in found if i.type in search.types]
        more = len(found) > start + PAGE_SIZE
        return found[start : start + PAGE_SIZE], (str(start + PAGE_SIZE) if more else None)
    version = version_query(search.q) if search.mode == "version" else None
    name = "*" if search.mode == "version" or not search.q else search.q
    return registry.search.enumerate(
        principal, [SearchQuery(name, search.types, version)], search.offset, limit=PAGE_SIZE, client=client
    )


@router.get("/")
def browse(
    request: Request,
    principal: SignedInDep,
    q: Annotated[str, Query(max_length=4096)] = "",
    mode: str = "name",
    kind: Annotated[str, Query(alias="type")] = "",
    offset: str | None = None,
    trail: Annotated[str, Query(max_length=2200)] = "",
) -> Response:
    search = _read(q, mode, kind, offset, trail)
    items: list[ArtifactSummary] = []
    next_offset: str | None = None
    problem: str | None = None
    if not search.errors:
        try:
            decode_cursor(search.offset)
        except InvalidInput:
            problem = "This page link is not valid any more. Start again from the first page."
        else:
            try:
                items, next_offset = _run(request, principal, search)
            except InvalidInput as exc:
                # A bad regex or version range: the service's own words, at the search box.
                search.errors["q"] = exc.message
    scores = registry_of(request).ratings.stored_net_scores(
        principal, [i.id for i in items if i.type is ArtifactType.MODEL]
    )
    results = [Result(i, scores.get(i.id), level_of(scores[i.id]) if i.id in scores else None) for i in items]
    here = search.offset or FIRST
    previous = None
    if search.trail:
        back = search.trail[-1]
        previous = search.link(request, None if back == FIRST else back, search.trail[:-1])
    elif search.offset:
        previous = search.link(request, None, [])
    context = {
        "search": search,
        "results": results,
        "problem": problem,
        "modes": MODES,
        "types": TYPES,
        "empty_registry": not items
        and not search.errors
        and problem is None
        and search.mode == "name"
        and not search.q
        and not search.type
        and not search.offset,
        "page_number": len(search.trail) + 1 if bool(search.trail) == bool(search.offset) else None,
        "next_link": search.link(request, next_offset, [*search.trail, here]) if next_offset else None,
        "previous_link": previous,
        "first_link": search.link(request, None, []) if search.offset else None,
        "clear_type_link": href(
            request, "/", q=search.q or None, mode=search.mode if search.mode != "name" else None
        )
        if search.type
        else None,
        "as_regex_link": href(request, "/", q=re.escape(search.q), mode="regex", type=search.type or None)
        if search.mode == "name" and search.q
        else None,
    }
    status = 400 if search.errors or problem else 200
    return render(request, "browse.html", context, status_code=status)
