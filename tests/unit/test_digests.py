import hashlib

import pytest

from tmr.errors import IntegrityError
from tmr.sources.digests import checked, git_blob_sha1, git_digest, sha256_digest

DATA = b"hello registry" * 1000


def chunks(data: bytes, size: int = 777) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_git_blob_sha1_matches_git() -> None:
    # `printf 'hello\n' | git hash-object --stdin`
    assert git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


@pytest.mark.parametrize(
    "digest", [sha256_digest(hashlib.sha256(DATA).hexdigest()), git_digest(git_blob_sha1(DATA)), None]
)
def test_good_bytes_pass_through(digest: str | None) -> None:
    assert b"".join(checked(chunks(DATA), digest, len(DATA), "f")) == DATA


def test_wrong_bytes_fail_at_the_end() -> None:
    wrong = sha256_digest(hashlib.sha256(b"other").hexdigest())
    with pytest.raises(IntegrityError, match="digest"):
        b"".join(checked(chunks(DATA), wrong, len(DATA), "f"))


@pytest.mark.parametrize("size", [len(DATA) - 1, len(DATA) + 1])
def test_wrong_size_fails(size: int) -> None:
    with pytest.raises(IntegrityError):
        b"".join(checked(chunks(DATA), None, size, "f"))
