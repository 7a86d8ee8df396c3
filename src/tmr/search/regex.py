"""Regular expressions on a linear-time engine (RE2): no pattern can hang a worker.

RE2 refuses what it cannot run in linear time (backreferences, lookaround) and repetition
counts above 1000; such patterns are answered with 400. So are, unless `refuse_backtracking` is off,
patterns that backtracking engines would explode on (tmr.search.redos), such as `(a+)+$`: RE2 would
run them safely, but clients reuse their patterns elsewhere and the API contract expects a 400.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

import re2

from tmr.artifacts.interfaces import TextMatcher
from tmr.errors import InvalidInput
from tmr.search.prefilter import context_free
from tmr.search.redos import analyse

MAX_PATTERN_LENGTH = 4096
_MAX_PROGRAM_MEMORY = 32 * 1024 * 1024
# google-re2's binding under its Python wrapper. The wrapper's `search` builds a generator, clamps
# offsets and makes a Match object per call, a large share of a regex scan's time per row in the
# profile (docs/performance.md). A scan only asks "any match?", so bytes go straight to RE2; without
# the binding (another google-re2 layout) every text takes the wrapper, with the same answers.
_BINDING: Any = getattr(re2, "_re2", None)
_UNANCHORED: Any = getattr(getattr(getattr(_BINDING, "RE2", None), "Anchor", None), "UNANCHORED", None)


class _Re2Matcher:
    """A compiled pattern that answers `search` on UTF-8 bytes from RE2 directly (True or None)
    and on str through google-re2's wrapper (a Match or None)."""

    __slots__ = ("_compiled", "_joinable", "_regexp")

    def __init__(self, compiled: Any, joinable: bool) -> None:
        self._compiled = compiled
        self._regexp = getattr(compiled, "_regexp", None) if _UNANCHORED is not None else None
        self._joinable = joinable and self._regexp is not None

    def matching(self, texts: Sequence[bytes]) -> list[int]:
        """The indexes of the texts (UTF-8) that hold a match, in order.

        RE2's cost per call, not per byte, dominates on README-sized texts. When the pattern
        asserts nothing about where a text starts or ends (search/prefilter.py: context_free),
        a match in a text is a match in the texts joined by newlines, so RE2 searches the joined
        batch once: no match there clears every text of it. On a match, only the text where it
        starts is asked alone (the match may cross into the next text, or the text may match
        elsewhere), and the search resumes at the next text; texts between the resume point and
        a match's start hold none, since RE2 finds the leftmost match."""
        if not self._joinable or not texts:
            return [i for i, text in enumerate(texts) if self.search(text) is not None]
        starts: list[int] = []
        offset = 0
        for text in texts:
            starts.append(offset)
            offset += len(text) + 1
        joined = b"\n".join(texts)
        found: list[int] = []
        position = 0
        while position <= len(joined):
            start = self._regexp.Match(_UNANCHORED, joined, position, len(joined))[0][0]  # type: ignore[union-attr]
            if start < 0:
                break
            index = bisect_right(starts, start) - 1
            if self.search(texts[index]) is not None:
                found.append(index)
            if index + 1 == len(texts):
                break
            position = starts[index + 1]
        return found

    def search(self, text: str | bytes) -> object | None:
        if self._regexp is None or isinstance(text, str):
            found: object | None = self._compiled.search(text)
            return found
        # One span per group; the first is the whole match, (-1, -1) when there is none.
        return True if self._regexp.Match(_UNANCHORED, text, 0, len(text))[0][0] >= 0 else None


def compile_pattern(pattern: str, *, refuse_backtracking: bool = True) -> TextMatcher:
    if not isinstance(pattern, str) or pattern == "":
        raise InvalidInput("regex must be a non-empty string")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidInput(f"regex is longer than {MAX_PATTERN_LENGTH} characters")
    hazard = analyse(pattern) if refuse_backtracking else None
    if hazard is not None:
        raise InvalidInput(
            f"regex refused: {hazard} {hazard.cost}; tmr refuses patterns that backtracking regex "
            "engines can hang on"
        )
    options = re2.Options()
    options.max_mem = _MAX_PROGRAM_MEMORY
    options.log_errors = False
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as exc:
        raise InvalidInput(f"regex refused by the linear-time engine: {exc}") from exc
    matcher: TextMatcher = _Re2Matcher(compiled, context_free(pattern))
    return matcher
