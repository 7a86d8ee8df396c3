"""The browser's pages stay out of the OpenAPI document: they are HTML forms behind a session
cookie and a CSRF token, not API operations (web/routing.py `PageRoute`)."""

from __future__ import annotations

from pathlib import Path

from fastapi.routing import APIRoute

from tests.support import make_settings
from tmr.app import create_app
from tmr.web.app import PAGE_MODULES


def test_no_page_is_in_the_openapi_document(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    try:
        document = app.openapi()
        pages = {
            route.path_format
            for module in PAGE_MODULES
            for route in module.router.routes
            if isinstance(route, APIRoute)
        }
        assert len(pages) > 20  # the pages are there to leave out
        assert not pages & set(document["paths"])
        assert not [path for path in document["paths"] if path == "/ui" or path.startswith("/ui/")]
        assert "/artifacts" in document["paths"]  # the API itself still is
    finally:
        app.state.registry.close()
