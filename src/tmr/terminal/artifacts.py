"""`tmr search`, `tmr show` and `tmr rate`: finding artifacts and reading what the registry knows."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tmr.client.errors import ClientError, ExitCode
from tmr.client.http import RegistryClient, segment
from tmr.client.lookup import resolve
from tmr.terminal.common import JsonOption, UrlOption, emit, registry, reports_errors

TYPES = ("model", "dataset", "code")
TypeOption = Annotated[
    str | None, typer.Option("--type", "-t", help="model, dataset or code.", show_default=False)
]
VersionOption = Annotated[
    str | None,
    typer.Option(
        "--version", "-v", help="A version or range: 1.2.3, 1.2.3-2.1.0, ~1.2.0, ^1.2.0.", show_default=False
    ),
]
MAX_PAGES = 1000  # 100 per page: a guard against a server whose cursor never ends


def checked_type(type_: str | None) -> str | None:
    if type_ is not None and type_ not in TYPES:
        raise ClientError(f"unknown type {type_!r}: choose from {', '.join(TYPES)}", ExitCode.USAGE)
    return type_


def _line(item: dict[str, Any]) -> str:
    return f"{item['id']}\t{item['type']}\t{item['name']}"


@reports_errors
def search(
    name: Annotated[str, typer.Argument(help="An exact name, or * for every artifact.")] = "*",
    regex: Annotated[
        str | None, typer.Option("--regex", "-r", help="Match names and READMEs instead (RE2 syntax).")
    ] = None,
    type_: TypeOption = None,
    version: VersionOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find artifacts: id, type and name per line (tab-separated). Nothing found is not an error."""
    type_ = checked_type(type_)
    with registry(url) as client:
        found = (
            _by_regex(client, regex, version) if regex is not None else _by_name(client, name, type_, version)
        )
    found = [item for item in found if type_ is None or item["type"] == type_]
    emit(as_json, found, lambda: [_line(i) for i in found])


def _by_regex(client: RegistryClient, regex: str, version: str | None) -> list[dict[str, Any]]:
    body = {"regex": regex, **({"version": version} if version else {})}
    try:
        found: list[dict[str, Any]] = client.post_json("/artifact/byRegEx", body)
    except ClientError as exc:
        if exc.exit_code is ExitCode.NOT_FOUND:  # the contract's "no match"
            return []
        raise
    return found


def _by_name(
    client: RegistryClient, name: str, type_: str | None, version: str | None
) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"name": name}
    if type_:
        query["types"] = [type_]
    if version:
        query["version"] = version
    found: list[dict[str, Any]] = []
    offset: str | None = None
    for _page in range(MAX_PAGES):
        response = client.send(
            "POST", "/artifacts", json=[query], params={"offset": offset} if offset else None
        )
        found.extend(response.json())
        offset = response.headers.get("offset")
        if not offset:
            break
    return found


@reports_errors
def show(
    ref: Annotated[str, typer.Argument(metavar="NAME|ID", help="An artifact's name or id.")],
    type_: TypeOption = None,
    version: VersionOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """An artifact's metadata, license and files, and for a model its rating and lineage."""
    with registry(url) as client:
        described = resolve(client, ref, type_=checked_type(type_), version=version)
        shown: dict[str, Any] = dict(described)
        if described["metadata"]["type"] == "model":
            artifact_id = segment(described["metadata"]["id"])
            shown["rating"] = _or_error(client, f"/artifact/model/{artifact_id}/rate")
            shown["lineage"] = _or_error(client, f"/artifact/model/{artifact_id}/lineage")
    emit(as_json, shown, lambda: _show_lines(shown))


def _or_error(client: RegistryClient, path: str) -> dict[str, Any]:
    """What a read answered, or why it failed: a failed rating does not hide the rest."""
    try:
        answer: dict[str, Any] = client.get_json(path)
    except ClientError as exc:
        if exc.exit_code in (ExitCode.AUTH, ExitCode.UNAVAILABLE):
            raise
        return {"error": exc.message, **({"status": exc.status} if exc.status else {})}
    return answer


def _show_lines(shown: dict[str, Any]) -> list[str]:
    meta = shown["metadata"]
    lines = [
        f"id\t{meta['id']}",
        f"name\t{meta['name']}",
        f"type\t{meta['type']}",
        f"version\t{shown.get('version') or '-'}",
        f"license\t{shown.get('license') or '-'}",
        f"visibility\t{shown.get('visibility')}",
        f"url\t{shown['data']['url']}",
        f"size_bytes\t{shown.get('size_bytes')}",
        f"created\t{shown.get('created_at') or '-'} by {shown.get('created_by') or '-'}",
    ]
    rating = shown.get("rating")
    if rating is not None:
        lines.append(f"net_score\t{rating.get('net_score', rating.get('error'))}")
    lineage = shown.get("lineage")
    if lineage is not None:
        names = {n["artifact_id"]: n["name"] for n in lineage.get("nodes", [])}
        for edge in lineage.get("edges", []):
            parent = names.get(edge["from_node_artifact_id"], edge["from_node_artifact_id"])
            child = names.get(edge["to_node_artifact_id"], edge["to_node_artifact_id"])
            lines.append(f"lineage\t{parent} -> {child} ({edge['relationship']})")
        if "error" in lineage:
            lines.append(f"lineage\t{lineage['error']}")
    for file in shown.get("files", []):
        flag = "\tUNSAFE" if file.get("unsafe") else ""
        lines.append(
            f"file\t{file['path']}\t{file['size']}\t{file['kind']}\t{file.get('sha256') or '-'}{flag}"
        )
    return lines


@reports_errors
def rate(
    ref: Annotated[str, typer.Argument(metavar="NAME|ID", help="A model's name or id.")],
    version: VersionOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """A model's rating: each metric and its value (tab-separated), net_score first."""
    with registry(url) as client:
        described = resolve(client, ref, type_="model", version=version)
        rating: dict[str, Any] = client.get_json(
            f"/artifact/model/{segment(described['metadata']['id'])}/rate"
        )
    ordered = sorted(rating, key=lambda k: (k != "net_score", k))
    emit(as_json, rating, lambda: [f"{key}\t{_plain(rating[key])}" for key in ordered])


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
