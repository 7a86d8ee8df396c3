"""Command line: the server's `tmr serve`, `tmr migrate`, `tmr gc`, and the users' commands
(`tmr login`, `search`, `show`, `push`, `pull`, `rate`, `users`) from `tmr.terminal`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from tmr.errors import InvalidInput
from tmr.settings import DefaultPasswordExposed, Settings
from tmr.terminal import add_user_commands

cli = typer.Typer(add_completion=False, help="tmr — Trustworthy Model Registry.")
console = Console(stderr=True)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(envvar="TMR_WORKERS", min=1, help="Worker processes (one per core serves most).")
    ] = 1,
    fd: Annotated[
        int | None,
        typer.Option(hidden=True, help="Serve on this inherited listening socket instead of --host/--port."),
    ] = None,
) -> None:
    """Start the registry (SQLite + files under TMR_DATA_DIR unless configured otherwise)."""
    settings = Settings()
    try:
        if fd is not None:
            from tmr.serving.listener import inherited_address

            host, port = inherited_address(fd)
        settings.check_exposure(host)
    except InvalidInput as exc:
        console.print(f"tmr: {exc}")
        raise typer.Exit(2) from None
    except DefaultPasswordExposed as exc:
        console.print(f"tmr: {exc}")
        raise typer.Exit(2) from None
    console.print(
        f"tmr: serving on http://{host}:{port}  database={settings.resolved_database_url.split('://')[0]} "
        f"blobs={settings.resolved_blob_store} data_dir={settings.data_dir}"
    )
    from tmr.container import build_registry

    build_registry(settings).close()  # migrate once, before workers race to do it
    from tmr.serving.server import run

    try:
        run(settings.server, host, port, workers, fd)
    except InvalidInput as exc:
        console.print(f"tmr: {exc}")
        raise typer.Exit(2) from None


@cli.command()
def migrate() -> None:
    """Create or upgrade the metadata schema."""
    from tmr.storage.database import make_engine
    from tmr.storage.database import migrate as run_migrations

    settings = Settings()
    engine = make_engine(settings.resolved_database_url)
    run_migrations(engine)
    engine.dispose()
    console.print("schema is up to date")


@cli.command()
def gc() -> None:
    """Delete blobs that no artifact references and nothing wrote for TMR_GC_GRACE_S (6 h)."""
    from tmr.container import build_registry

    registry = build_registry(Settings())
    try:
        removed = registry.artifacts.collect_orphans(registry.settings.gc_grace_s)
    finally:
        registry.close()
    console.print(f"removed {removed} orphan blob(s)")


add_user_commands(cli)


def main() -> None:
    cli()
