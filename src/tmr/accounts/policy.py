"""What a new password and a new user name must be.

Length is what makes a password hard to guess, so the rule is a minimum length (12 by default,
`TMR_PASSWORD_MIN_LENGTH`) and a maximum that bounds hashing work, plus a refusal of passwords that
appear in leaked-password lists or are otherwise easy to guess, as judged by zxcvbn (its frequency
lists, dictionary words, keyboard walks, dates, repeats, and the user's own name). No composition
rules: they do not make passwords stronger, only harder to remember (NIST SP 800-63B).
"""

from __future__ import annotations

import re

from zxcvbn import zxcvbn

from tmr.errors import InvalidInput

MAX_PASSWORD_CHARS = 256
"""Long passphrases are welcome; beyond this the request is refused rather than hashed."""
MIN_SCORE = 3
"""zxcvbn's score runs 0-4; 3 is "safely unguessable: moderate protection from offline attacks"."""
_ANALYSED_CHARS = 72
"""zxcvbn refuses longer input; a password this long that is still guessable is caught in its head."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
RESERVED_NAMES = frozenset({"tmr-system"})


def check_user_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            "a user name is 1 to 64 characters: letters, digits and . _ @ + -, starting with a "
            "letter or a digit"
        )
    if name.lower() in RESERVED_NAMES:
        raise InvalidInput(f"the user name {name!r} is reserved")


def check_password(password: str, *, user_name: str, min_length: int) -> None:
    """Refuse a password that is too short, too long, or easy to guess; say why and what helps."""
    if len(password) < min_length:
        raise InvalidInput(f"the password must be at least {min_length} characters long")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(f"the password must be at most {MAX_PASSWORD_CHARS} characters long")
    if password.strip() != password or not password.isprintable():
        raise InvalidInput("the password must not start or end with spaces or hold control characters")
    if password.casefold() == user_name.casefold():
        raise InvalidInput("the password must not be the user name")
    verdict = zxcvbn(password[:_ANALYSED_CHARS], user_inputs=[user_name, "tmr", "registry"])
    if int(verdict["score"]) < MIN_SCORE:
        feedback = verdict.get("feedback") or {}
        hints = [str(feedback.get("warning") or "")] + [str(s) for s in feedback.get("suggestions") or []]
        said = " ".join(h.rstrip(".") + "." for h in hints if h)
        raise InvalidInput(
            "the password is too easy to guess (it is common, or built from common words, names, "
            "dates or patterns)" + (f": {said}" if said else "")
        )
