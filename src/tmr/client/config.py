"""Where `tmr login` keeps tokens: `$XDG_CONFIG_HOME/tmr/credentials.json` (else
`~/.config/tmr/…`), a 0600 file in a 0700 folder, one token per registry URL and the registry
last logged in to as the default. `TMR_URL` and `TMR_TOKEN` override both, so scripts need no file."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tmr.client.errors import ClientError, ExitCode

FILE_NAME = "credentials.json"


def config_dir(env: dict[str, str] | None = None) -> Path:
    environ = os.environ if env is None else env
    base = environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"  # XDG: relative is invalid
    return root / "tmr"


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ClientError(f"the registry URL must start with http:// or https://: {url!r}", ExitCode.USAGE)
    return url


def as_header(token: str) -> str:
    """The X-Authorization value: `/authenticate`'s answer verbatim, or a bare token made one."""
    token = token.strip()
    return token if " " in token else f"bearer {token}"


@dataclass(frozen=True)
class Credentials:
    path: Path

    @classmethod
    def default(cls) -> Credentials:
        return cls(config_dir() / FILE_NAME)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ClientError(f"cannot read {self.path}: {exc}", ExitCode.GENERIC) from None
        return data if isinstance(data, dict) else {}

    def default_url(self) -> str | None:
        url = self._read().get("default_url")
        return url if isinstance(url, str) else None

    def token_for(self, url: str) -> str | None:
        entry = self._registries(self._read()).get(url)
        token = entry.get("token") if isinstance(entry, dict) else None
        return token if isinstance(token, str) else None

    def _registries(self, data: dict[str, Any]) -> dict[str, Any]:
        registries = data.get("registries")
        return dict(registries) if isinstance(registries, dict) else {}

    def store(self, url: str, user: str, token: str) -> None:
        registries = self._registries(self._read())
        registries[url] = {"user": user, "token": token}
        self._write({"default_url": url, "registries": registries})

    def forget(self, url: str) -> bool:
        data = self._read()
        registries = self._registries(data)
        if registries.pop(url, None) is None:
            return False
        self._write({**data, "registries": registries})
        return True

    def _write(self, data: dict[str, Any]) -> None:
        write_private_json(self.path, data)


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """`data` written to a 0600 file created beside `path` (in a 0700 folder), then renamed over
    it: what it holds (a token, a push's session) is never readable by others, not even for a
    moment, and a crash leaves the old file whole. OSError when it cannot be written."""
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    temporary = folder / f".{path.name}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise


@dataclass(frozen=True)
class Target:
    """The registry a command talks to and the X-Authorization it sends (None: no token)."""

    url: str
    authorization: str | None


def chosen_url(
    url: str | None,
    credentials: Credentials,
    missing: str = "no registry: pass --url, set TMR_URL, or run `tmr login --url URL`",
) -> str:
    """The registry a command talks to: `url` (--url or TMR_URL), else the one last logged in to."""
    chosen = url or credentials.default_url()
    if not chosen:
        raise ClientError(missing, ExitCode.USAGE)
    return normalise_url(chosen)


def resolve_target(url: str | None, credentials: Credentials, env: dict[str, str] | None = None) -> Target:
    environ = os.environ if env is None else env
    chosen = chosen_url(url, credentials)
    token = environ.get("TMR_TOKEN") or credentials.token_for(chosen)
    return Target(chosen, as_header(token) if token else None)
