"""`tmr login`, `tmr logout` and `tmr users …` (administrators manage accounts)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from tmr.client.config import Credentials, Target, chosen_url, resolve_target
from tmr.client.errors import ClientError, ExitCode
from tmr.client.http import RegistryClient, segment
from tmr.terminal.common import JsonOption, UrlOption, emit, fail, registry, reports_errors

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of standard input."),
]
PERMISSIONS = ("upload", "search", "download")
NO_REGISTRY = "no registry: pass --url or set TMR_URL"


def read_password(from_stdin: bool, prompt: str) -> str:
    """From stdin when asked (scripts), else a hidden prompt; never a prompt without a terminal."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
    elif sys.stdin.isatty():
        password = typer.prompt(prompt, hide_input=True)
    else:
        raise fail("no terminal to ask for the password: pass --password-stdin")
    if not password:
        raise fail("the password is empty")
    return password


@reports_errors
def login(
    username: Annotated[str, typer.Option("--username", "-u", help="Your user name.")],
    password_stdin: PasswordStdin = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sign in and keep the token (0600, in $XDG_CONFIG_HOME/tmr or ~/.config/tmr)."""
    credentials = Credentials.default()
    chosen = chosen_url(url, credentials, NO_REGISTRY)
    password = read_password(password_stdin, "Password")
    body = {"user": {"name": username}, "secret": {"password": password}}
    with RegistryClient(Target(chosen, None)) as client:
        token = client.send("PUT", "/authenticate", json=body).json()
    if not isinstance(token, str):
        raise ClientError("the registry answered /authenticate without a token", ExitCode.GENERIC)
    credentials.store(chosen, username, token)
    emit(
        as_json,
        {"url": chosen, "user": username, "credentials": str(credentials.path)},
        lambda: [f"logged in to {chosen} as {username}; token kept in {credentials.path}"],
    )


@reports_errors
def logout(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Forget the token kept for the registry (the registry's own record expires by itself)."""
    credentials = Credentials.default()
    chosen = chosen_url(url, credentials, NO_REGISTRY)
    forgotten = credentials.forget(chosen)
    emit(
        as_json,
        {"url": chosen, "forgotten": forgotten},
        lambda: [f"{'forgot the token for' if forgotten else 'no token kept for'} {chosen}"],
    )


@reports_errors
def token(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Print the token in effect (TMR_TOKEN, else the kept one), e.g. for HF_TOKEN."""
    target = resolve_target(url, Credentials.default())
    if target.authorization is None:
        raise ClientError(f"no token for {target.url}: run `tmr login`", ExitCode.AUTH)
    emit(as_json, {"url": target.url, "token": target.authorization}, lambda: [str(target.authorization)])


users = typer.Typer(help="Manage users (administrators; anyone may read themselves).", no_args_is_help=True)


def _user_line(account: dict[str, Any]) -> str:
    user = account["user"]
    role = "admin" if user.get("is_admin") else "user"
    return f"{user['name']}\t{role}\t{','.join(account.get('effective_permissions', [])) or '-'}"


def _checked(permissions: list[str]) -> list[str]:
    unknown = [p for p in permissions if p not in PERMISSIONS]
    if unknown:
        raise fail(f"unknown permission {unknown[0]!r}: choose from {', '.join(PERMISSIONS)}")
    return permissions


PermissionOption = Annotated[
    list[str] | None,
    typer.Option("--permission", "-p", help="upload, search or download; repeat for several."),
]


@users.command("list")
@reports_errors
def list_users(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Every user: name, role, permissions (tab-separated)."""
    with registry(url) as client:
        accounts = client.get_json("/users")
    emit(as_json, accounts, lambda: [_user_line(a) for a in accounts])


@users.command("show")
@reports_errors
def show_user(name: str, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """One user (yourself, or anyone for an administrator)."""
    with registry(url) as client:
        account = client.get_json(f"/users/{segment(name)}")
    emit(as_json, account, lambda: [_user_line(account)])


@users.command("add")
@reports_errors
def add_user(
    name: str,
    password_stdin: PasswordStdin = False,
    admin: Annotated[bool, typer.Option("--admin", help="An administrator (every permission).")] = False,
    permission: PermissionOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a user; the registry's password policy applies (12+ characters, hard to guess)."""
    permissions = _checked(permission or [])
    password = read_password(password_stdin, f"Password for {name}")
    body = {
        "user": {"name": name, "is_admin": admin},
        "secret": {"password": password},
        "permissions": permissions,
    }
    with registry(url) as client:
        account = client.post_json("/users", body)
    emit(as_json, account, lambda: [_user_line(account)])


@users.command("remove")
@reports_errors
def remove_user(name: str, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Delete a user and revoke its tokens."""
    with registry(url) as client:
        client.send("DELETE", f"/users/{segment(name)}")
    emit(as_json, {"removed": name}, lambda: [f"removed {name}"])


@users.command("permissions")
@reports_errors
def set_permissions(
    name: str, permission: PermissionOption = None, url: UrlOption = None, as_json: JsonOption = False
) -> None:
    """Replace a user's permissions with those given (none: no permission)."""
    permissions = _checked(permission or [])
    with registry(url) as client:
        account = client.send(
            "PUT", f"/users/{segment(name)}/permissions", json={"permissions": permissions}
        ).json()
    emit(as_json, account, lambda: [_user_line(account)])


@users.command("password")
@reports_errors
def set_password(
    name: str, password_stdin: PasswordStdin = False, url: UrlOption = None, as_json: JsonOption = False
) -> None:
    """Set a user's password as an administrator (the user's other tokens are revoked)."""
    password = read_password(password_stdin, f"New password for {name}")
    with registry(url) as client:
        client.send("PUT", f"/users/{segment(name)}/password", json={"new_password": password})
    emit(as_json, {"user": name, "password_changed": True}, lambda: [f"password of {name} changed"])
