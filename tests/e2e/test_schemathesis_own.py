"""tmr's own API, fuzzed: schemathesis runs every operation of the app's own OpenAPI document
that the contract's spec does not have (users, the operations feed, workloads, the audit, monitors
and download history, uploads, ingest, safety, ...) against a real registry process on both stacks
of the e2e `server` fixture. test_schemathesis.py fuzzes the contract's operations against the
contract's spec; this module covers the rest of what the app documents.

The operations are the set difference of (method, path) between the app's document (the one the
server serves, which a test checks) and the contract's, so a route added later is fuzzed without a
change here. (The browser's pages are not in the document: `PageRoute` keeps them out, and
tests/feature/test_web_openapi.py checks it.) The checks and the deterministic configuration
are the contract module's (CONFIG); `excused` below says what is let pass here, and why.
"""

from __future__ import annotations

import copy
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import yaml
from schemathesis.core.failures import AcceptedNegativeData, Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation

from tests.e2e.test_schemathesis import CONFIG, ID, SPEC, Session
from tests.processes import ServerProcess
from tests.support import make_settings
from tmr.app import create_app

pytestmark = [pytest.mark.postgres, pytest.mark.s3]

METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
# The own operations the served document had when this module was written: fewer means a router
# fell out of the document (and out of this run) unnoticed.
KNOWN_OWN_OPERATIONS = 21
SEED_USER = "fuzz-seed-user"
SEED_PASSWORD = "a long enough seed password 461!"


def operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document.get("paths", {}).items()
        for method in item
        if method in METHODS
    }


CONTRACT = operations(yaml.safe_load(Path(SPEC).read_text()))


def own_document() -> tuple[dict[str, Any], set[tuple[str, str]]]:
    """The app's document cut down to tmr's own operations, and those operations. The app is built
    here, at collection, since schemathesis parametrizes then (its loader from a fixture fails on
    this pytest); `test_every_own_operation_is_fuzzed` checks that the server serves the same."""
    with tempfile.TemporaryDirectory() as data:
        app = create_app(make_settings(Path(data)))
        document = app.openapi()
        app.state.registry.close()
    own = operations(document) - CONTRACT
    paths: dict[str, Any] = {}
    for path, item in document["paths"].items():
        kept = {k: v for k, v in item.items() if k not in METHODS or (k.upper(), path) in own}
        if any(k in METHODS for k in kept):
            paths[path] = kept
    return {**document, "paths": paths}, own


OWN_DOCUMENT, OWN = own_document()
# A monitor program travels as itself (PUT /artifact/model/{id}/monitor): text, sent as text is.
schemathesis.serializer.alias("application/javascript", "text/plain")
# An upload is the zip's bytes (POST /artifact/{artifact_type}/upload).
schemathesis.serializer.alias("application/zip", "application/octet-stream")
# The contract module's configuration, with more cases an operation: tmr's own operations are
# fewer and quicker, and EXAMPLES of them run in about a minute a stack.
EXAMPLES = 100
OWN_CONFIG = copy.deepcopy(CONFIG)
OWN_CONFIG.projects.default.generation.update(max_examples=EXAMPLES)
schema = schemathesis.openapi.from_dict(OWN_DOCUMENT, config=OWN_CONFIG)


def excused(case: schemathesis.Case[Any], failure: Failure) -> bool:
    """The failures this run lets pass, each for the reason beside it; any other fails the test."""
    label = case.operation.label
    negative = {
        location
        for location, info in (case.meta.components if case.meta else {}).items()
        if info.mode.is_negative
    }
    if label == "PUT /artifact/model/{id}/monitor" and negative == {ParameterLocation.BODY}:
        # The program is text, and any text is a string: a "wrongly typed" body (an object, a
        # number) reaches the wire as its text, `{}` or `0`, which is a program that parses. Only
        # the acceptance of such a body is let pass; it is still run through every other check.
        return isinstance(failure, AcceptedNegativeData)
    return False


class OwnSession(Session):
    """The contract module's session (token, seeded artifacts), plus a seeded user and a finished
    workload run, so that `{name}` and `{run_id}` can name something that exists."""

    def __init__(self, server: ServerProcess, client: httpx.Client) -> None:
        super().__init__(server, client)
        self.run_id = ""

    def user(self) -> str:
        """The seeded user's name, created again once a DELETE removed it."""
        headers = {"X-Authorization": self.token()}
        if self.client.get(f"/users/{SEED_USER}", headers=headers).status_code == 404:
            made = self.client.post(
                "/users",
                json={
                    "user": {"name": SEED_USER, "is_admin": False},
                    "secret": {"password": SEED_PASSWORD},
                    "permissions": ["search", "download"],
                },
                headers=headers,
            )
            assert made.status_code == 201, made.text
        return SEED_USER

    def run(self) -> str:
        """A workload run of one request, started once and left to finish."""
        if not self.run_id:
            started = self.client.post(
                "/workloads",
                json={"artifact_id": self.seeded("model")[0], "clients": 1, "requests": 1, "time_limit_s": 5},
                headers={"X-Authorization": self.token()},
            )
            assert started.status_code == 202, started.text
            self.run_id = started.json()["id"]
        return self.run_id


@pytest.fixture(scope="module")
def session(server: ServerProcess) -> Iterator[OwnSession]:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        yield OwnSession(server, client)


def test_every_own_operation_is_fuzzed(server: ServerProcess) -> None:
    """What is fuzzed is what the running server documents, less the contract."""
    served = operations(httpx.get(f"{server.url}/openapi.json", timeout=30).raise_for_status().json())
    print(
        f"{len(OWN)} own operations fuzzed:",
        ", ".join(f"{m} {p}" for m, p in sorted(OWN, key=lambda o: o[::-1])),
    )
    assert served - CONTRACT == OWN == operations(OWN_DOCUMENT)
    assert len(OWN) >= KNOWN_OWN_OPERATIONS


def _pick(value: str) -> int:
    return zlib.crc32(value.encode())


@schema.parametrize()
def test_own_operations(case: schemathesis.Case[Any], session: OwnSession) -> None:
    params = case.path_parameters or {}
    # Three in four well-formed path values become something that exists, picked by a hash of the
    # generated value so the run stays deterministic.
    existing: dict[str, Callable[[], list[str]]] = {
        "id": lambda: session.seeded("model"),
        "name": lambda: [session.user()],
        "run_id": lambda: [session.run()],
    }
    for key, choose_from in existing.items():
        value = params.get(key)
        if isinstance(value, str) and ID.fullmatch(value) and _pick(value) % 4 < 3:
            choices = choose_from()
            params[key] = choices[_pick(value) % len(choices)]
    # A generated token is replaced with a real one. The header is optional in the document (the
    # route itself refuses its absence with 403), so many cases leave it out; three in four of
    # those get a token too, to go past the door, picked by a hash of what else was generated.
    if "X-Authorization" in case.headers:
        case.headers["X-Authorization"] = session.token()
    elif any(p.name == "X-Authorization" for p in case.operation.iter_parameters()):
        body = case.body if isinstance(case.body, (bytes, str, int, float, bool, list, dict)) else None
        if _pick(repr((params, case.query, body))) % 4 < 3:
            case.headers["X-Authorization"] = session.token()
    try:
        case.call_and_validate(base_url=session.server.url)
    except FailureGroup as group:
        if not all(excused(case, failure) for failure in group.exceptions):
            raise
