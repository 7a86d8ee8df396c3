"""`tmr push DIR` and `tmr pull NAME|ID`: a folder zipped as it streams up, a package streamed
down with resume and a checked sha256, both with a progress bar on a terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tmr.client.lookup import resolve
from tmr.client.pull import Pulled, Request
from tmr.client.pull import pull as pull_package
from tmr.client.resumable import Push
from tmr.client.resumable import push as push_folder
from tmr.client.zipstream import folder_files
from tmr.terminal.artifacts import TypeOption, VersionOption, checked_type
from tmr.terminal.common import JsonOption, UrlOption, emit, progress, registry, reports_errors, stderr


@reports_errors
def push(
    folder: Annotated[
        Path, typer.Argument(help="A folder in Hugging Face layout (README.md, config.json, ...).")
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="The artifact's name, e.g. acme/sentiment.")],
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Its version: 1.2.3 (v1.2 is stored as 1.2.0).")
    ] = None,
    type_: Annotated[str, typer.Option("--type", "-t", help="model, dataset or code.")] = "model",
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Upload a folder as a private artifact, zipped as it streams, resumable.

    Nothing is written to disk. The zip goes up in parts: a push that is cut (the network, the
    registry, Ctrl-C) resumes where it stopped when the same command runs again. Pushing unchanged
    files again is refused (exit 5) with the first upload's id."""
    job = Push(folder, folder_files(folder), checked_type(type_) or "model", name, version)
    with registry(url) as client, progress(f"push {folder.name}", as_json) as bar:
        task = bar.add_task("push", total=None)
        pushed = push_folder(
            client,
            job,
            lambda done, total: bar.update(task, completed=done, total=total),
            warn=lambda message: _warn(message, as_json),
        )
    uploaded = pushed.answer | ({"resumed_from": pushed.resumed_from} if pushed.resumed_from else {})
    meta = uploaded["metadata"]
    emit(
        as_json,
        uploaded,
        lambda: [
            f"id\t{meta['id']}",
            f"name\t{meta['name']}",
            f"type\t{meta['type']}",
            f"version\t{uploaded.get('version') or '-'}",
            f"files\t{uploaded.get('files')}",
            f"size_bytes\t{uploaded.get('size_bytes')}",
            f"net_score\t{uploaded.get('net_score')}",
            *(f"unsafe\t{path}" for path in uploaded.get("unsafe_files") or []),
            *([f"resumed_from\t{pushed.resumed_from}"] if pushed.resumed_from else []),
        ],
    )


def _warn(message: str, quiet: bool) -> None:
    """A message on stderr, only on a terminal (as the progress bar)."""
    console = stderr()
    if not quiet and console.is_terminal:
        console.print(f"tmr: {message}", markup=False, soft_wrap=True)


@reports_errors
def pull(
    ref: Annotated[str, typer.Argument(metavar="NAME|ID", help="An artifact's name or id.")],
    parts: Annotated[
        str | None,
        typer.Option("--parts", help="File kinds to include, comma-separated (weights,config,...,datasets)."),
    ] = None,
    version: VersionOption = None,
    type_: TypeOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The zip to write (default: NAME[-VERSION].zip).")
    ] = None,
    allow_unsafe: Annotated[
        bool, typer.Option("--allow-unsafe", help="Accept files that run code when loaded (for inspection).")
    ] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Download an artifact's package (a zip), resumable and checked.

    A cut download resumes where it stopped when the same command runs again; the whole file is
    checked against the sha256 the registry announces."""
    with registry(url) as client:
        described = resolve(client, ref, type_=checked_type(type_), version=version)
        meta = described["metadata"]
        dest = output or Path(_file_name(meta["name"], described.get("version")))
        if dest.is_dir():
            dest = dest / _file_name(meta["name"], described.get("version"))
        with progress(f"pull {meta['name']}", as_json) as bar:
            task = bar.add_task("pull", total=None)
            pulled = pull_package(
                client,
                Request(meta["id"], parts, allow_unsafe),
                dest,
                lambda done, total: bar.update(task, completed=done, total=total),
            )
    emit(as_json, _pulled_json(meta, pulled), lambda: _pulled_lines(pulled))


def _file_name(name: str, version: str | None) -> str:
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".") or "artifact"
    return f"{stem}-{version}.zip" if version else f"{stem}.zip"


def _pulled_json(meta: dict[str, Any], pulled: Pulled) -> dict[str, Any]:
    return {
        "id": meta["id"],
        "name": meta["name"],
        "path": str(pulled.path),
        "size_bytes": pulled.size,
        "sha256": pulled.sha256,
        "verified": pulled.verified,
        "resumed_from": pulled.resumed_from,
        "unsafe_files": pulled.unsafe_files,
    }


def _pulled_lines(pulled: Pulled) -> list[str]:
    if not pulled.verified:
        # Said on stderr too: a script reading stdout still sees `verified False`.
        typer.echo("tmr: the registry announced no sha256 for this package; not verified", err=True)
    lines = [
        f"path\t{pulled.path}",
        f"size_bytes\t{pulled.size}",
        f"sha256\t{pulled.sha256}",
        f"verified\t{pulled.verified}",
    ]
    if pulled.resumed_from:
        lines.append(f"resumed_from\t{pulled.resumed_from}")
    if pulled.unsafe_files:
        lines.append(f"unsafe\t{pulled.unsafe_files}")
    return lines
