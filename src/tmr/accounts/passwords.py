"""Password hashing with argon2id. Passwords are compared exactly as sent (quotes, backticks and
SQL fragments included): they are only ever hashed, never interpolated.

argon2id is built to be expensive (64 MiB and tens of milliseconds per hash), so a flood of
sign-ins could take every core and a great deal of memory: at most one hash per core runs at once,
and a request that cannot get a turn within `WAIT_S` is told to come back (503) rather than
queueing without bound. An unknown user costs the same hash as a wrong password
(`verify_nobody`), so the time of the answer does not say which names exist.
"""

from __future__ import annotations

import os
import threading
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tmr.errors import Busy

_hasher = PasswordHasher()
SLOTS = max(1, os.cpu_count() or 1)
WAIT_S = 10.0
_slots = threading.BoundedSemaphore(SLOTS)


class _Turn:
    def __enter__(self) -> None:
        if not _slots.acquire(timeout=WAIT_S):
            raise Busy("too many sign-ins at once: try again in a few seconds", retry_after=5)

    def __exit__(self, *_exc: object) -> None:
        _slots.release()


def hash_password(password: str) -> str:
    with _Turn():
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    with _Turn():
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


@cache
def _nobody() -> str:
    """A hash no password matches in practice, made once per process with the live parameters."""
    return hash_password(os.urandom(32).hex())


def verify_nobody(password: str) -> bool:
    """The work of checking `password` for a user who does not exist: always False."""
    verify_password(_nobody(), password)
    return False
