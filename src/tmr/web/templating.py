"""Jinja2 rendering and content-hashed static assets.

Assets are served under names that carry a hash of their bytes (`css/app.3f2a9c1d.css`), so a
browser may cache them for a year and a new release is fetched at once; templates name them with
`asset("css/app.css")`. Every URL a page writes goes through `href()`, which keeps the base path
of a deployment behind a gateway (the ASGI `root_path`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"

# Fixed texts a redirect may name with `?notice=CODE`: the URL never carries prose of its own.
NOTICES = {
    "signed-out": "You have signed out.",
    "expired": "Your session has ended (it expired, was used up or was signed out). Sign in again.",
    "signed-in-needed": "Sign in to continue.",
    "reset": "The registry was reset: every artifact is gone and only the default admin remains.",
    "deleted": "The artifact was deleted.",
    "user-created": "The user was added. They can sign in now.",
    "user-deleted": "The user was deleted, and every session of theirs ended.",
    "permissions-saved": "The permissions were saved. They apply from the user's next request.",
    "password-changed": "Your password was changed. Your other sessions have ended.",
    "account-deleted": "Your account was deleted.",
    "registered": "The artifact was registered.",
    "uploaded": "The zip was uploaded. The artifact is private: only you and administrators can see it.",
    "uploaded-unsafe": (
        "The zip was uploaded, but some of its weights files run code when loaded: they are marked "
        "unsafe in the file list, a model holding them has a net score of 0, and downloads leave "
        "them out unless you ask for them."
    ),
}


@dataclass(frozen=True, slots=True)
class Asset:
    path: Path
    hashed_name: str
    media_type: str


_MEDIA = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}


@cache
def assets() -> dict[str, Asset]:
    """Every static file by its hashed name, computed once per process."""
    found: dict[str, Asset] = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        if not path.is_file():
            continue
        relative = PurePosixPath(path.relative_to(STATIC_DIR).as_posix())
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        hashed = str(relative.with_name(f"{relative.stem}.{digest}{relative.suffix}"))
        found[hashed] = Asset(path, hashed, _MEDIA.get(path.suffix, "application/octet-stream"))
    return found


@cache
def _hashed_names() -> dict[str, str]:
    return {str(PurePosixPath(a.path.relative_to(STATIC_DIR).as_posix())): h for h, a in assets().items()}


def base_path(request: Request) -> str:
    return str(request.scope.get("root_path") or "").rstrip("/")


def href(request: Request, path: str, **query: object) -> str:
    """An absolute path inside this deployment, with an optional query (None values left out)."""
    pairs = [(k, str(v)) for k, v in query.items() if v is not None and v != ""]
    return base_path(request) + path + (("?" + urlencode(pairs)) if pairs else "")


def asset_url(request: Request, name: str) -> str:
    hashed = _hashed_names().get(name)
    if hashed is None:
        raise KeyError(f"no static asset named {name!r}")
    return href(request, f"/static/{hashed}")


def human_bytes(size: int | float | None) -> str:
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def when(value: datetime | float | None) -> str:
    """A UTC time as people read it; `datetime` attributes use `iso()`."""
    if value is None:
        return "never"
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime | float | None) -> str:
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "svg", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["bytes"] = human_bytes
    env.filters["when"] = when
    env.filters["iso"] = iso
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page: the template with the request's session, the URL helpers and the notice named by
    `?notice=` (one of NOTICES, so a link cannot make the page say anything else)."""
    state = request.state
    notice_code = request.query_params.get("notice")
    values: dict[str, Any] = {
        "request": request,
        "principal": getattr(state, "principal", None),
        "form_key": getattr(state, "form_key", ""),
        "notice": NOTICES.get(notice_code or ""),
        "href": lambda path, **query: href(request, path, **query),
        "asset": lambda name: asset_url(request, name),
        "current_path": request.url.path[len(base_path(request)) :] or "/",
    }
    values.update(context or {})
    body = environment().get_template(template).render(values)
    return HTMLResponse(body, status_code=status_code, headers=headers)
