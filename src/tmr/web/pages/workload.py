"""The download workload, from the operations dashboard (administrators only).

The form calls `WorkloadService.start`, the same use case as `POST /workloads`; a refusal (bounds,
an artifact the admin cannot see, a run already active) comes back as the form with the
service's words tied to the field they are about. A started run has a page of its own that the
script refreshes from `GET /workloads/{id}` (a Refresh link without JavaScript), and past runs
can be compared two at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tmr.accounts.models import Principal
from tmr.api.presenters import base_url
from tmr.artifacts.models import FileKind
from tmr.artifacts.packages import DATASETS_PART
from tmr.errors import Conflict, InvalidInput, NotFound
from tmr.search.service import Query as SearchQuery
from tmr.web.routing import PageRoute
from tmr.web.session import AdminPageDep, CsrfDep, registry_of
from tmr.web.templating import href, render
from tmr.workload.models import WorkloadRun

router = APIRouter(route_class=PageRoute)

FIELDS = ("artifact_id", "clients", "requests", "time_limit_s", "parts")
PARTS = (
    ("", "The whole package"),
    *((kind.value, f"{kind.value.capitalize()} files only") for kind in FileKind),
    (DATASETS_PART, "Linked datasets only"),
)


@dataclass
class WorkloadForm:
    """What the admin typed, kept so a refused form comes back as it was sent."""

    artifact_id: str = ""
    clients: str = "4"
    requests: str = "100"
    time_limit_s: str = "30"
    parts: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # field → message
    problem: str | None = None  # about no one field (another run is active)
    running_id: str | None = None


def _artifact_options(
    request: Request, principal: Principal, chosen: str
) -> tuple[list[tuple[str, str]], bool]:
    """The first page of what the admin may see (the search service's enumeration), plus the
    chosen artifact when it is further on; and whether there are more."""
    registry = registry_of(request)
    items, more = registry.search.enumerate(principal, [SearchQuery("*")], None)
    options = [(item.id, f"{item.name} ({item.type.value})") for item in items]
    if chosen and chosen not in {value for value, _ in options}:
        try:
            artifact = registry.artifacts.get_any(principal, chosen)
        except (InvalidInput, NotFound):
            pass  # not an artifact the admin can see: the form says so
        else:
            options.append((artifact.id, f"{artifact.name} ({artifact.type.value})"))
    return options, more is not None


def _form_page(request: Request, principal: Principal, form: WorkloadForm, status: int = 200) -> Response:
    registry = registry_of(request)
    runs = registry.workloads.runs(principal)
    options, more = _artifact_options(request, principal, form.artifact_id)
    return render(
        request,
        "workload.html",
        {
            "form": form,
            "artifacts": options,
            "more_artifacts": more,
            "parts": PARTS,
            "bounds": registry.workloads.bounds,
            "runs": runs,
            "active": next((run for run in runs if run.status.active), None),
        },
        status_code=status,
    )


@router.get("/ui/workload")
def workload_page(
    request: Request, principal: AdminPageDep, artifact: Annotated[str, Query()] = ""
) -> Response:
    form = WorkloadForm(artifact_id=artifact)
    bounds = registry_of(request).workloads.bounds
    form.time_limit_s = str(min(30, bounds.max_time_limit_s))
    return _form_page(request, principal, form)


def _whole_number(form: WorkloadForm, name: str, label: str) -> int:
    raw = getattr(form, name).strip()
    if not raw.isascii() or not raw.isdigit():
        form.errors[name] = f"Enter {label} as a whole number."
        return 0
    return int(raw)


@router.post("/ui/workload", dependencies=[CsrfDep])
async def start_workload(
    request: Request,
    principal: AdminPageDep,
    artifact_id: Annotated[str, Form()] = "",
    clients: Annotated[str, Form()] = "",
    requests: Annotated[str, Form()] = "",
    time_limit_s: Annotated[str, Form()] = "",
    parts: Annotated[str, Form()] = "",
) -> Response:
    form = WorkloadForm(artifact_id.strip(), clients, requests, time_limit_s, parts.strip())
    if not form.artifact_id:
        form.errors["artifact_id"] = "Choose the artifact whose package the clients download."
    numbers = (
        _whole_number(form, "clients", "the number of clients"),
        _whole_number(form, "requests", "the number of requests"),
        _whole_number(form, "time_limit_s", "the time limit in seconds"),
    )
    if form.errors:
        return await run_in_threadpool(_form_page, request, principal, form, 400)
    try:
        run = await registry_of(request).workloads.start(
            principal, form.artifact_id, *numbers, base_url=base_url(request), parts=form.parts or None
        )
    except (InvalidInput, NotFound) as exc:
        fields = exc.details.get("fields")
        if isinstance(fields, dict) and fields:
            form.errors.update({k: _sentence(str(v)) for k, v in fields.items() if k in FIELDS})
        if not form.errors:
            form.problem = _sentence(exc.message)
        return await run_in_threadpool(_form_page, request, principal, form, exc.status_code)
    except Conflict as exc:
        running = exc.details.get("run_id")
        form.running_id = running if isinstance(running, str) else None
        form.problem = "Another workload is running. Only one runs at a time: wait for it to finish."
        return await run_in_threadpool(_form_page, request, principal, form, exc.status_code)
    return RedirectResponse(href(request, f"/ui/workload/{run.id}"), status_code=303)


@router.get("/ui/workload/compare")
def compare_page(
    request: Request,
    principal: AdminPageDep,
    first: Annotated[str, Query()] = "",
    second: Annotated[str, Query()] = "",
) -> Response:
    if not first or not second:
        raise InvalidInput("Choose two runs to compare.")
    workloads = registry_of(request).workloads
    comparison = workloads.compare(principal, first, second)
    return render(
        request,
        "workload_compare.html",
        {"comparison": comparison, "runs": workloads.runs(principal)},
    )


@router.get("/ui/workload/{run_id}")
def run_page(request: Request, principal: AdminPageDep, run_id: str) -> Response:
    run: WorkloadRun = registry_of(request).workloads.run(principal, run_id)
    return render(request, "workload_run.html", {"run": run, "bounds": registry_of(request).workloads.bounds})


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
