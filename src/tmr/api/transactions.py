"""tmr's transactions (beside the contract): several registrations, uploads, updates and deletes
applied all together or not at all (`tmr.transactions.service`).

    POST   /transactions                  open one (201)
    POST   /transactions/{id}/commands    append a command: JSON, or `?op=upload&type=…&name=…`
                                          with the zip as the body (staged at once)
    POST   /transactions/{id}/execute     apply them all or none (200 with each command's result)
    GET    /transactions/{id}             its state and each command's result or error
    GET    /transactions                  the caller's (an admin's: everyone's), newest first
    DELETE /transactions/{id}             abandon an open one

A transaction is its owner's: to another user (not an admin) it does not exist (404).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from tmr.api.deps import RegistryDep, UserDep
from tmr.api.presenters import download_url
from tmr.api.refusals import INVALID, NO_TOKEN, Responses, refusal
from tmr.api.routing import FORM, is_json_type, media_type_of
from tmr.api.schemas import ArtifactDataOut, ArtifactMetadata
from tmr.api.uploads import ZIP_TYPES, read_capped, spooled_zip
from tmr.artifacts.models import ArtifactType
from tmr.errors import InvalidInput, UnsupportedMediaType
from tmr.transactions.models import Command, Op, Transaction
from tmr.transactions.service import CommandRequest

router = APIRouter(tags=["transactions"], responses={**INVALID, **NO_TOKEN})

_YOURS: Responses = {
    401: refusal("Missing the `upload` permission, or (an admin) not the transaction's owner"),
    404: refusal("No such transaction, or it is another user's"),
}
_CLOSED: Responses = {
    409: refusal("The transaction is no longer open (committed, failed, abandoned or expired)")
}


class CommandIn(BaseModel):
    """A JSON command. `register`: type, url (name optional); `ingest`: url (name optional);
    `update`: type, id, url; `delete`: type, id. An upload is not JSON: see the route."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["register", "ingest", "update", "delete"]
    type: ArtifactType | None = None
    url: StrictStr | None = Field(default=None, min_length=1)
    name: StrictStr | None = Field(default=None, min_length=1)
    id: StrictStr | None = Field(default=None, min_length=1)


class ResultOut(BaseModel):
    """A committed command's artifact, as its single door answers, with its index and op."""

    index: int
    op: str
    metadata: ArtifactMetadata
    data: ArtifactDataOut


class CommandOut(BaseModel):
    index: int
    op: str
    type: ArtifactType
    url: str | None  # an upload's is `upload:sha256:<the zip's digest>`
    name: str | None
    id: str | None  # the artifact an update or delete changes
    version: str | None
    staged_files: int  # an upload's files, stored as blobs, invisible until the commit
    result: ResultOut | None  # once committed


class CommandErrorOut(BaseModel):
    index: int  # the failing command
    status: int
    code: str
    message: str


class TransactionOut(BaseModel):
    id: str
    owner: str
    state: Literal["open", "committed", "failed", "abandoned"]
    created_at: datetime
    expires_at: datetime  # an open transaction not executed by then is abandoned
    finished_at: datetime | None
    reason: str | None  # why it failed or was abandoned
    error: CommandErrorOut | None  # the command that failed
    command_count: int
    commands: list[CommandOut]  # empty in a listing


class ExecutedOut(BaseModel):
    id: str
    state: Literal["committed"]
    results: list[ResultOut]


def _result(request: Request, outcome: dict[str, Any]) -> ResultOut:
    return ResultOut(
        index=outcome["index"],
        op=outcome["op"],
        metadata=ArtifactMetadata(name=outcome["name"], id=outcome["id"], type=ArtifactType(outcome["type"])),
        data=ArtifactDataOut(url=outcome["url"], download_url=download_url(request, outcome["id"])),
    )


def _command_out(request: Request, index: int, command: Command) -> CommandOut:
    return CommandOut(
        index=index,
        op=command.op.value,
        type=command.type,
        url=command.url,
        name=command.name,
        id=command.artifact_id,
        version=command.version,
        staged_files=len(command.staged),
        result=None if command.result is None else _result(request, command.result),
    )


def _transaction_out(request: Request, transaction: Transaction) -> TransactionOut:
    error = transaction.error
    return TransactionOut(
        id=transaction.id,
        owner=transaction.owner,
        state=transaction.state.value,
        created_at=transaction.created_at,
        expires_at=transaction.expires_at,
        finished_at=transaction.finished_at,
        reason=transaction.reason,
        error=CommandErrorOut(**error) if error else None,
        command_count=max(transaction.command_count, len(transaction.commands)),
        commands=[_command_out(request, i, c) for i, c in enumerate(transaction.commands)],
    )


@router.post(
    "/transactions",
    status_code=201,
    response_model=TransactionOut,
    summary="Open a transaction",
    responses={401: refusal("Missing the `upload` permission")},
)
def open_transaction(request: Request, user: UserDep, registry: RegistryDep) -> TransactionOut:
    """An empty transaction, open for `TMR_TRANSACTION_TTL_S` seconds (`expires_at`)."""
    return _transaction_out(request, registry.transactions.open(user))


@router.get("/transactions", response_model=list[TransactionOut], summary="List your transactions")
def list_transactions(
    request: Request,
    user: UserDep,
    registry: RegistryDep,
    limit: Annotated[int, Query(ge=1, le=500, description="How many, newest first")] = 50,
) -> list[TransactionOut]:
    """The caller's transactions (an admin's: everyone's), newest first, without their commands."""
    return [_transaction_out(request, t) for t in registry.transactions.listing(user, limit)]


@router.get(
    "/transactions/{id}",
    response_model=TransactionOut,
    summary="Read a transaction",
    responses={404: _YOURS[404]},
)
def read_transaction(request: Request, user: UserDep, registry: RegistryDep, id: str) -> TransactionOut:
    """Its state, timestamps and expiry, and each command with its result (once committed); a
    failed one names the failing command and its error; an expired one reads as abandoned."""
    return _transaction_out(request, registry.transactions.get(user, id))


@router.delete(
    "/transactions/{id}",
    response_model=TransactionOut,
    summary="Abandon an open transaction",
    responses={404: _YOURS[404], **_CLOSED},
)
def abandon_transaction(request: Request, user: UserDep, registry: RegistryDep, id: str) -> TransactionOut:
    """Nothing it staged becomes visible; its staged blobs become collectable orphans."""
    return _transaction_out(request, registry.transactions.abandon(user, id))


async def _json_command(request: Request, limit: int) -> CommandRequest:
    """The body as a JSON command, read up to `limit` bytes (this path is exempt from the
    middleware's cap because an upload command's body is a zip)."""
    declared = request.headers.get("content-type")
    media = media_type_of(declared) if declared else "application/json"
    if not is_json_type(media) and media != FORM:
        raise UnsupportedMediaType(
            f"a {media} body is not accepted here: send a JSON command, or a zip with ?op=upload"
        )
    body = await read_capped(request, limit, f"request body exceeds {limit} bytes")
    try:
        parsed = CommandIn.model_validate(json.loads(body))
    except ValidationError as exc:
        problems = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        first = problems[0]
        where = ".".join(first["loc"]) or "body"
        raise InvalidInput(f"invalid command: {where}: {first['msg']}", errors=problems) from exc
    except ValueError as exc:  # JSON (or UTF-8) that does not parse
        raise InvalidInput(f"the body is not a JSON command: {exc}") from exc
    return CommandRequest(Op(parsed.op), parsed.type, parsed.url, parsed.name, parsed.id)


@router.post(
    "/transactions/{id}/commands",
    status_code=201,
    response_model=CommandOut,
    summary="Append a command to an open transaction",
    responses={
        **_YOURS,
        409: refusal(
            "The transaction is no longer open, another command touches the same artifact, "
            "or the source is registered already"
        ),
        413: refusal("Over the body or upload limits"),
        415: refusal("A body declared as neither JSON nor a zip"),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": CommandIn.model_json_schema(ref_template="#/components/schemas/{model}")
                },
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def append_command(
    request: Request,
    user: UserDep,
    registry: RegistryDep,
    id: str,
    op: Annotated[Literal["upload"] | None, Query(description="`upload`: the body is a zip")] = None,
    artifact_type: Annotated[ArtifactType | None, Query(alias="type", description="An upload's type")] = None,
    name: Annotated[str | None, Query(min_length=1, description="An upload's name")] = None,
    version: Annotated[str | None, Query(description="An upload's version")] = None,
) -> CommandOut:
    """Checked now, as its single door would check it before reading upstream: a malformed
    command is a 400, an unknown artifact a 404, a change to someone else's artifact a 401. An
    upload (`?op=upload&type=…&name=…[&version=…]`, the zip as the body, as
    `POST /artifact/{type}/upload` takes it) is validated and exploded into blobs at once,
    invisible until the transaction commits. One transaction touches each artifact once (409)."""
    transactions = registry.transactions
    declared = request.headers.get("content-type")
    media = media_type_of(declared) if declared else ""
    if op is None:
        if artifact_type is not None or name is not None or version is not None:
            raise InvalidInput("type, name and version in the query belong to ?op=upload")
        if media in ZIP_TYPES:
            raise InvalidInput("a zip is an upload command: POST it with ?op=upload&type=…&name=…")
        command = await _json_command(request, registry.settings.max_body_bytes)
        appended = await run_in_threadpool(transactions.append, user, id, command)
    else:
        if artifact_type is None or name is None:
            raise InvalidInput("an upload command needs ?type= and ?name=")
        if is_json_type(media):  # the document's other body: a request that mixes the two
            raise InvalidInput("an upload command's body is the zip itself, not JSON")
        with await spooled_zip(request, registry) as spooled:
            appended = await run_in_threadpool(
                transactions.append_upload, user, id, artifact_type, spooled, name, version
            )
    index, command_ = appended
    return _command_out(request, index, command_)


@router.post(
    "/transactions/{id}/execute",
    response_model=ExecutedOut,
    summary="Apply every command, or none",
    responses={
        **_YOURS,
        400: refusal("A command is invalid, or the transaction has none (`details.index` names it)"),
        409: refusal(
            "A conflict: an artifact changed since its command was appended, a source was "
            "registered meanwhile, or the transaction is no longer open"
        ),
        413: refusal("A command's upstream is over the size limits"),
        424: refusal("An ingested (gated) model does not pass the ingest gate"),
        502: refusal("An upstream (Hugging Face, GitHub) answered wrongly"),
        503: refusal("An upstream or a store is unavailable"),
    },
)
def execute_transaction(request: Request, user: UserDep, registry: RegistryDep, id: str) -> ExecutedOut:
    """All commands are prepared (sources read, files judged, gated models rated), then every
    change is written in one database transaction with the state flip to `committed`: readers
    see all of them or none. A failing command's error is answered with its status and
    `details.index`, and the transaction is then `failed`; nothing is changed."""
    transaction, outcomes = registry.transactions.execute(user, id)
    return ExecutedOut(
        id=transaction.id, state="committed", results=[_result(request, o.as_json()) for o in outcomes]
    )
