"""Helpers the metrics share: bounded scales, weighted combinations and a light reading of cards.

Cards are read line by line with simple, linear-time patterns: a README is untrusted text and a
metric must never take longer than a few milliseconds on it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$")
_BOLD_LINE = re.compile(r"^ {0,3}(?:\*\*|__)([^*_]{2,80})(?:\*\*|__):?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)")
_LINK = re.compile(r"https?://[^\s)\]>\"'`|]+")


def clamp01(value: float) -> float:
    """`value` forced into [0, 1]; NaN counts as 0 (no evidence)."""
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))


def log_scale(value: float, full: float) -> float:
    """0 at 0, 1 at `full` and beyond, logarithmic between: the tenth star counts more than the
    ten-thousandth, which is how popularity and length carry information."""
    if value <= 0:
        return 0.0
    return clamp01(math.log1p(value) / math.log1p(full))


def flag(condition: bool) -> float:
    return 1.0 if condition else 0.0


def weighted(parts: Mapping[str, float | None], weights: Mapping[str, float]) -> float:
    """The weighted mean of `parts`; a part that is None does not apply and its weight is spread
    over the others (so e.g. a vision model is not marked down for having no tokenizer)."""
    total = sum(weights[name] for name, value in parts.items() if value is not None)
    if total <= 0:
        return 0.0
    score = sum(weights[name] * clamp01(value) for name, value in parts.items() if value is not None)
    return clamp01(score / total)


def as_list(value: Any) -> list[Any]:
    """A card field that may be a scalar or a list, as a list without empty entries."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    return [item for item in items if item not in (None, "", [], {})]


def card_body(readme: str) -> str:
    """The card without its YAML front matter: what a reader sees."""
    match = _FRONT_MATTER.match(readme)
    return readme[match.end() :] if match else readme


@dataclass(frozen=True, slots=True)
class CodeBlock:
    language: str
    code: str


@dataclass(frozen=True, slots=True)
class CardText:
    """A card body split once into what the metrics look for."""

    body: str
    prose: tuple[str, ...]  # lines outside fenced code blocks
    headings: tuple[str, ...]  # lower-cased heading texts (ATX headings and bold-only lines)
    code_blocks: tuple[CodeBlock, ...]

    @property
    def words(self) -> int:
        return sum(len(line.split()) for line in self.prose)

    def has_section(self, keywords: Iterable[str]) -> bool:
        """A heading mentions one of `keywords` (lower-case substrings)."""
        keys = tuple(keywords)
        return any(key in heading for heading in self.headings for key in keys)

    def links(self) -> set[str]:
        return {m.group(0).rstrip(".,;:") for line in self.prose for m in _LINK.finditer(line)}


def read_card(readme: str) -> CardText:
    body = card_body(readme)
    prose: list[str] = []
    headings: list[str] = []
    blocks: list[CodeBlock] = []
    fence: str | None = None
    language = ""
    code: list[str] = []
    for line in body.splitlines():
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                blocks.append(CodeBlock(language, "\n".join(code)))
                fence, code = None, []
            else:
                code.append(line)
            continue
        opening = _FENCE.match(line)
        if opening:
            fence, language = opening.group(1), opening.group(2).lower()
            continue
        prose.append(line)
        heading = _ATX_HEADING.match(line) or _BOLD_LINE.match(line)
        if heading:
            headings.append(heading.group(1).strip().lower())
    if fence is not None:  # an unclosed fence still shows its code to a reader
        blocks.append(CodeBlock(language, "\n".join(code)))
    return CardText(body, tuple(prose), tuple(headings), tuple(blocks))


def path_parts(path: str) -> tuple[str, ...]:
    return tuple(part.lower() for part in PurePosixPath(path).parts)


def file_name(path: str) -> str:
    return PurePosixPath(path).name.lower()
