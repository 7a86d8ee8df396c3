"""Downloads: exact lengths, strong ETags, conditional requests, byte ranges and resumption."""

import hashlib
import io
import zipfile
import zlib

import pytest
from fastapi.testclient import TestClient

from tests.feature.conftest import HF, rewire_downloads
from tmr.accounts.models import SYSTEM
from tmr.container import Registry

BERT = f"{HF}/google-bert/bert-base-uncased"


def test_whole_download_has_length_etag_and_accepts_ranges(
    client: TestClient, auth: dict[str, str], bert: str
) -> None:
    response = client.get(f"/download/{bert}", headers=auth)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.headers["accept-ranges"] == "bytes"
    etag = response.headers["etag"]
    assert etag.startswith('"')
    assert len(etag) == 66
    assert zipfile.ZipFile(io.BytesIO(response.content)).testzip() is None
    again = client.get(f"/download/{bert}", headers=auth)
    assert again.headers["etag"] == etag
    assert again.content == response.content


def test_a_download_cut_at_60_percent_resumes(client: TestClient, auth: dict[str, str], bert: str) -> None:
    whole = client.get(f"/download/{bert}", headers=auth)
    cut = int(len(whole.content) * 0.6)
    first = whole.content[:cut]
    rest = client.get(
        f"/download/{bert}", headers={**auth, "Range": f"bytes={cut}-", "If-Range": whole.headers["etag"]}
    )
    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes {cut}-{len(whole.content) - 1}/{len(whole.content)}"
    assert int(rest.headers["content-length"]) == len(whole.content) - cut
    resumed = first + rest.content
    assert hashlib.sha256(resumed).hexdigest() == hashlib.sha256(whole.content).hexdigest()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 100)),
        ("bytes=100-199", (100, 200)),
        ("bytes=-50", (-50, None)),
        ("bytes=10-", (10, None)),
    ],
)
def test_ranges_are_slices_of_the_whole(
    client: TestClient, auth: dict[str, str], bert: str, header: str, expected: tuple[int, int | None]
) -> None:
    whole = client.get(f"/download/{bert}", headers=auth).content
    part = client.get(f"/download/{bert}", headers={**auth, "Range": header})
    assert part.status_code == 206
    assert part.content == whole[expected[0] : expected[1]]


def test_range_errors_and_fallbacks(client: TestClient, auth: dict[str, str], bert: str) -> None:
    whole = client.get(f"/download/{bert}", headers=auth)
    size = len(whole.content)
    beyond = client.get(f"/download/{bert}", headers={**auth, "Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"
    assert client.get(f"/download/{bert}", headers={**auth, "Range": "bytes=5-2"}).status_code == 416
    assert client.get(f"/download/{bert}", headers={**auth, "Range": "pages=1-2"}).status_code == 400
    several = client.get(f"/download/{bert}", headers={**auth, "Range": "bytes=0-1,5-6"})
    assert several.status_code == 200
    assert several.content == whole.content
    stale = client.get(f"/download/{bert}", headers={**auth, "Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200
    assert stale.content == whole.content


def test_conditional_get(client: TestClient, auth: dict[str, str], bert: str) -> None:
    etag = client.get(f"/download/{bert}", headers=auth).headers["etag"]
    cached = client.get(f"/download/{bert}", headers={**auth, "If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert client.get(f"/download/{bert}", headers={**auth, "If-None-Match": '"other"'}).status_code == 200


def test_parts_have_their_own_etag(client: TestClient, auth: dict[str, str], bert: str) -> None:
    whole = client.get(f"/download/{bert}", headers=auth).headers["etag"]
    config = client.get(f"/download/{bert}?parts=config", headers=auth)
    assert config.headers["etag"] != whole
    assert all(
        n.endswith((".json", ".gitattributes"))
        for n in zipfile.ZipFile(io.BytesIO(config.content)).namelist()
    )


def test_a_client_that_disconnects_mid_download_leaves_the_server_fine(
    client: TestClient, auth: dict[str, str], bert: str
) -> None:
    with client.stream("GET", f"/download/{bert}", headers=auth) as response:
        first = next(response.iter_bytes())
        assert first
    assert client.get(f"/download/{bert}", headers=auth).status_code == 200


def test_files_stored_before_checksums_get_them_on_download(
    client: TestClient, auth: dict[str, str], bert: str, registry: Registry
) -> None:
    artifact = registry.artifacts.get_any(SYSTEM, bert)
    stored = next(f for f in artifact.files if f.sha256)
    from sqlalchemy import update

    from tmr.storage.tables import FileRow

    with registry.store.engine.begin() as conn:
        conn.execute(update(FileRow).where(FileRow.path == stored.path).values(crc32=None))
    assert client.get(f"/download/{bert}", headers=auth).status_code == 200
    restored = next(f for f in registry.artifacts.get_any(SYSTEM, bert).files if f.path == stored.path)
    assert restored.crc32 == zlib.crc32(b"".join(registry.blobs.open(stored.sha256)))


def measured_lazily(registry: Registry) -> None:
    """Every package over the eager limit: its sha256 is measured on its first whole download."""
    rewire_downloads(registry, eager_digest_bytes=0)


def test_the_package_sha256_is_announced_once_known(
    client: TestClient, auth: dict[str, str], bert: str, registry: Registry
) -> None:
    measured_lazily(registry)
    first = client.get(f"/download/{bert}", headers=auth)
    assert "x-package-sha256" not in first.headers
    digest = hashlib.sha256(first.content).hexdigest()
    later = client.get(f"/download/{bert}", headers=auth)
    assert later.headers["x-package-sha256"] == digest
    assert later.headers["repr-digest"].startswith("sha-256=:")
    part = client.get(f"/download/{bert}", headers={**auth, "Range": "bytes=0-9"})
    assert part.headers["x-package-sha256"] == digest  # the digest is of the whole package


def test_an_interrupted_first_download_does_not_record_a_digest(
    client: TestClient, auth: dict[str, str], bert: str, registry: Registry
) -> None:
    measured_lazily(registry)
    with client.stream("GET", f"/download/{bert}", headers=auth) as response:
        next(response.iter_bytes())
    whole = client.get(f"/download/{bert}", headers=auth)
    assert "x-package-sha256" not in whole.headers
    again = client.get(f"/download/{bert}", headers=auth)
    assert again.headers["x-package-sha256"] == hashlib.sha256(whole.content).hexdigest()


def test_only_the_asked_parts_are_mirrored(
    client: TestClient, auth: dict[str, str], bert: str, registry: Registry
) -> None:
    def stored() -> dict[str, bool]:
        files = registry.artifacts.get_any(SYSTEM, bert).files
        return {f.kind.value: f.sha256 is not None for f in files if f.kind.value in ("config", "weights")}

    assert stored() == {"config": True, "weights": False}  # weights are recorded, not yet fetched
    response = client.get(f"/download/{bert}?parts=config", headers=auth)
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert names
    assert not any(n.endswith((".safetensors", ".bin", ".h5", ".msgpack")) for n in names)
    assert stored() == {"config": True, "weights": False}  # ?parts=config fetched no weights
    assert client.get(f"/download/{bert}?parts=weights", headers=auth).status_code == 200
    assert stored() == {"config": True, "weights": True}
