"""The artifact page's analyses (lineage, size cost, license check) and the license-check page.

`analysis_sections` gathers what `artifact/_analysis.html` shows, from the same service calls as
the JSON routes (`registry.analysis.lineage / cost / license_check`). Each section fails on its
own: a domain error (malformed lineage metadata, an upstream outage) becomes a message in that
section, and the rest of the artifact page still renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tmr.accounts.models import Principal
from tmr.analysis.compatibility import Verdict
from tmr.analysis.licenses import Family, License
from tmr.analysis.lineage import Graph
from tmr.artifacts.models import Artifact, ArtifactType
from tmr.container import Registry
from tmr.errors import InvalidInput, NotFound, TmrError, UpstreamUnavailable
from tmr.web.graphs import Link, Node, lineage_svg
from tmr.web.routing import PageRoute
from tmr.web.session import SignedInDep, registry_of
from tmr.web.templating import href, render

router = APIRouter(route_class=PageRoute)

EXAMPLE_REPO = "https://github.com/huggingface/transformers"
FAMILY_WORDS = {
    Family.PUBLIC_DOMAIN: "public domain",
    Family.PERMISSIVE: "permissive",
    Family.WEAK_COPYLEFT: "weak copyleft",
    Family.RESPONSIBLE_AI: "responsible-AI license with use restrictions",
    Family.LLAMA_STYLE: "vendor community license (Llama-style)",
    Family.STRONG_COPYLEFT: "copyleft",
    Family.NETWORK_COPYLEFT: "network copyleft",
    Family.OTHER: "custom or proprietary",
    Family.NO_DERIVATIVES: "no derivatives",
    Family.NON_COMMERCIAL: "non-commercial",
    Family.UNKNOWN: "not identified",
}


def artifact_path(artifact_id: str) -> str:
    return f"/ui/artifacts/{artifact_id}"


def mb(value: float) -> str:
    """Megabytes as the contract counts them (bytes / 1024²), with the precision small files need."""
    if value == 0:
        return "0 MB"
    if value < 0.001:
        return "< 0.001 MB"
    if value < 1:
        return f"{value:.3f} MB"
    if value < 100:
        return f"{value:.2f} MB"
    return f"{value:,.1f} MB"


@dataclass(frozen=True, slots=True)
class Named:
    """An artifact as a row or a box names it: with a link unless it is the page's own."""

    id: str
    name: str
    type: str
    href: str | None
    current: bool


@dataclass(frozen=True, slots=True)
class Share:
    """One artifact's part of the total download with dependencies."""

    artifact: Named
    mb: float
    text: str
    percent: float


class Names:
    """The artifacts the sections mention, each named once (the lineage graph names most)."""

    def __init__(self, request: Request, current: Artifact) -> None:
        self._request = request
        self._current = current.id
        self.known: dict[str, Named] = {}
        self.add(current.id, current.name, current.type.value)

    def add(self, ident: str, name: str, type_: str) -> Named:
        if ident not in self.known:
            here = ident == self._current
            link = None if here else href(self._request, artifact_path(ident))
            self.known[ident] = Named(ident, name, type_, link, here)
        return self.known[ident]


def analysis_sections(request: Request, principal: Principal, artifact: Artifact) -> dict[str, Any]:
    """What the partial shows: `lineage`, `cost` and `license`, each with an `error` of its own."""
    registry = registry_of(request)
    names = Names(request, artifact)
    lineage: dict[str, Any] = {"applies": artifact.type is ArtifactType.MODEL, "error": None}
    if lineage["applies"]:
        try:
            graph = registry.analysis.lineage(principal, artifact.id)
        except TmrError as exc:
            lineage["error"] = exc.message
        else:
            lineage.update(_lineage(graph, artifact, names))

    cost: dict[str, Any] = {"error": None}
    try:
        alone = registry.analysis.cost(principal, artifact.type, artifact.id, dependencies=False)
        full = registry.analysis.cost(principal, artifact.type, artifact.id, dependencies=True)
    except TmrError as exc:
        cost["error"] = exc.message
    else:
        cost.update(_cost(registry, principal, artifact, alone, full, names))

    license_check = {
        "applies": artifact.type is ArtifactType.MODEL,
        "action": href(request, f"{artifact_path(artifact.id)}/license-check"),
        "license": artifact.license,
        "example": EXAMPLE_REPO,
    }
    return {"lineage": lineage, "cost": cost, "license": license_check}


def _lineage(graph: Graph, artifact: Artifact, names: Names) -> dict[str, Any]:
    members = {i: names.add(i, s.name, s.type.value) for i, s in graph.nodes.items()}
    edges = sorted(
        graph.edges.values(),
        key=lambda e: (members[e.parent].name, e.relationship, members[e.child].name, e.parent, e.child),
    )
    rows = [
        {"parent": members[e.parent], "relation": e.relationship, "child": members[e.child]}
        for e in edges
        if e.parent in members and e.child in members
    ]
    nodes = [Node(m.id, m.name, m.type, m.href, m.current) for m in members.values()]
    links = [Link(e.parent, e.child, e.relationship) for e in edges]
    svg = (
        lineage_svg(nodes, links, ident="lineage-graph", title=f"Lineage of {artifact.name}")
        if rows
        else None
    )
    return {"svg": svg, "rows": rows, "count": len(members)}


def _cost(
    registry: Registry,
    principal: Principal,
    artifact: Artifact,
    alone: dict[str, dict[str, float]],
    full: dict[str, dict[str, float]],
    names: Names,
) -> dict[str, Any]:
    own = alone[artifact.id]["total_cost"]
    total = full[artifact.id]["total_cost"]
    rows: list[Share] = []
    for ident, figures in full.items():
        member = names.known.get(ident)
        if member is None:  # not in a lineage graph on this page (datasets, code): read it
            try:
                found = registry.artifacts.get_any(principal, ident)
                member = names.add(ident, found.name, found.type.value)
            except TmrError:
                member = names.add(ident, ident, "artifact")
        standalone = figures.get("standalone_cost", 0.0)
        percent = standalone / total * 100 if total > 0 else 0.0
        rows.append(Share(member, standalone, mb(standalone), percent))
    rows.sort(key=lambda r: (not r.artifact.current, -r.mb, r.artifact.name))
    return {
        "own": own,
        "own_text": mb(own),
        "total": total,
        "total_text": mb(total),
        "rows": rows,
        "dependencies": len(rows) - 1,
    }


# -- the license-check page --------------------------------------------------------------------


def _license(lic: License | None) -> dict[str, str] | None:
    if lic is None:
        return None
    raw = (lic.raw or "").strip()
    return {
        "label": lic.spdx or (raw or "none declared"),
        "raw": raw if raw and raw != lic.spdx else "",
        "family": FAMILY_WORDS.get(lic.family, lic.family.value),
    }


@router.get("/ui/artifacts/{artifact_id}/license-check")
def license_check_page(
    request: Request,
    principal: SignedInDep,
    artifact_id: str,
    github_url: Annotated[str | None, Query()] = None,
) -> Response:
    """A GET form: checking changes nothing, so the result has an address and can be shared."""
    registry = registry_of(request)
    artifact = registry.artifacts.get(principal, ArtifactType.MODEL, artifact_id)
    context: dict[str, Any] = {
        "artifact": artifact,
        "artifact_href": href(request, artifact_path(artifact.id)),
        "action": href(request, f"{artifact_path(artifact.id)}/license-check"),
        "github_url": github_url or "",
        "example": EXAMPLE_REPO,
        "error": None,
        "verdict": None,
    }
    if github_url is None:
        return render(request, "license_check.html", context)
    status = 200
    url = github_url.strip()
    verdict: Verdict | None = None
    if not url:
        status, context["error"] = 400, f"Enter the URL of a GitHub repository, such as {EXAMPLE_REPO}."
    else:
        try:
            verdict = registry.analysis.license_check(principal, artifact.id, url)
        except InvalidInput as exc:
            status = 400
            context["error"] = (
                f"Enter the URL of a GitHub repository, such as {EXAMPLE_REPO} ({exc.message})."
            )
        except NotFound as exc:
            status, context["error"] = 404, f"GitHub has no repository at this address ({exc.message})."
        except UpstreamUnavailable as exc:
            status = 502
            context["error"] = (
                f"GitHub could not be asked for the project's license; try again later ({exc.message})."
            )
    if verdict is not None:
        context["verdict"] = {
            "compatible": verdict.compatible,
            "reasons": verdict.reasons,
            "model": _license(verdict.model),
            "code": _license(verdict.code),
        }
    return render(request, "license_check.html", context, status_code=status)
