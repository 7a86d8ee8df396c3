"""The page helpers: content-hashed asset names, links inside the deployment's root path, and the
sizes and times pages show."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from starlette.requests import Request

from tmr.web.templating import STATIC_DIR, asset_url, assets, base_path, href, human_bytes, iso, when


def _request(root_path: str = "") -> Request:
    return Request({"type": "http", "path": "/", "headers": [], "query_string": b"", "root_path": root_path})


def test_assets_are_named_by_their_contents() -> None:
    found = assets()
    app_css = next(a for a in found.values() if a.path == STATIC_DIR / "css" / "app.css")
    digest = hashlib.sha256(app_css.path.read_bytes()).hexdigest()[:12]
    assert app_css.hashed_name == f"css/app.{digest}.css"
    assert app_css.media_type == "text/css; charset=utf-8"
    app_js = next(a for a in found.values() if a.path.name == "app.js")
    assert app_js.media_type == "text/javascript; charset=utf-8"
    assert set(found) == {a.hashed_name for a in found.values()}


def test_asset_url_is_inside_the_root_path() -> None:
    url = asset_url(_request("/prod/"), "css/app.css")
    assert re.fullmatch(r"/prod/static/css/app\.[0-9a-f]{12}\.css", url)
    with pytest.raises(KeyError, match=r"no static asset named 'css/none\.css'"):
        asset_url(_request(), "css/none.css")


def test_href_leaves_out_empty_query_values() -> None:
    assert base_path(_request("/prod/")) == "/prod"
    assert base_path(_request()) == ""
    assert (
        href(_request("/prod"), "/browse", q="bert", page=2, type=None, empty="")
        == "/prod/browse?q=bert&page=2"
    )
    assert href(_request(), "/x") == "/x"
    assert href(_request(), "/s", q="a b&c") == "/s?q=a+b%26c"


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (None, "unknown"),
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 KB"),
        (1_536_000, "1.5 MB"),
        (2_000_000_000, "2.0 GB"),
        (3_500_000_000_000_000, "3500.0 TB"),
    ],
)
def test_human_bytes_in_powers_of_a_thousand(size: int | None, shown: str) -> None:
    assert human_bytes(size) == shown


def test_times_are_shown_in_utc() -> None:
    moment = datetime(2026, 1, 2, 5, 4, 3, tzinfo=timezone(timedelta(hours=2)))
    assert when(moment) == "2026-01-02 03:04:03 UTC"
    assert when(0.0) == "1970-01-01 00:00:00 UTC"
    assert when(None) == "never"
    assert iso(moment) == "2026-01-02T03:04:03+00:00"
    assert iso(86400.5) == datetime(1970, 1, 2, tzinfo=UTC).isoformat(timespec="seconds")
    assert iso(None) == ""
