"""Pages answer in HTML, whatever goes wrong.

`PageRoute` turns the domain's errors into the error page with the same status code the API
would use, a missing session into a redirect to the sign-in form, and adds the headers every
page carries: a Content Security Policy that allows no inline script (a README that slipped
through the sanitiser still could not run anything), no framing, no sniffing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from tmr.errors import TmrError
from tmr.web.session import SignInRequired, end_session
from tmr.web.templating import href, render

log = logging.getLogger("tmr.web")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

TITLES = {
    400: "The request could not be understood",
    401: "Not allowed",
    403: "Refused",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported content",
    416: "Range not satisfiable",
    424: "Refused by the trust gate",
    502: "An upstream failed",
    503: "Temporarily unavailable",
}


def error_page(request: Request, status: int, message: str, details: object = None) -> Response:
    return render(
        request,
        "error.html",
        {
            "status": status,
            "title": TITLES.get(status, "Something went wrong"),
            "message": message,
            "details": details,
        },
        status_code=status,
    )


def sign_in_redirect(request: Request, reason: str) -> Response:
    here = request.url.path
    if request.url.query:
        here += "?" + request.url.query
    target = href(request, "/ui/sign-in", notice=reason, next=here if request.method == "GET" else None)
    response = RedirectResponse(target, status_code=303)
    if reason == "expired":
        end_session(request, response)
    return response


def _problem(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ())[1:])
    return f"{where}: {error.get('msg', '')}"


class PageRoute(APIRoute):
    def __init__(self, *args: object, **kwargs: object) -> None:
        # Pages are HTML behind a session cookie and a CSRF token, not API: never in /openapi.json.
        # (Assigned, not defaulted: FastAPI always passes the argument, True unless told otherwise.)
        kwargs["include_in_schema"] = False
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired as exc:
                response = sign_in_redirect(request, exc.reason)
            except TmrError as exc:
                if exc.status_code >= 500:
                    log.warning("%s: %s", exc.code, exc.message)
                # The API's words (a store's failure names its component, never the driver's text).
                message, details = exc.public()
                response = error_page(request, exc.status_code, message, details or None)
                retry_after = details.get("retry_after")
                if isinstance(retry_after, int) and not isinstance(retry_after, bool):
                    response.headers["Retry-After"] = str(retry_after)
            except RequestValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}"
                    for e in exc.errors()
                )
                response = error_page(request, 400, f"Some fields are not valid: {problems}")
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return page
