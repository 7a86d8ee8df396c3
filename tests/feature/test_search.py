from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.feature.conftest import GH, HF, register
from tests.support import auth_request
from tmr.accounts.models import SYSTEM
from tmr.app import create_app
from tmr.container import Registry


@pytest.fixture
def populated(client: TestClient, auth: dict[str, str]) -> dict[str, str]:
    ids = {
        "bert": register(client, auth, "model", f"{HF}/google-bert/bert-base-uncased")["metadata"]["id"],
        "audience": register(
            client, auth, "model", f"{HF}/parvk11/audience_classifier_model", name="audience-classifier"
        )["metadata"]["id"],
        "bookcorpus": register(client, auth, "dataset", f"{HF}/datasets/bookcorpus/bookcorpus")["metadata"][
            "id"
        ],
        "whisper": register(client, auth, "code", f"{GH}/openai/whisper", name="openai-whisper")["metadata"][
            "id"
        ],
        "bert-code": register(client, auth, "code", f"{GH}/google-research/bert", name="bert")["metadata"][
            "id"
        ],
    }
    return ids


def names(response_json: list[dict[str, str]]) -> list[str]:
    return [item["name"] for item in response_json]


def test_enumerate_everything_and_by_type(
    client: TestClient, auth: dict[str, str], populated: dict[str, str]
) -> None:
    everything = client.post("/artifacts", json=[{"name": "*"}], headers=auth)
    assert everything.status_code == 200
    assert [i["id"] for i in everything.json()] == list(populated.values())
    assert "offset" not in everything.headers
    code = client.post("/artifacts", json=[{"name": "*", "types": ["code"]}], headers=auth).json()
    assert {i["type"] for i in code} == {"code"}
    assert len(code) == 2
    mixed = client.post(
        "/artifacts", json=[{"name": "*", "types": ["model", "dataset"]}], headers=auth
    ).json()
    assert len(mixed) == 3


def test_enumerate_by_names_is_a_union(
    client: TestClient, auth: dict[str, str], populated: dict[str, str]
) -> None:
    found = client.post("/artifacts", json=[{"name": "bert"}, {"name": "bookcorpus"}], headers=auth).json()
    assert sorted(names(found)) == ["bert", "bookcorpus"]
    typed = client.post("/artifacts", json=[{"name": "bert", "types": ["model"]}], headers=auth).json()
    assert typed == []
    assert client.post("/artifacts", json=[{"name": "nothing"}], headers=auth).json() == []


def test_pagination_follows_the_offset_header(make_registry: Callable[..., Registry]) -> None:
    registry = make_registry(page_size=4)
    with TestClient(create_app(registry=registry)) as client:
        auth = {"X-Authorization": client.put("/authenticate", json=auth_request()).json()}
        created = [
            register(client, auth, "dataset", f"https://example.com/d/{i}")["metadata"]["id"]
            for i in range(10)
        ]
        seen: list[str] = []
        offset = None
        pages = 0
        while True:
            response = client.post(
                "/artifacts",
                params={"offset": offset} if offset else None,
                json=[{"name": "*"}],
                headers=auth,
            )
            assert response.status_code == 200
            page = response.json()
            assert len(page) <= 4
            seen += [i["id"] for i in page]
            pages += 1
            offset = response.headers.get("offset")
            if offset is None:
                break
        assert seen == created
        assert pages == 3


@pytest.mark.parametrize(
    ("body", "params"),
    [
        ([], None),
        ({"name": "*"}, None),
        ([{"types": ["model"]}], None),
        ([{"name": ""}], None),
        ([{"name": "*", "types": ["gizmo"]}], None),
        ([{"name": 3}], None),
        ([{"name": "*"}], {"offset": "abc"}),
        ([{"name": "*"}], {"offset": "-1"}),
    ],
)
def test_bad_enumerate_queries_are_400(
    client: TestClient, auth: dict[str, str], body: object, params: dict[str, str] | None
) -> None:
    assert client.post("/artifacts", json=body, params=params, headers=auth).status_code == 400


def test_by_name(client: TestClient, auth: dict[str, str], populated: dict[str, str]) -> None:
    response = client.get("/artifact/byName/audience-classifier", headers=auth)
    assert response.status_code == 200
    assert response.json() == [{"name": "audience-classifier", "id": populated["audience"], "type": "model"}]
    assert client.get("/artifact/byName/bert", headers=auth).json()[0]["type"] == "code"
    assert client.get("/artifact/byName/Bert", headers=auth).status_code == 404
    assert client.get("/artifact/byName/unknown-thing", headers=auth).status_code == 404


def test_regex_over_names(client: TestClient, auth: dict[str, str], populated: dict[str, str]) -> None:
    response = client.post("/artifact/byRegEx", json={"regex": ".*?(audience|bert).*"}, headers=auth)
    assert response.status_code == 200
    assert {"audience-classifier", "bert-base-uncased", "bert"} <= set(names(response.json()))
    exact = client.post("/artifact/byRegEx", json={"regex": "^bookcorpus$"}, headers=auth).json()
    assert names(exact) == ["bookcorpus"]


def test_regex_over_readmes(
    client: TestClient, auth: dict[str, str], populated: dict[str, str], registry: Registry
) -> None:
    readme = registry.artifacts.get_any(SYSTEM, populated["whisper"]).readme
    word = next(w for w in readme.split() if len(w) > 6 and w.isalpha() and w.lower() not in "openai-whisper")
    found = client.post("/artifact/byRegEx", json={"regex": word}, headers=auth).json()
    assert populated["whisper"] in [i["id"] for i in found]


def test_regex_no_match_is_404(client: TestClient, auth: dict[str, str], populated: dict[str, str]) -> None:
    assert (
        client.post("/artifact/byRegEx", json={"regex": "^zzz-no-such-thing$"}, headers=auth).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        ("(a+)+$", "nested quantifier (a+)+ at position 0"),
        ("(a|aa)+$", "overlapping alternatives (a|aa)+ at position 0"),
        ("^(([a-z])+.)+[A-Z]([a-z])+$", "nested quantifier (([a-z])+.)+ at position 1"),
        ("(.*a){20}", "nested quantifier (.*a){20} at position 0"),
        (".*.*=.*", "adjacent quantifiers .*.* at position 0"),
        ("(a{1,99999}){1,99999}$", "counted repetition (a{1,99999}){1,99999} at position 0"),
    ],
)
def test_backtracking_hazards_are_400_naming_the_construct(
    client: TestClient, auth: dict[str, str], populated: dict[str, str], pattern: str, named: str
) -> None:
    response = client.post("/artifact/byRegEx", json={"regex": pattern}, headers=auth)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"regex refused: {named} ")


@pytest.mark.parametrize(
    ("pattern", "status"),
    [
        ("^bookcorpus$", 200),
        ("bert-base-(un)?cased", 200),
        (r"^[a-z0-9-]+$", 200),
        (r"(bert|gpt)-\d+", 404),
        ("^(foo|bar)+$", 404),
    ],
)
def test_ordinary_patterns_search_as_before(
    client: TestClient, auth: dict[str, str], populated: dict[str, str], pattern: str, status: int
) -> None:
    assert client.post("/artifact/byRegEx", json={"regex": pattern}, headers=auth).status_code == status


def test_with_the_refusal_off_a_catastrophic_pattern_runs_on_re2(
    make_registry: Callable[..., Registry],
) -> None:
    registry = make_registry(regex_refuse_backtracking=False)  # TMR_REGEX_REFUSE_BACKTRACKING=false
    with TestClient(create_app(registry=registry)) as client:
        auth = {"X-Authorization": client.put("/authenticate", json=auth_request()).json()}
        register(client, auth, "dataset", "https://example.com/d/banana")
        response = client.post("/artifact/byRegEx", json={"regex": "(a+)+$"}, headers=auth)
        assert response.status_code == 200
        assert names(response.json()) == ["banana"]


@pytest.mark.parametrize(
    "body",
    [
        {"regex": "(a{1,99999}){1,99999}$"},
        {"regex": "(?<=x)y"},
        {"regex": "("},
        {"regex": ""},
        {},
        {"regex": 5},
    ],
)
def test_refused_or_malformed_regex_is_400(client: TestClient, auth: dict[str, str], body: object) -> None:
    response = client.post("/artifact/byRegEx", json=body, headers=auth)
    assert response.status_code == 400


def test_regex_scans_beyond_the_concurrency_limit_are_503(make_registry: Callable[..., Registry]) -> None:
    import threading

    registry = make_registry(regex_concurrency=1, regex_queue_s=0.2)
    entered, release = threading.Event(), threading.Event()
    real = registry.store.match_text

    def slow(*args: object, **kwargs: object) -> object:
        entered.set()
        release.wait(10)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    registry.store.match_text = slow  # type: ignore[method-assign]
    with TestClient(create_app(registry=registry)) as client:
        auth = {"X-Authorization": client.put("/authenticate", json=auth_request()).json()}
        register(client, auth, "dataset", "https://example.com/d/one")
        statuses: list[int] = []
        first = threading.Thread(
            target=lambda: statuses.append(
                client.post("/artifact/byRegEx", json={"regex": "one"}, headers=auth).status_code
            )
        )
        first.start()
        assert entered.wait(10)
        second = client.post("/artifact/byRegEx", json={"regex": "one"}, headers=auth)
        assert second.status_code == 503
        assert (
            client.post("/artifacts", json=[{"name": "*"}], headers=auth).status_code == 200
        )  # others unaffected
        release.set()
        first.join()
        assert statuses == [200]


def test_regex_requests_waiting_for_a_scan_slot_do_not_starve_other_routes(
    make_registry: Callable[..., Registry],
) -> None:
    """With every scan slot taken by a scan that does not end and more regex requests queued than
    the server has threads, `/health` and an enumeration still answer, while the scans are still
    running; one request beyond the bounded queue is told to come back (503, Retry-After)."""
    import threading
    import time

    import anyio.to_thread

    waiters, threads = 6, 4
    registry = make_registry(regex_concurrency=1, regex_queue_s=600, regex_waiting=waiters)
    entered, release = threading.Event(), threading.Event()
    real = registry.store.match_text

    def endless(*args: object, **kwargs: object) -> object:
        entered.set()
        assert release.wait(120)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    registry.store.match_text = endless  # type: ignore[method-assign]

    async def few_threads() -> None:
        # Fewer threads than queued requests: a queue held in threads would take every one.
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads

    try:
        with TestClient(create_app(registry=registry)) as client:
            assert client.portal is not None
            client.portal.call(few_threads)
            auth = {"X-Authorization": client.put("/authenticate", json=auth_request()).json()}
            register(client, auth, "dataset", "https://example.com/d/one")
            statuses: list[int] = []

            def search() -> None:
                statuses.append(
                    client.post("/artifact/byRegEx", json={"regex": "one"}, headers=auth).status_code
                )

            scans = [threading.Thread(target=search, daemon=True) for _ in range(1 + waiters)]
            scans[0].start()
            assert entered.wait(60)
            for scan in scans[1:]:
                scan.start()
            deadline = time.monotonic() + 60  # a guard against hanging, not a measure of speed
            while registry.search.scans.waiting < waiters:
                assert time.monotonic() < deadline, "the regex requests never queued"
                time.sleep(0.01)

            answers: dict[str, int] = {}

            def cheap() -> None:
                answers["health"] = client.get("/health").status_code
                answers["enumerate"] = client.post(
                    "/artifacts", json=[{"name": "*"}], headers=auth
                ).status_code

            other = threading.Thread(target=cheap, daemon=True)
            other.start()
            other.join(60)
            assert not other.is_alive(), "cheap routes starved by regex requests waiting for a slot"
            assert answers == {"health": 200, "enumerate": 200}
            assert not release.is_set()
            assert all(scan.is_alive() for scan in scans)  # the scans are still running

            beyond = client.post("/artifact/byRegEx", json={"regex": "one"}, headers=auth)
            assert beyond.status_code == 503
            assert beyond.json()["code"] == "busy"
            assert int(beyond.headers["Retry-After"]) >= 1

            release.set()
            for scan in scans:
                scan.join(60)
            assert statuses == [200] * (1 + waiters)
    finally:
        release.set()  # a failed assertion must not leave the scans (and the client) hanging
