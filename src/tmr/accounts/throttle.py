"""How failed sign-ins slow the next attempts, per user name and per client address.

Counting both stops guessing one user's password from many addresses and many users' passwords
from one address. The first few failures in a window are free (people mistype); after them each
further failure doubles a wait, capped, during which every attempt for that key is refused with 429
and `Retry-After` before any password is hashed. A wait slows an attacker without locking the real
user out for long; a success clears the user's count. Unknown names are counted like known ones,
so the answers do not reveal which names exist. Counts live in the metadata store, so the rule
holds across workers and Lambda instances.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    window_s: int = 900
    """Failures older than this are forgotten."""
    free_per_user: int = 10
    free_per_address: int = 100
    """An office behind one NAT address (or a test suite) shares this budget, so it is larger."""
    first_wait_s: int = 1
    max_wait_s: int = 900

    def wait_after(self, failures: int, free: int) -> timedelta:
        """The wait imposed after the `failures`-th failure in a window: none while within the
        free allowance, then `first_wait_s`, twice that, four times … up to `max_wait_s`."""
        if failures <= free:
            return timedelta(0)
        doubling = 2 ** min(failures - free - 1, 30)
        return timedelta(seconds=min(self.first_wait_s * doubling, self.max_wait_s))


def user_key(name: str) -> str:
    return "user:" + name.casefold()[:300]


def address_key(address: str) -> str:
    return "addr:" + address[:300]


def seconds_until(until: datetime, now: datetime) -> int:
    """A Retry-After value: whole seconds, at least 1."""
    return max(1, int((until - now).total_seconds() + 0.999))
