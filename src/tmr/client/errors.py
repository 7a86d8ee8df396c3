"""What a user command's failure means to a script: one exit code per kind of failure."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Documented in docs/using.md; click's own usage errors are 2 as well."""

    OK = 0
    GENERIC = 1
    USAGE = 2  # bad arguments or input the registry refused as invalid (400, 413, 415, 416)
    AUTH = 3  # no token, a dead token, a wrong password, or a missing permission (401, 403)
    NOT_FOUND = 4  # no such artifact or user, or not visible to you (404)
    REFUSED = 5  # a conflict or a refusal by a rule: duplicate, unsafe files, gate, monitor (409, 424, 451)
    UNAVAILABLE = 6  # no answer, a cut connection, a throttle or a failing server (429, 502-504)
    INTEGRITY = 7  # the bytes received do not match the sha256 the registry announced


_BY_STATUS = {
    400: ExitCode.USAGE,
    413: ExitCode.USAGE,
    415: ExitCode.USAGE,
    416: ExitCode.USAGE,
    401: ExitCode.AUTH,
    403: ExitCode.AUTH,
    404: ExitCode.NOT_FOUND,
    409: ExitCode.REFUSED,
    423: ExitCode.REFUSED,
    424: ExitCode.REFUSED,
    451: ExitCode.REFUSED,
    429: ExitCode.UNAVAILABLE,
    502: ExitCode.UNAVAILABLE,
    503: ExitCode.UNAVAILABLE,
    504: ExitCode.UNAVAILABLE,
}


def exit_code_for(status: int) -> ExitCode:
    return _BY_STATUS.get(status, ExitCode.GENERIC)


class ClientError(Exception):
    """A failure to show the user: the server's own message when it answered, and the exit code."""

    def __init__(
        self,
        message: str,
        exit_code: ExitCode,
        *,
        status: int | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.status = status
        self.code = code
        self.details = details or {}

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message, "exit_code": int(self.exit_code)}
        if self.status is not None:
            body["status"] = self.status
        if self.code:
            body["code"] = self.code
        if self.details:
            body["details"] = self.details
        return body
