"""The package-confusion audit through the API: look-alikes registered over the upstream emulator
and uploaded, popularity from real searches and downloads, traffic from the download history,
administrators only, and a cache that a new artifact invalidates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.feature.conftest import HF, register
from tests.feature.web_support import add_user, api_login, ui_sign_in, upload
from tests.zips import model_files
from tmr.confusion.interfaces import SearchHit
from tmr.confusion.service import ConfusionService
from tmr.container import Registry
from tmr.downloads.history import DownloadEvent
from tmr.search.service import HITS_PER_SEARCH, SearchService
from tmr.storage.searches import SqlSearchHits

AUDIT = "/audit/package-confusion"
BERT = "google-bert/bert-base-uncased"
WHISPER = "openai/whisper-tiny"
# Look-alikes, registered from other upstream repositories under these names.
TYPO = "acme/bert-base-uncsed"
HOMOGLYPH_ORG = "g\u043e\u043egle-bert/bert-base-uncased"  # Cyrillic o's in the organisation
DELIMITER = "acme/whisper_tiny"
# Legitimate names: a sibling of the same organisation and unrelated models.
SIBLING = "google-bert/bert-base-cased"
UNRELATED = ("microsoft/DialoGPT-small", "parvk11/audience_classifier_model")
USERS = ("ann", "bob", "cat", "dan")
SEARCHES_EACH = 10  # per user and popular model


def _search(client: TestClient, auth: dict[str, str], name: str) -> None:
    response = client.get(f"/artifact/byName/{name}", headers=auth)
    assert response.status_code == 200, response.text


def _download(client: TestClient, auth: dict[str, str], artifact_id: str) -> None:
    response = client.get(f"/download/{artifact_id}", params={"part": "config"}, headers=auth)
    assert response.status_code == 200, response.text


def _audit(client: TestClient, auth: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(AUDIT, params=params, headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _by_name(findings: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in findings}


@pytest.fixture
def seeded(client: TestClient, auth: dict[str, str], registry: Registry) -> dict[str, str]:
    """Popular models that users find and download, look-alikes nobody searched for, and
    legitimate neighbours with ordinary traffic. Returns each name's artifact id."""
    ids = {
        BERT: register(client, auth, "model", f"{HF}/google-bert/bert-base-uncased", BERT),
        WHISPER: register(client, auth, "model", f"{HF}/openai/whisper-tiny", WHISPER),
        TYPO: register(client, auth, "model", f"{HF}/acme/base-lm", TYPO),
        HOMOGLYPH_ORG: register(client, auth, "model", f"{HF}/acme/base-lm-finetuned", HOMOGLYPH_ORG),
        DELIMITER: register(client, auth, "model", f"{HF}/acme/base-lm-finetuned-lora", DELIMITER),
        SIBLING: register(client, auth, "model", f"{HF}/nomic/tiny-mit-model", SIBLING),
        UNRELATED[0]: register(client, auth, "model", f"{HF}/microsoft/DialoGPT-small", UNRELATED[0]),
        UNRELATED[1]: register(
            client, auth, "model", f"{HF}/parvk11/audience_classifier_model", UNRELATED[1]
        ),
    }
    out = {name: body["metadata"]["id"] for name, body in ids.items()}
    for user in USERS:
        add_user(registry, user)
        headers = api_login(client, user)
        for popular in (BERT, WHISPER):  # found again and again, and downloaded: a crowd
            for _ in range(SEARCHES_EACH):
                _search(client, headers, popular)
            _download(client, headers, out[popular])
        if user in ("ann", "bob"):  # the neighbours are found and used now and then
            for name in (SIBLING, *UNRELATED):
                _search(client, headers, name)
                _download(client, headers, out[name])
    return out


def test_the_audit_finds_each_look_alike_with_its_target_and_spares_the_legitimate(
    client: TestClient, auth: dict[str, str], seeded: dict[str, str]
) -> None:
    body = _audit(client, auth)
    found = _by_name(body["findings"])
    assert set(found) == {TYPO, HOMOGLYPH_ORG, DELIMITER}
    assert body["total"] == 3
    assert body["next_offset"] is None
    assert (found[TYPO]["imitates"], found[TYPO]["categories"]) == (BERT, ["typo"])
    assert found[HOMOGLYPH_ORG]["imitates"] == BERT
    assert set(found[HOMOGLYPH_ORG]["categories"]) == {"namespace", "homoglyph"}
    assert (found[DELIMITER]["imitates"], found[DELIMITER]["categories"]) == (WHISPER, ["delimiter"])
    typo = found[TYPO]
    assert [a["id"] for a in typo["artifacts"]] == [seeded[TYPO]]
    assert [a["id"] for a in typo["imitated_artifacts"]] == [seeded[BERT]]
    assert any("'a' missing" in e for e in typo["evidence"])
    # Why: each component with its value, and the popularity the searches gave.
    assert set(typo["components"]) == {"name", "popularity_gap", "traffic"}
    assert typo["score"] == pytest.approx(
        sum(c["contribution"] for c in typo["components"].values()), abs=1e-3
    )
    assert typo["imitated_search_hits"] == len(USERS) * SEARCHES_EACH
    assert typo["search_hits"] == 0
    assert typo["components"]["popularity_gap"]["value"] > 0
    assert all(f["flagged"] and f["score"] >= body["threshold"] for f in body["findings"])
    # The legitimate names are nowhere, even with every weak match shown.
    weak = _by_name(_audit(client, auth, min_score=0.0)["findings"])
    for legitimate in (BERT, WHISPER, SIBLING, *UNRELATED):
        assert legitimate not in weak or not weak[legitimate]["flagged"]
    assert SIBLING not in weak


def test_a_private_upload_is_audited_too(
    client: TestClient, auth: dict[str, str], registry: Registry, seeded: dict[str, str]
) -> None:
    add_user(registry, "eve")
    eve = api_login(client, "eve")
    secret = upload(client, eve, model_files(seed=41), "eve/whisper-tiny")
    # Nobody else can see it; the administrator's audit does.
    assert (
        client.get("/artifact/byName/eve/whisper-tiny", headers=api_login(client, "ann")).status_code == 404
    )
    found = _by_name(_audit(client, auth)["findings"])
    assert found["eve/whisper-tiny"]["imitates"] == WHISPER
    assert found["eve/whisper-tiny"]["categories"] == ["namespace"]
    assert found["eve/whisper-tiny"]["artifacts"] == [
        {"id": secret, "type": "model", "visibility": "private"}
    ]


def _fresh_audits(registry: Registry) -> None:
    """An audit service that recomputes whenever traffic changed (the wired one keeps its
    findings for a minute when only downloads and search hits are new)."""
    registry.confusion = ConfusionService(
        SqlSearchHits(registry.store.engine),  # type: ignore[attr-defined]
        registry.download_history,
        ttl_s=0.0,
    )


def test_scripted_downloads_raise_the_score_and_say_why(
    client: TestClient, auth: dict[str, str], registry: Registry, seeded: dict[str, str]
) -> None:
    _fresh_audits(registry)
    calm = _by_name(_audit(client, auth)["findings"])[TYPO]
    # A bot's boosting, as the download history holds it: one client every ten seconds, never
    # having searched. Written with fixed times so the pattern does not depend on the clock.
    start = datetime.now(UTC) - timedelta(days=2)
    for i in range(30):
        registry.download_history.record_download(
            DownloadEvent(
                seeded[TYPO], "model", TYPO, "bot", "10.6.6.6", "api", None, True, None, None, None,
                start + timedelta(seconds=10 * i),
            )
        )  # fmt: skip
    boosted = _by_name(_audit(client, auth)["findings"])[TYPO]
    traffic = boosted["components"]["traffic"]
    assert traffic["value"] > 0.9 > calm["components"]["traffic"]["value"]
    assert boosted["score"] > calm["score"]
    assert "1 distinct client(s) for 30 downloads" in traffic["why"]
    assert "30 of 30 downloads never preceded by a search" in traffic["why"]
    assert "inter-arrival coefficient of variation 0.00" in traffic["why"]
    assert boosted["downloads"] >= 30


def test_downloads_after_a_search_by_the_same_user_are_not_unsearched(
    client: TestClient, auth: dict[str, str], registry: Registry, seeded: dict[str, str]
) -> None:
    add_user(registry, "bot")
    bot = api_login(client, "bot")
    _search(client, bot, TYPO)  # a real search: the hit is recorded now, before the downloads
    later = datetime.now(UTC) + timedelta(minutes=1)
    for i in range(10):
        registry.download_history.record_download(
            DownloadEvent(
                seeded[TYPO], "model", TYPO, "bot", "10.6.6.6", "api", None, True, None, None, None,
                later + timedelta(seconds=10 * i),
            )
        )  # fmt: skip
    typo = _by_name(_audit(client, auth, min_score=0.0)["findings"])[TYPO]
    assert typo["search_hits"] == 1
    assert "0 of 10 downloads never preceded by a search" in typo["components"]["traffic"]["why"]


def test_only_administrators_may_audit(client: TestClient, registry: Registry) -> None:
    assert client.get(AUDIT).status_code == 403
    assert client.get(AUDIT, headers={"X-Authorization": "bearer nonsense"}).status_code == 403
    add_user(registry, "ann")
    refused = client.get(AUDIT, headers=api_login(client, "ann"))
    assert refused.status_code == 401
    assert "administrator" in refused.text
    assert "'ann'" in refused.text


def test_bad_query_parameters_are_refused(client: TestClient, auth: dict[str, str]) -> None:
    for params in ({"min_score": 2}, {"min_score": -1}, {"offset": -1}, {"limit": 0}, {"limit": 1000}):
        assert client.get(AUDIT, params=params, headers=auth).status_code == 400, params


def test_paging(client: TestClient, auth: dict[str, str], seeded: dict[str, str]) -> None:
    whole = _audit(client, auth)["findings"]
    first = _audit(client, auth, limit=2)
    assert first["findings"] == whole[:2]
    assert first["next_offset"] == 2
    assert first["total"] == 3
    rest = _audit(client, auth, offset=2, limit=2)
    assert rest["findings"] == whole[2:]
    assert rest["next_offset"] is None


def test_a_new_artifact_invalidates_the_cache(
    client: TestClient, auth: dict[str, str], seeded: dict[str, str]
) -> None:
    first = _audit(client, auth)
    again = _audit(client, auth)
    assert (first["cached"], again["cached"]) == (False, True)
    assert again["findings"] == first["findings"]
    upload(client, auth, model_files(seed=42), "acme/bert_base_uncased")
    fresh = _audit(client, auth)
    assert fresh["cached"] is False
    added = _by_name(fresh["findings"])["acme/bert_base_uncased"]
    assert (added["imitates"], added["categories"]) == (BERT, ["delimiter"])
    assert _audit(client, auth)["cached"] is True


def test_the_route_is_on_the_openapi_page_with_its_model(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"][AUDIT]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"min_score", "offset", "limit"}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/ConfusionAuditOut")
    assert "components" in spec["components"]["schemas"]["FindingOut"]["properties"]


# --- search hits: what each search showed is recorded, never at the search's expense ----------


def _hits(registry: Registry) -> list[SearchHit]:
    store = SqlSearchHits(registry.store.engine)  # type: ignore[attr-defined]
    return list(store.hits_since(datetime(2000, 1, 1, tzinfo=UTC), limit=10_000))


def test_each_search_records_what_it_showed(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    bert = register(client, auth, "model", f"{HF}/google-bert/bert-base-uncased", BERT)["metadata"]["id"]
    whisper = register(client, auth, "model", f"{HF}/openai/whisper-tiny", WHISPER)["metadata"]["id"]
    add_user(registry, "ann")
    ann = api_login(client, "ann")
    _search(client, ann, BERT)
    assert client.post("/artifact/byRegEx", json={"regex": "whisper"}, headers=ann).status_code == 200
    assert client.post("/artifacts", json=[{"name": WHISPER}], headers=ann).status_code == 200
    assert client.post("/artifacts", json=[{"name": "*"}], headers=ann).status_code == 200  # not a search
    assert client.get("/artifact/byName/nothing-of-the-kind", headers=ann).status_code == 404
    hits = _hits(registry)
    assert [(h.artifact_id, h.user_name, h.kind) for h in hits] == [
        (bert, "ann", "name"),
        (whisper, "ann", "regex"),
        (whisper, "ann", "enumerate"),
    ]
    assert all(h.client == "testclient" for h in hits)  # the address the server saw
    # The browser's search goes through the same service.
    ui_sign_in(client)
    assert client.get("/", params={"q": BERT}).status_code == 200
    assert [(h.artifact_id, h.kind) for h in _hits(registry)[3:]] == [(bert, "enumerate")]
    # An artifact's page lists its other versions by name, but nobody searched: no hit.
    assert client.get(f"/ui/artifacts/{bert}").status_code == 200
    assert len(_hits(registry)) == 4


class _Broken:
    def record_hits(self, hits: Sequence[SearchHit], *, keep: int, oldest: datetime) -> None:
        raise RuntimeError("the store is on fire")


def test_a_search_survives_a_store_that_cannot_record_hits(
    client: TestClient, auth: dict[str, str], registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    register(client, auth, "model", f"{HF}/google-bert/bert-base-uncased", BERT)
    registry.search = SearchService(registry.store, registry.settings.page_size, hits=_Broken())
    with caplog.at_level("WARNING", logger="tmr.search.service"):
        _search(client, auth, BERT)
    assert "search hits not recorded" in caplog.text
    assert _hits(registry) == []


class _Counting:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def record_hits(self, hits: Sequence[SearchHit], *, keep: int, oldest: datetime) -> None:
        self.batches.append(len(hits))


def test_a_search_records_its_first_results_only(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    for seed in range(HITS_PER_SEARCH + 2):
        upload(client, auth, model_files(seed=100 + seed), "acme/many")
    counting = _Counting()
    registry.search = SearchService(registry.store, registry.settings.page_size, hits=counting)
    assert len(client.get("/artifact/byName/acme/many", headers=auth).json()) == HITS_PER_SEARCH + 2
    assert counting.batches == [HITS_PER_SEARCH]


def test_the_hits_table_is_bounded_by_its_writer(registry: Registry) -> None:
    store = SqlSearchHits(registry.store.engine)  # type: ignore[attr-defined]
    now = datetime(2026, 6, 1, tzinfo=UTC)
    before = store.fingerprint()
    old = [SearchHit(f"old{i}", "ann", None, "name", now - timedelta(days=200)) for i in range(3)]
    new = [SearchHit(f"a{i}", "ann", "10.0.0.1", "regex", now + timedelta(seconds=i)) for i in range(8)]
    store.record_hits(old, keep=100, oldest=now - timedelta(days=365))
    assert len(store.hits_since(now - timedelta(days=400), limit=100)) == 3
    store.record_hits(new, keep=5, oldest=now - timedelta(days=90))
    kept = store.hits_since(now - timedelta(days=400), limit=100)
    assert [h.artifact_id for h in kept] == ["a3", "a4", "a5", "a6", "a7"]  # the newest five, in order
    assert [h.artifact_id for h in store.hits_since(now, limit=2)] == ["a6", "a7"]  # the newest two
    store.record_hits([], keep=1, oldest=now)  # nothing to record: nothing pruned
    assert len(store.hits_since(now - timedelta(days=400), limit=100)) == 5
    after = store.fingerprint()
    assert after.newest_hit_seq > before.newest_hit_seq
    assert after.artifacts_part == before.artifacts_part
