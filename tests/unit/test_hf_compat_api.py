"""Hub API paths, tokens and errors of the Hugging Face-compatible routes."""

import json
from types import SimpleNamespace
from typing import Any

import pytest

from tmr.accounts.models import User
from tmr.api.hfcompat import ApiPath, parse_api_path, split_revision
from tmr.api.hfcompat_access import (
    INVALID_CREDENTIALS,
    TokenRefused,
    TokenRequired,
    hub_error_response,
    hub_user,
)
from tmr.errors import IntegrityError, RangeNotSatisfiable, Unauthenticated
from tmr.hub.service import EntryNotFound, RepoNotFound


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        ("bert-base-uncased", ApiPath("bert-base-uncased", "", "main", "")),
        ("google-bert/bert", ApiPath("google-bert/bert", "", "main", "")),
        ("google-bert/bert/revision/v1.0", ApiPath("google-bert/bert", "revision", "v1.0", "")),
        ("bert/revision/refs/heads/main", ApiPath("bert", "revision", "refs/heads/main", "")),
        ("google-bert/bert/tree/main", ApiPath("google-bert/bert", "tree", "main", "")),
        ("google-bert/bert/tree/main/a/b", ApiPath("google-bert/bert", "tree", "main", "a/b")),
        ("bert/tree/refs/tags/v1/onnx", ApiPath("bert", "tree", "refs/tags/v1", "onnx")),
        ("bert/tree/main", ApiPath("bert", "tree", "main", "")),
        ("org/name/paths-info/main", ApiPath("org/name", "paths-info", "main", "")),
        ("org/name/refs", ApiPath("org/name", "refs", "main", "")),
        ("bert/refs", ApiPath("bert", "refs", "main", "")),
        ("org/name/tree", None),
        ("org/name/refs/extra", None),
        ("a/b/c", None),
        ("", None),
        ("org//name", None),
    ],
)
def test_api_paths(rest: str, expected: ApiPath | None) -> None:
    assert parse_api_path(rest) == expected


def test_split_revision() -> None:
    assert split_revision(["main", "a", "b.json"]) == ("main", "a/b.json")
    assert split_revision(["refs", "pr", "1", "config.json"]) == ("refs/pr/1", "config.json")
    assert split_revision(["refs", "x", "config.json"]) == ("refs", "x/config.json")


class FakeAccounts:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def check(self, header: str) -> User:
        self.seen.append(header)
        if header.removeprefix("bearer ") != "jwt":
            raise Unauthenticated("the token is not valid")
        return User("alice", False)


def _user(authorization: str | None = None, x_authorization: str | None = None) -> tuple[User, list[str]]:
    accounts = FakeAccounts()
    registry: Any = SimpleNamespace(accounts=accounts)
    return hub_user(registry, authorization, x_authorization), accounts.seen


@pytest.mark.parametrize(
    ("authorization", "x_authorization"),
    [
        ("Bearer jwt", None),
        ("bearer jwt", None),
        ("Bearer bearer jwt", None),  # token="bearer <jwt>", the /authenticate answer verbatim
        (None, "bearer jwt"),
        ("Bearer hf_someone_elses", "bearer jwt"),  # the registry's own header wins
    ],
)
def test_tokens_through_either_header(authorization: str | None, x_authorization: str | None) -> None:
    assert _user(authorization, x_authorization)[0].name == "alice"


def test_no_token_is_a_missing_repository_and_a_bad_one_is_refused() -> None:
    with pytest.raises(TokenRequired):
        _user()
    with pytest.raises(TokenRequired):
        _user("  ", "")
    with pytest.raises(TokenRefused):
        _user("Bearer nope")
    with pytest.raises(TokenRefused):
        _user("Basic dXNlcjpwYXNz")


def _body(response: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(bytes(response.body))
    return data


def test_errors_are_the_hubs() -> None:
    missing = hub_error_response(RepoNotFound("Repository not found"))
    assert missing.status_code == 404
    assert missing.headers["x-error-code"] == "RepoNotFound"
    assert _body(missing) == {"error": "Repository not found"}
    entry = hub_error_response(EntryNotFound("Entry not found: x", commit="a" * 40))
    assert entry.headers["x-repo-commit"] == "a" * 40
    assert entry.headers["x-error-code"] == "EntryNotFound"
    required = hub_error_response(TokenRequired("pass a token"))
    assert (required.status_code, required.headers["x-error-code"]) == (401, "RepoNotFound")
    refused = hub_error_response(TokenRefused("the token has expired"))
    assert refused.status_code == 401
    assert "x-error-code" not in refused.headers
    assert refused.headers["x-error-message"] == INVALID_CREDENTIALS
    assert _body(refused) == {"error": "the token has expired"}
    ranged = hub_error_response(RangeNotSatisfiable("no", length=10))
    assert (ranged.status_code, ranged.headers["content-range"]) == (416, "bytes */10")
    upstream = hub_error_response(IntegrityError("bytes do not match\nthe digest é"))
    assert upstream.status_code == 502
    assert upstream.headers["x-error-message"] == "bytes do not match?the digest ?"
