"""Regular expressions on a linear-time engine (RE2): no pattern can hang a worker.

RE2 refuses what it cannot run in linear time (backreferences, lookaround) and repetition
counts above 1000; such patterns are answered with 400. So are, unless `refuse_backtracking` is off,
patterns that backtracking engines would explode on (tmr.search.redos), such as `(a+)+$`: RE2 would
run them safely, but clients reuse their patterns elsewhere and the API contract expects a 400.
"""

from __future__ import annotations

import re2

from tmr.artifacts.interfaces import TextMatcher
from tmr.errors import InvalidInput
from tmr.search.redos import analyse

MAX_PATTERN_LENGTH = 4096
_MAX_PROGRAM_MEMORY = 32 * 1024 * 1024


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
        compiled: TextMatcher = re2.compile(pattern, options)
    except re2.error as exc:
        raise InvalidInput(f"regex refused by the linear-time engine: {exc}") from exc
    return compiled
