"""The home page in process: browse, the three search modes, the type filter, keyset paging both
ways, the empty and no-match states, invalid input said at the search box (400), and nothing of
another user's private uploads."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient

from tests.feature.web_support import add_user, api_login, dataset, ui_sign_in, upload
from tests.zips import model_files
from tmr.container import Registry

ZIP = {"Content-Type": "application/zip"}
BADGE = re.compile(
    r'<span class="badge badge--(ok|warn|bad)"><span aria-hidden="true">.</span> '
    r"([0-9.]+) (good|fair|poor)</span>"
)
_ROW = re.compile(r'<th scope="row"><a href="/ui/artifacts/(?P<id>[0-9A-Za-z-]+)">(?P<name>[^<]*)</a></th>')


def rows(page: str) -> list[tuple[str, str]]:
    return [(m["id"], html.unescape(m["name"])) for m in _ROW.finditer(page)]


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return html.unescape(found.group(1)) if found else None


@pytest.fixture
def ui(client: TestClient) -> TestClient:
    ui_sign_in(client)
    return client


def test_the_home_page_needs_a_session(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/sign-in?notice=signed-in-needed&next=%2F"


def test_an_empty_registry_says_what_to_do(ui: TestClient) -> None:
    page = ui.get("/")
    assert page.status_code == 200
    assert "No artifacts yet — register one by URL or upload a zip." in page.text
    assert 'href="/ui/register"' in page.text
    assert 'href="/ui/upload"' in page.text
    # One labelled search box, a GET form.
    assert '<label for="f-q">Search</label>' in page.text
    assert 'method="get" action="/"' in page.text
    assert "<h1>" in page.text
    assert page.text.count("<h1") == 1


def test_results_are_paged_forward_and_back(ui: TestClient, auth: dict[str, str]) -> None:
    names = [f"set-{i:02d}" for i in range(23)]
    for name in names:
        upload(ui, auth, dataset(name), name, type_="dataset")
    first = ui.get("/")
    assert [n for _, n in rows(first.text)] == names[:20]
    assert link(first.text, "prev") is None
    assert "page 1" in first.text
    following = link(first.text, "next")
    assert following is not None
    second = ui.get(following)
    assert second.status_code == 200
    assert [n for _, n in rows(second.text)] == names[20:]
    assert link(second.text, "next") is None
    back = link(second.text, "prev")
    assert back is not None
    assert [n for _, n in rows(ui.get(back).text)] == names[:20]
    # The type filter keeps its paging: no models here.
    models = ui.get("/", params={"type": "model"})
    assert rows(models.text) == []
    assert "Clear the type filter" in models.text


def test_name_mode_is_exact_and_a_miss_suggests_regex(ui: TestClient, auth: dict[str, str]) -> None:
    target = upload(ui, auth, dataset("alpha-set"), "alpha-set", type_="dataset")
    upload(ui, auth, dataset("alpha-set-2"), "alpha-set-2", type_="dataset")
    exact = ui.get("/", params={"q": "alpha-set"})
    assert rows(exact.text) == [(target, "alpha-set")]
    missed = ui.get("/", params={"q": "alpha"})
    assert missed.status_code == 200
    assert rows(missed.text) == []
    assert "Nothing matches “alpha”" in missed.text
    assert "as a regex" in missed.text
    suggestion = re.search(r'<a href="([^"]+)">Search names and READMEs', missed.text)
    assert suggestion is not None
    found = ui.get(html.unescape(suggestion.group(1)))
    assert {n for _, n in rows(found.text)} == {"alpha-set", "alpha-set-2"}


def test_regex_mode_reads_names_and_readmes(ui: TestClient, auth: dict[str, str]) -> None:
    upload(
        ui, auth, dataset("plain", readme="# plain\n\nHolds the zebra-stripe corpus.\n"), "plain", "dataset"
    )
    upload(ui, auth, dataset("other"), "other", type_="dataset")
    found = ui.get("/", params={"q": "zebra-s[a-z]+", "mode": "regex"})
    assert [n for _, n in rows(found.text)] == ["plain"]
    nothing = ui.get("/", params={"q": "no-such-thing", "mode": "regex"})
    assert nothing.status_code == 200
    assert "(?i)" in nothing.text  # the no-match state says how to ignore case


@pytest.mark.parametrize(
    ("pattern", "said"),
    [("(", "regex refused"), ("(a+)+$", "backtracking"), ("", "Enter a regular expression")],
)
def test_a_bad_regex_is_a_400_said_at_the_search_box(ui: TestClient, pattern: str, said: str) -> None:
    page = ui.get("/", params={"q": pattern, "mode": "regex"})
    assert page.status_code == 400
    field = re.search(r'<input id="f-q"[^>]*>', page.text)
    assert field is not None
    assert 'aria-invalid="true"' in field.group(0)
    assert 'aria-describedby="f-q-hint f-q-error"' in field.group(0)
    error = re.search(r'<p class="field-error" id="f-q-error">(.*?)</p>', page.text, re.S)
    assert error is not None
    assert said in html.unescape(error.group(1))
    assert 'href="#f-q"' in page.text  # the error summary leads to the field


def test_version_ranges(ui: TestClient, auth: dict[str, str]) -> None:
    for version in ("1.2.0", "1.2.7", "1.4.1", "2.0.0"):
        upload(ui, auth, dataset(f"lib-{version}"), "lib", type_="dataset", version=version)
    upload(ui, auth, dataset("unversioned"), "unversioned", type_="dataset")

    def versions(query: str) -> list[str]:
        page = ui.get("/", params={"q": query, "mode": "version"})
        assert page.status_code == 200, page.text
        return re.findall(r"</th>\s*<td>dataset</td>\s*<td>([^<]+)</td>", page.text)

    assert versions("^1.2") == ["1.2.0", "1.2.7", "1.4.1"]
    assert versions("~1.2.0") == ["1.2.0", "1.2.7"]
    assert versions("1.2.7-2.0.0") == ["1.2.7", "1.4.1", "2.0.0"]
    assert versions("1.4.1") == ["1.4.1"]
    miss = ui.get("/", params={"q": "^3", "mode": "version"})
    assert "Checking the version range" in miss.text
    for bad in ("^x", "2.0.0-1.0.0", "one", ""):
        page = ui.get("/", params={"q": bad, "mode": "version"})
        assert page.status_code == 400, bad
        assert 'id="f-q-error"' in page.text


def test_unknown_choices_and_stale_offsets_are_400_pages(ui: TestClient) -> None:
    assert ui.get("/", params={"mode": "fuzzy"}).status_code == 400
    assert ui.get("/", params={"type": "weights"}).status_code == 400
    stale = ui.get("/", params={"offset": "not-a-cursor"})
    assert stale.status_code == 400
    assert "This page link is not valid any more" in stale.text
    # A mangled trail only loses its way back.
    assert ui.get("/", params={"trail": "x,<y>"}).status_code == 200


def test_other_users_private_uploads_never_appear(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    add_user(registry, "alice")
    add_user(registry, "bob")
    secret = upload(client, api_login(client, "alice"), model_files(), "alice-secret-model")
    ui_sign_in(client, "bob", "pw-bob")
    for params in (
        {},
        {"q": "alice-secret-model"},
        {"q": "alice", "mode": "regex"},
        {"q": "acme", "mode": "regex"},  # her README's words
        {"type": "model"},
    ):
        page = client.get("/", params=params)
        assert page.status_code == 200
        assert secret not in page.text
        assert rows(page.text) == []
    client.cookies.clear()
    ui_sign_in(client, "alice", "pw-alice")
    assert [i for i, _ in rows(client.get("/").text)] == [secret]
    client.cookies.clear()
    ui_sign_in(client)  # the admin sees every artifact
    assert secret in [i for i, _ in rows(client.get("/", params={"q": "alice", "mode": "regex"}).text)]


def test_names_with_html_are_escaped(ui: TestClient, auth: dict[str, str]) -> None:
    name = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    upload(ui, auth, dataset("html"), name, type_="dataset")
    for params in ({}, {"q": name}, {"q": "script", "mode": "regex"}):
        page = ui.get("/", params=params)
        assert "<script>alert(2)" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page.text
    assert rows(ui.get("/", params={"q": name}).text)[0][1] == name


def test_rated_models_carry_a_score_in_words(ui: TestClient, auth: dict[str, str]) -> None:
    model = upload(ui, auth, model_files(), "acme/sentiment")
    upload(ui, auth, dataset("data"), "data", type_="dataset")
    page = ui.get("/")
    net = ui.get(f"/artifact/model/{model}/rate", headers=auth).json()["net_score"]
    badge = re.search(BADGE, page.text)
    assert badge is not None
    assert float(badge.group(2)) == pytest.approx(net, abs=0.005)
    assert "models only" in page.text  # the dataset has no rating, and says why


def test_search_terms_travel_in_the_query_not_in_json(ui: TestClient) -> None:
    """The form is a GET form: a search has an address (shareable, bookmarkable, back-button safe)."""
    page = ui.get("/", params={"q": "x", "mode": "regex", "type": "code"})
    assert 'value="x"' in page.text
    assert 'value="regex" checked' in page.text
    assert '<option value="code" selected>' in page.text
    assert json.dumps({"q": "x"}) not in page.text
