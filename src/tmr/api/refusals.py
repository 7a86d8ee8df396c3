"""The refusals tmr's own routes share, for their `responses=`.

The app answers any malformed request with 400 (api/errors.py; FastAPI's 422 is never sent), a
missing or dead token with 403, and a body declared as anything but JSON, on the routes that read
JSON, with 415 (api/routing.py). FastAPI cannot know any of that, so each route has to say it for
its OpenAPI document to tell clients which statuses to expect.
"""

from __future__ import annotations

from typing import Any

from tmr.api.schemas import ErrorOut

Responses = dict[int | str, dict[str, Any]]


def refusal(description: str) -> dict[str, Any]:
    """A documented error status: its words, and the error body every refusal has."""
    return {"model": ErrorOut, "description": description}


INVALID: Responses = {400: refusal("Malformed or invalid input (`details.errors` says where)")}
NO_TOKEN: Responses = {403: refusal("Missing, invalid or expired token")}
NOT_JSON: Responses = {415: refusal("A body declared as something other than application/json")}
