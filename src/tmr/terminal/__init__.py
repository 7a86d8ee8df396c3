"""The `tmr` commands for users of a registry (login, token, search, show, push, pull, rate, users),
beside the server's own (`tmr serve`, `migrate`, `gc`). They speak HTTP to a registry through
`tmr.client`, so they work against any tmr, local or remote; docs/using.md shows a session."""

from __future__ import annotations

import typer


def add_user_commands(cli: typer.Typer) -> None:
    from tmr.terminal import account, artifacts, transfer

    for command in (
        account.login,
        account.logout,
        account.token,
        artifacts.search,
        artifacts.show,
        artifacts.rate,
    ):
        cli.command()(command)
    cli.command()(transfer.push)
    cli.command()(transfer.pull)
    cli.add_typer(account.users, name="users")
