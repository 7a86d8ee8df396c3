"""Static assets by their content-hashed names, cached for a year (the name changes with the
bytes); any other name is a 404, so a stale page can never get new bytes under an old name."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from tmr.errors import NotFound
from tmr.web.routing import PageRoute
from tmr.web.templating import assets

router = APIRouter(route_class=PageRoute)


@router.get("/static/{name:path}")
def static_asset(name: str) -> FileResponse:
    asset = assets().get(name)
    if asset is None:
        raise NotFound(f"no static asset named {name}")
    return FileResponse(
        asset.path,
        media_type=asset.media_type,
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
