"""Which artifact a user means by `NAME|ID`: the artifacts by that name (of `--type`, within
`--version`), else the artifact with that id; of several versions of one name, the highest."""

from __future__ import annotations

import re
from typing import Any

from tmr.client.errors import ClientError, ExitCode
from tmr.client.http import RegistryClient, segment
from tmr.search.versions import sort_key  # the registry's own precedence, so "newest" is one rule

ID = re.compile(r"^[A-Za-z0-9-]+$")


def details(client: RegistryClient, artifact_id: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get_json(f"/artifact/{segment(artifact_id)}/details")
    return found


def resolve(
    client: RegistryClient, ref: str, *, type_: str | None = None, version: str | None = None
) -> dict[str, Any]:
    """The described artifact `ref` names (a 404 ClientError when none is visible to the user)."""
    ref = ref.strip()
    if not ref:
        raise ClientError("name or id must be non-empty", ExitCode.USAGE)
    params = {"version": version} if version else None
    try:
        named = client.get_json(f"/artifact/byName/{segment(ref, slashes=True)}", params=params)
    except ClientError as exc:
        if exc.exit_code is not ExitCode.NOT_FOUND:
            raise
        named = []
    candidates = [item for item in named if type_ is None or item.get("type") == type_]
    if not candidates:
        if ID.match(ref) and not version:
            try:
                found = details(client, ref)
            except ClientError as exc:
                if exc.exit_code is not ExitCode.NOT_FOUND:
                    raise
            else:
                if type_ is None or found["metadata"]["type"] == type_:
                    return found
        what = f"{type_} " if type_ else ""
        within = f" with a version in {version}" if version else ""
        raise ClientError(f"no {what}artifact named or numbered {ref!r}{within}", ExitCode.NOT_FOUND)
    described = [details(client, item["id"]) for item in candidates]
    if len(described) == 1:
        return described[0]
    return _newest(ref, described)


def _newest(ref: str, described: list[dict[str, Any]]) -> dict[str, Any]:
    types = {d["metadata"]["type"] for d in described}
    if len(types) > 1:
        raise ClientError(
            f"{ref!r} names artifacts of several types ({', '.join(sorted(types))}): add --type",
            ExitCode.USAGE,
        )
    versioned = [d for d in described if d.get("version")]
    if not versioned:
        ids = ", ".join(d["metadata"]["id"] for d in described)
        raise ClientError(
            f"{ref!r} names several artifacts without versions: use an id ({ids})", ExitCode.USAGE
        )
    return max(versioned, key=lambda d: sort_key(d["version"]))
