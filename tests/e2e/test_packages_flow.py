"""Packages over the wire, on both stores: upload → rate → download whole and in parts, byte for
byte; a download cut off at 60 % resumes; clients that hang up mid-transfer leave nothing behind."""

from __future__ import annotations

import hashlib
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.processes import ServerProcess
from tests.zips import digests, model_files, safetensors_bytes, unzip, zip_bytes


def big_model() -> dict[str, bytes]:
    """About 6 MB, mostly one safetensors file, plus a second shard and the usual small files."""
    return model_files(weights=safetensors_bytes((1024, 1280), seed=7)) | {
        "model-00002.safetensors": safetensors_bytes((256, 256), seed=8),
        "generation_config.json": b'{"max_length": 64}',
    }


def test_upload_rate_download_round_trip(server: ServerProcess) -> None:
    headers = server.login()
    files = big_model()
    body = zip_bytes(files)
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        created = client.post(
            "/artifact/model/upload",
            params={"name": "acme/big", "version": "1.0.0"},
            content=iter([body[i : i + 65536] for i in range(0, len(body), 65536)]),  # chunked
            headers={"Content-Type": "application/zip"},
        )
        assert created.status_code == 201, created.text
        out: dict[str, Any] = created.json()
        artifact_id = out["metadata"]["id"]
        assert out["version"] == "1.0.0"
        assert out["unsafe_files"] == []
        assert client.get(f"/artifact/model/{artifact_id}/rate").status_code == 200

        whole = client.get(f"/download/{artifact_id}")
        assert whole.status_code == 200
        assert int(whole.headers["Content-Length"]) == len(whole.content)
        assert whole.headers["X-Package-SHA256"] == hashlib.sha256(whole.content).hexdigest()
        assert digests(unzip(whole.content)) == digests(files)
        weights = client.get(f"/download/{artifact_id}", params={"parts": "weights"})
        assert set(unzip(weights.content)) == {"model.safetensors", "model-00002.safetensors"}
        assert digests(unzip(weights.content)) == digests(
            {k: v for k, v in files.items() if k.endswith(".safetensors")}
        )

        # Cut off at 60 %: read that much from a real stream, hang up, resume with Range.
        received = bytearray()
        cut = len(whole.content) * 6 // 10
        with client.stream("GET", f"/download/{artifact_id}") as stream:
            etag = stream.headers["ETag"]
            for chunk in stream.iter_raw(65536):
                received += chunk
                if len(received) >= cut:
                    break
        rest = client.get(
            f"/download/{artifact_id}", headers={"Range": f"bytes={len(received)}-", "If-Range": etag}
        )
        assert rest.status_code == 206
        assert hashlib.sha256(bytes(received) + rest.content).hexdigest() == whole.headers["X-Package-SHA256"]
        # The server is unharmed by the hang-up, and a whole download still matches.
        assert client.get(f"/download/{artifact_id}").content == whole.content


def test_a_client_that_hangs_up_mid_upload_leaves_nothing(server: ServerProcess) -> None:
    headers = server.login()
    body = zip_bytes(big_model())
    where = urlsplit(server.url)
    request = (
        f"POST /artifact/model/upload?name=cut-off HTTP/1.1\r\nHost: {where.netloc}\r\n"
        f"X-Authorization: {headers['X-Authorization']}\r\nContent-Type: application/zip\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(request + body[: len(body) // 2])
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        deadline = time.monotonic() + 60  # the server notices the hang-up on its next read
        while list(server.spool.iterdir()) and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.1)
        assert list(server.spool.iterdir()) == []  # type: ignore[attr-defined]
        assert client.get("/artifact/byName/cut-off").status_code == 404
        assert client.get("/health").status_code == 200
