"""Literal prefilters for regex search: strings one of which every match must contain.

A regex like `.*?(audience|bert).*` can only match a text containing "audience" or "bert". The
database can find such rows with a plain substring scan in C, so only the candidates reach RE2;
RE2 still decides every match, so the prefilter may let too much through but never too little.

The pattern is parsed with Python's own regex parser. Where its reading of a pattern could differ
from RE2's (POSIX classes, case-insensitive flags, anything it cannot parse), no prefilter is
used and the search falls back to a full scan.
"""

from __future__ import annotations

import importlib
import re
import warnings
from collections.abc import Iterable
from typing import Any

# Python 3.11+ keeps its regex parser in the `re` package (private, but stable across releases).
sre_parse: Any = importlib.import_module("re._parser")
sre_constants: Any = importlib.import_module("re._constants")
_REPEATS = tuple(
    getattr(sre_constants, name)
    for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
    if hasattr(sre_constants, name)
)
MIN_LITERAL = 3  # shorter strings occur almost everywhere: not worth a filter
MAX_ALTERNATIVES = 16
Alternatives = frozenset[str] | None  # one of these strings must occur; None: nothing known


def _parsed(pattern: str) -> Any | None:
    """Python's reading of the pattern, or None where it might differ from RE2's (POSIX classes:
    Python would read `[[:alpha:]]` as a class and a `]`) or where Python cannot read it."""
    if "[:" in pattern:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None


def required_literals(pattern: str) -> frozenset[str] | None:
    """Strings of which at least one occurs in any text the pattern matches, or None."""
    parsed = _parsed(pattern)
    if parsed is None or parsed.state.flags & re.IGNORECASE:
        return None
    try:
        found = _sequence(list(parsed))
    except (re.error, RecursionError, OverflowError, ValueError, _CaseInsensitive):
        return None
    if found is None or len(found) > MAX_ALTERNATIVES or min(len(s) for s in found) < MIN_LITERAL:
        return None
    return found


class Prefixes(frozenset[str]):
    """Literals one of which every matching text starts with (not merely contains): the store
    may check them at the start of a text only, which costs a few characters per row instead of
    a scan of the whole README. Still plain required literals to a store that ignores `at_start`."""

    at_start = True


def required_prefixes(pattern: str) -> Prefixes | None:
    """For a pattern anchored at the start of the text (`^` without the multi-line flag, or
    `\\A`) followed by at least MIN_LITERAL literal characters: that literal, as a Prefixes.
    None when the pattern is not so anchored, or where Python's reading might differ from RE2's."""
    parsed = _parsed(pattern)
    if parsed is None:
        return None
    items = list(parsed)
    if parsed.state.flags & (re.IGNORECASE | re.MULTILINE) or not items:
        return None
    op, arg = items[0]
    starts = (sre_constants.AT_BEGINNING, sre_constants.AT_BEGINNING_STRING)
    if op is not sre_constants.AT or arg not in starts:
        return None
    run: list[str] = []
    for op, arg in items[1:]:
        if op is not sre_constants.LITERAL:
            break
        run.append(chr(arg))
    return Prefixes({"".join(run)}) if len(run) >= MIN_LITERAL else None


# Zero-width assertions that see the same thing at a text's edge as at a newline between texts:
# \b and \B (a newline is no word character). `^`, `$`, `\A`, `\z` and the multi-line forms are
# left out: they see the text's edges themselves, or (multi-line) are not told apart by the parser.
_EDGE_BLIND = {sre_constants.AT_BOUNDARY, sre_constants.AT_NON_BOUNDARY}
_PLAIN = (sre_constants.LITERAL, sre_constants.NOT_LITERAL, sre_constants.IN, sre_constants.ANY)


def context_free(pattern: str) -> bool:
    """Whether every match of `pattern` in a text is also a match in any longer text holding it
    between newlines: true when the pattern has no assertion about a text's start or end. Then
    texts may be searched joined, one RE2 call for many (search/regex.py). False when unsure
    (anything Python's parser reads differently from RE2, or cannot read)."""
    parsed = None if "\\Q" in pattern else _parsed(pattern)
    if parsed is None or parsed.state.flags & re.MULTILINE:
        return False
    return _edge_blind(list(parsed))


def _edge_blind(items: list[tuple[Any, Any]]) -> bool:
    for op, arg in items:
        if op is sre_constants.AT:
            if arg not in _EDGE_BLIND:
                return False
        elif op is sre_constants.SUBPATTERN:
            _group, add_flags, _del_flags, body = arg
            if add_flags & re.MULTILINE or not _edge_blind(list(body)):
                return False
        elif op in _REPEATS:
            if not _edge_blind(list(arg[2])):
                return False
        elif op is sre_constants.BRANCH:
            if not all(_edge_blind(list(branch)) for branch in arg[1]):
                return False
        elif op is getattr(sre_constants, "ATOMIC_GROUP", None):
            if not _edge_blind(list(arg)):
                return False
        elif op not in _PLAIN:
            return False  # lookaround, conditionals, backreferences: RE2 refuses them anyway
    return True


class _CaseInsensitive(Exception):
    """A scoped `(?i:…)` group: literals inside it do not have to occur as written."""


def _score(alternatives: Alternatives) -> tuple[int, int]:
    if not alternatives:
        return (0, 0)
    return (min(len(s) for s in alternatives), -len(alternatives))


def _best(options: Iterable[Alternatives]) -> Alternatives:
    best: Alternatives = None
    for option in options:
        if option and _score(option) > _score(best):
            best = option
    return best


def _sequence(items: list[tuple[Any, Any]]) -> Alternatives:
    """Every item of a sequence must match, so any one item's requirement holds: keep the most
    selective, counting runs of consecutive literal characters as one string."""
    options: list[Alternatives] = []
    run: list[str] = []
    for op, arg in items:
        if op is sre_constants.LITERAL:
            run.append(chr(arg))
            continue
        if run:
            options.append(frozenset({"".join(run)}))
            run = []
        options.append(_item(op, arg))
    if run:
        options.append(frozenset({"".join(run)}))
    return _best(options)


def _item(op: Any, arg: Any) -> Alternatives:
    if op is sre_constants.SUBPATTERN:
        _group, add_flags, _del_flags, body = arg
        if add_flags & re.IGNORECASE:
            raise _CaseInsensitive
        return _sequence(list(body))
    if op in (
        sre_constants.MAX_REPEAT,
        sre_constants.MIN_REPEAT,
        getattr(sre_constants, "POSSESSIVE_REPEAT", None),
    ):
        low, _high, body = arg
        return _sequence(list(body)) if low >= 1 else None
    if op is sre_constants.BRANCH:
        _unused, branches = arg
        union: set[str] = set()
        for branch in branches:
            found = _sequence(list(branch))
            if not found:
                return None
            union |= found
        return frozenset(union)
    if op is getattr(sre_constants, "ATOMIC_GROUP", None):
        return _sequence(list(arg))
    return None
