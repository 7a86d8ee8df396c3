"""What every user command shares: the --url and --json options, the registry they name, plain
or JSON output on stdout, and failures as one line on stderr with a distinct exit code."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from tmr.client.config import Credentials, resolve_target
from tmr.client.errors import ClientError, ExitCode
from tmr.client.http import RegistryClient

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="TMR_URL",
        help="The registry's base URL; else TMR_URL; else the one last logged in to.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of plain lines.")]

P = ParamSpec("P")
R = TypeVar("R")


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """A ClientError becomes `tmr: message` on stderr (a JSON object with --json) and its exit code;
    a local file that cannot be read or written becomes one with exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            try:
                return command(*args, **kwargs)
            except OSError as exc:  # a local file: the credentials, a pulled package, a pushed file
                where = f"{exc.filename}: " if exc.filename else ""
                raise ClientError(f"{where}{exc.strerror or exc}", ExitCode.GENERIC) from None
        except ClientError as exc:
            if kwargs.get("as_json"):
                print(json.dumps(exc.as_json()), file=sys.stderr)
            else:
                stderr().print(f"tmr: {exc.message}", markup=False, soft_wrap=True)
            raise typer.Exit(int(exc.exit_code)) from None

    return wrapper


@contextmanager
def registry(url: str | None) -> Iterator[RegistryClient]:
    with RegistryClient(resolve_target(url, Credentials.default())) as client:
        yield client


def emit(as_json: bool, value: Any, lines: Callable[[], list[str]]) -> None:
    """The result on stdout: `value` as JSON, or `lines()` as plain text."""
    if as_json:
        print(json.dumps(value, indent=2, default=str))
        return
    for line in lines():
        print(line)


def progress(label: str, quiet: bool) -> Progress:
    """A transfer's bar on stderr, drawn only on a terminal (so never in a script's output)."""
    console = stderr()
    return Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
        transient=False,
    )


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> ClientError:
    return ClientError(message, code)
