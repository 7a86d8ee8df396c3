"""Model and dataset cards: the YAML front matter (metadata) and the Markdown body."""

from __future__ import annotations

import re
from typing import Any

import yaml

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class CardError(ValueError):
    """The card's front matter is not valid YAML (or not a mapping)."""


def split_card(text: str) -> tuple[dict[str, Any], str, str | None]:
    """(metadata, body, error). A broken front matter yields empty metadata and the reason, never an
    exception: a card with bad YAML is still a card a person can read."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text, None
    body = text[match.end() :]
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        return {}, body, f"card metadata is not valid YAML: {str(exc).splitlines()[0]}"
    if data is None:
        return {}, body, None
    if not isinstance(data, dict):
        return {}, body, "card metadata is not a mapping"
    return _jsonable(data), body, None


def _jsonable(value: Any) -> Any:
    """YAML can hold dates and sets; the metadata store keeps JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def card_license(card: dict[str, Any], tags: list[str] | None = None) -> str | None:
    """The license a card declares (`license`, `license_name`), else the Hub's `license:` tag."""
    value = card.get("license")
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, str) and value.strip():
        if value.strip().lower() == "other" and isinstance(card.get("license_name"), str):
            return str(card["license_name"]).strip()
        return value.strip()
    for tag in tags or []:
        if isinstance(tag, str) and tag.startswith("license:"):
            return tag.split(":", 1)[1]
    return None
