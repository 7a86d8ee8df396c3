"""Artifact ids: numeric strings (like the contract's examples) that never collide or come back.

An id is the creation time in microseconds followed by a random suffix. Time only moves forward
between resets, so an id is never reused even after `DELETE /reset`; the random part separates
artifacts created in the same microsecond by different workers, and the database's unique
constraint turns the last-resort collision into a retry instead of an overwrite.
"""

from __future__ import annotations

import re
import secrets
import time

ID_PATTERN = re.compile(r"^[A-Za-z0-9-]+$")


def new_artifact_id() -> str:
    return f"{time.time_ns() // 1000:d}{secrets.randbelow(10_000):04d}"


def is_valid_id(value: str) -> bool:
    return bool(ID_PATTERN.fullmatch(value)) and len(value) <= 64
