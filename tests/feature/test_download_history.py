"""The download history: every download asked for, of every artifact (sensitive or not), kept
once per download and once per refusal, and read back by the model's owner, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.feature.conftest import BERT, register
from tests.feature.test_monitors import add_user, history, login, set_monitor, upload
from tests.support import ADMIN
from tests.zips import evil_pickle, model_files, zip_bytes
from tmr.container import Registry
from tmr.storage.searches import SqlSearchHits

ZIP = {"Content-Type": "application/zip"}


def test_plain_downloads_are_kept_once_each_with_who_where_and_what(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    add_user(registry, "alice")
    alice = login(client, "alice")
    model = upload(client, alice)
    assert client.get(f"/download/{model}", headers=auth).status_code == 200
    whole = client.get(f"/download/{model}", params={"parts": " config , tokenizer "}, headers=alice)
    assert whole.status_code == 200
    etag = whole.headers["ETag"]
    # The rest of a download resumed is the same download; a 304 sends nothing: neither is kept.
    rest = client.get(
        f"/download/{model}",
        params={"parts": "config,tokenizer"},
        headers=alice | {"Range": "bytes=10-", "If-Range": etag},
    )
    assert rest.status_code == 206
    unchanged = client.get(
        f"/download/{model}", params={"parts": "config,tokenizer"}, headers=alice | {"If-None-Match": etag}
    )
    assert unchanged.status_code == 304
    # A range from byte 0 starts one.
    first = client.get(
        f"/download/{model}", params={"parts": "config"}, headers=alice | {"Range": "bytes=0-9"}
    )
    assert first.status_code == 206
    events = history(client, alice, model)
    assert [(e["user"], e["parts"]) for e in events] == [
        ("alice", "config"),
        ("alice", "config,tokenizer"),
        (ADMIN, None),
    ]
    for e in events:
        assert e["allowed"]
        assert (e["door"], e["client"], e["monitor_exit"], e["monitor_output"], e["reason"]) == (
            "api",
            "testclient",
            None,
            None,
            None,
        )
    assert events[0]["seq"] > events[1]["seq"] > events[2]["seq"]
    assert datetime.fromisoformat(events[0]["at"]) >= datetime.fromisoformat(events[2]["at"])


def test_refusals_are_kept_every_time_with_their_reason(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    add_user(registry, "alice")
    alice = login(client, "alice")
    files = model_files(seed=11, weights=b"")
    files.pop("model.safetensors")
    files["pytorch_model.bin"] = evil_pickle()
    response = client.post(
        "/artifact/model/upload", params={"name": "acme/evil"}, content=zip_bytes(files), headers=alice | ZIP
    )
    assert response.status_code == 201, response.text
    model = response.json()["metadata"]["id"]
    for _ in range(2):
        assert client.get(f"/download/{model}", headers=alice).status_code == 409
    events = history(client, alice, model)
    assert len(events) == 2
    assert all(not e["allowed"] and "import code on load" in e["reason"] for e in events)
    assert all(e["monitor_exit"] is None for e in events)


def test_the_monitor_s_verdicts_are_kept(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    add_user(registry, "alice")
    alice = login(client, "alice")
    model = upload(client, alice)
    set_monitor(
        client,
        alice,
        model,
        "console.log('hello ' + process.argv[4]); if (process.argv[4] !== 'alice') process.exit(4);",
    )
    assert client.get(f"/download/{model}", params={"parts": "config"}, headers=alice).status_code == 200
    assert client.get(f"/download/{model}", params={"parts": "config"}, headers=auth).status_code == 451
    refused, allowed = history(client, alice, model)
    assert (refused["user"], refused["allowed"], refused["monitor_exit"]) == (ADMIN, False, 4)
    assert refused["monitor_output"] == f"hello {ADMIN}\n"
    assert "exited with status 4" in refused["reason"]
    assert (allowed["user"], allowed["allowed"], allowed["monitor_exit"]) == ("alice", True, 0)
    assert allowed["monitor_output"] == "hello alice\n"
    assert allowed["reason"] is None


def test_pages_run_newest_first_by_before(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    model = upload(client, auth)
    for part in ("config", "tokenizer", "docs", "weights", "config,docs"):
        assert client.get(f"/download/{model}", params={"parts": part}, headers=auth).status_code == 200
    url = f"/artifact/model/{model}/downloads"
    first = client.get(url, params={"limit": 2}, headers=auth).json()
    assert [e["parts"] for e in first["downloads"]] == ["config,docs", "weights"]
    second = client.get(url, params={"limit": 2, "before": first["next_before"]}, headers=auth).json()
    assert [e["parts"] for e in second["downloads"]] == ["docs", "tokenizer"]
    last = client.get(url, params={"limit": 2, "before": second["next_before"]}, headers=auth).json()
    assert [e["parts"] for e in last["downloads"]] == ["config"]
    assert last["next_before"] is None
    for bad in ({"limit": 0}, {"limit": 1001}, {"before": 0}, {"limit": "x"}):
        assert client.get(url, params=bad, headers=auth).status_code == 400, bad


def test_every_door_and_artifact_is_kept_for_the_audit(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    # Not only models: the package-confusion audit reads every artifact's downloads.
    start = datetime.now(UTC) - timedelta(seconds=1)
    bert = register(client, auth, "model", BERT)["metadata"]["id"]
    dataset = client.post(
        "/artifact/dataset/upload",
        params={"name": "acme/data"},
        content=zip_bytes({"a.csv": b"x,y\n"}),
        headers=auth | ZIP,
    ).json()["metadata"]["id"]
    assert client.get(f"/download/{dataset}", headers=auth).status_code == 200
    assert (
        client.get(
            f"/{BERT.removeprefix('https://huggingface.co/')}/resolve/main/config.json", headers=auth
        ).status_code
        == 200
    )
    events = registry.download_history.downloads_since(start, limit=10)
    assert [(e.artifact_id, e.artifact_type, e.door, e.parts) for e in events] == [
        (dataset, "dataset", "api", None),
        (bert, "model", "hub", "config.json"),
    ]
    assert registry.download_history.downloads_since(datetime.now(UTC) + timedelta(hours=1), limit=10) == []


def test_a_reset_forgets_the_history_and_the_search_hits(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    model = register(client, auth, "model", BERT)["metadata"]["id"]
    assert client.get(f"/download/{model}", params={"parts": "config"}, headers=auth).status_code == 200
    assert client.get("/artifact/byName/bert-base-uncased", headers=auth).status_code == 200
    since = datetime.now(UTC) - timedelta(days=1)
    assert len(registry.download_history.downloads_since(since, limit=10)) == 1
    hits = SqlSearchHits(registry.store.engine)  # type: ignore[attr-defined]
    assert len(hits.hits_since(since, limit=10)) == 1
    assert client.delete("/reset", headers=auth).status_code == 200
    assert registry.download_history.downloads_since(None, limit=10) == []
    assert hits.hits_since(since, limit=10) == []
