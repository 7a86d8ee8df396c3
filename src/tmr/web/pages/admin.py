"""The administrators' page: reset the registry, after typing what it does.

The reset is the one `DELETE /reset` runs (`Registry.reset`); the page asks for the words
`reset the registry` so a stray click or Enter cannot empty the registry, and shows what is in
it first, so the admin knows what the reset removes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tmr.web.routing import PageRoute
from tmr.web.session import AdminPageDep, CsrfDep, registry_of
from tmr.web.templating import href, render

router = APIRouter(route_class=PageRoute)

CONFIRMATION = "reset the registry"


def _page(request: Request, *, typed: str = "", error: str | None = None, status: int = 200) -> Response:
    registry = registry_of(request)
    summary = registry.health.summary()
    return render(
        request,
        "admin.html",
        {
            "counts": [(t.value, n) for t, n in summary.counts.items()],
            "total": sum(summary.counts.values()),
            "admin_name": registry.accounts.admin_name,
            "confirmation": CONFIRMATION,
            "typed": typed,
            "error": error,
        },
        status_code=status,
    )


@router.get("/ui/admin")
def admin_page(request: Request, _admin: AdminPageDep) -> Response:
    return _page(request)


@router.post("/ui/admin/reset", dependencies=[CsrfDep])
def reset(request: Request, admin: AdminPageDep, confirmation: Annotated[str, Form()] = "") -> Response:
    if confirmation.strip() != CONFIRMATION:
        return _page(
            request,
            typed=confirmation,
            error=f'Type "{CONFIRMATION}" exactly to confirm. Nothing was reset.',
            status=400,
        )
    registry_of(request).reset(admin)
    return RedirectResponse(href(request, "/", notice="reset"), status_code=303)
