"""Register an artifact by its URL, or ingest a model through the trust gate.

The form calls the same service methods as `POST /artifact/{type}` and `POST /artifact/ingest`;
a refusal comes back as the form with the service's words tied to the field they are about, and
the gate's refusal with its failing metrics. An ingested model's verdict (every metric against
its threshold) has a page of its own, so the answer to the POST is a redirect (reloading it
does not register twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tmr.accounts.models import Principal
from tmr.artifacts.models import ArtifactType
from tmr.errors import Conflict, Disqualified, IntegrityError, InvalidInput, UpstreamUnavailable
from tmr.rating.gate import GATE, gate_failures
from tmr.web.routing import PageRoute
from tmr.web.session import CsrfDep, SignedInDep, registry_of
from tmr.web.templating import href, render
from tmr.web.verdict import MetricVerdict, failing_lines, rating_lines

router = APIRouter(route_class=PageRoute)

TYPES = (
    (ArtifactType.MODEL.value, "Model"),
    (ArtifactType.DATASET.value, "Dataset"),
    (ArtifactType.CODE.value, "Code"),
)
MODES = (
    ("register", "Register"),
    ("ingest", "Ingest (rated first; kept out unless it passes the trust gate)"),
)


@dataclass
class RegisterForm:
    """What the user typed, kept so a refused form comes back as it was sent."""

    url: str = ""
    type: str = ArtifactType.MODEL.value
    name: str = ""
    mode: str = "register"
    errors: dict[str, str] = field(default_factory=dict)  # field → message
    problem: str | None = None  # a message about no one field (an upstream outage, the gate)
    existing_id: str | None = None
    failing: list[MetricVerdict] = field(default_factory=list)


def _page(request: Request, form: RegisterForm, status: int = 200) -> Response:
    return render(
        request,
        "register.html",
        {"form": form, "types": TYPES, "modes": MODES, "gate": f"{GATE:.2f}"},
        status_code=status,
    )


@router.get("/ui/register")
def register_form(request: Request, _principal: SignedInDep) -> Response:
    return _page(request, RegisterForm())


@router.post("/ui/register", dependencies=[CsrfDep])
def register_submit(
    request: Request,
    principal: SignedInDep,
    url: Annotated[str, Form()] = "",
    artifact_type: Annotated[str, Form(alias="type")] = ArtifactType.MODEL.value,
    name: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "register",
) -> Response:
    form = RegisterForm(url=url.strip(), type=artifact_type, name=name, mode=mode)
    if artifact_type not in {t for t, _ in TYPES}:
        form.errors["type"] = "Choose whether this is a model, a dataset or code."
    if mode not in {m for m, _ in MODES}:
        form.errors["mode"] = "Choose Register or Ingest."
    elif mode == "ingest" and artifact_type != ArtifactType.MODEL.value:
        form.errors["mode"] = "Only models are rated, so only models can be ingested: choose Register."
    if form.errors:
        return _page(request, form, 400)
    return _submit(request, principal, form)


def _submit(request: Request, principal: Principal, form: RegisterForm) -> Response:
    registration = registry_of(request).registration
    chosen_name = form.name if form.name.strip() else None
    try:
        if form.mode == "ingest":
            registered = registration.ingest(principal, form.url, chosen_name)
        else:
            registered = registration.register(principal, ArtifactType(form.type), form.url, chosen_name)
    except Disqualified as exc:
        form.problem = (
            f"The model was not added: its rating does not pass the trust gate (every metric must be "
            f"at least {GATE:.2f}, and no weights file may run code when loaded). Nothing was stored."
        )
        form.failing = failing_lines(exc.details.get("failing_metrics") or {})
        return _page(request, form, exc.status_code)
    except Conflict as exc:
        form.errors["url"] = sentence(exc.message)
        existing = exc.details.get("id")
        form.existing_id = existing if isinstance(existing, str) else None
        return _page(request, form, exc.status_code)
    except InvalidInput as exc:
        about_name = exc.message.startswith(("name ", "the name"))
        form.errors["name" if about_name else "url"] = sentence(exc.message)
        return _page(request, form, exc.status_code)
    except (UpstreamUnavailable, IntegrityError) as exc:
        form.problem = (
            f"The source could not be read, so nothing was stored. Try again later. ({exc.message})"
        )
        return _page(request, form, exc.status_code)
    artifact_id = registered.artifact.id
    if form.mode == "ingest":
        return RedirectResponse(href(request, f"/ui/register/{artifact_id}/verdict"), status_code=303)
    return RedirectResponse(
        href(request, f"/ui/artifacts/{artifact_id}", notice="registered"), status_code=303
    )


@router.get("/ui/register/{artifact_id}/verdict")
def verdict(request: Request, principal: SignedInDep, artifact_id: str) -> Response:
    """The gate's verdict on a model: its stored rating (the gate's own, for an ingested model)
    against each threshold."""
    stored = registry_of(request).ratings.rating(principal, artifact_id)
    failing = gate_failures(stored)
    return render(
        request,
        "register_verdict.html",
        {
            "artifact_id": artifact_id,
            "model_name": str(stored.rating.get("name") or artifact_id),
            "net_score": stored.rating.get("net_score"),
            "lines": rating_lines(stored.rating, failing),
            "passed": not failing,
            "rated_at": stored.computed_at,
            "gate": f"{GATE:.2f}",
        },
    )


def sentence(message: str) -> str:
    """A service's message as a sentence on the page (its words unchanged)."""
    text = message[:1].upper() + message[1:]
    return text if text.endswith((".", "?", "!")) else text + "."
