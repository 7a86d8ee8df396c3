"""The operations dashboard page, `/ui/health`, in process: what it shows to whom, its charts
and their tables, its filters, its live fragment, and its refusals said on the page."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from tests.feature.web_support import ui_sign_in
from tests.support import auth_request
from tmr.accounts.models import User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.container import Registry

CHARTS = ("requests", "errors", "latency", "downloads", "bytes", "registrations")


class Outline(HTMLParser):
    """The parts of a page the checks read: headings in order, controls and their labels, ids,
    SVG charts, the rows of each table body, and alert and status regions."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.ids: list[str] = []
        self.svgs: list[dict[str, str | None]] = []
        self.rows: dict[str, int] = {}
        self.roles: list[dict[str, str | None]] = []
        self._heading: tuple[int, list[str]] | None = None
        self._table: str | None = None
        self._in_tbody = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(str(attributes["id"]))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = (int(tag[1]), [])
        elif tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.controls.append(attributes)
        elif tag == "label" and attributes.get("for"):
            self.label_for.add(str(attributes["for"]))
        elif tag == "svg" and attributes.get("role") == "img":
            self.svgs.append(attributes)
        elif tag == "caption" or tag == "table":
            self._table = attributes.get("id") or self._table
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody and self._table:
            self.rows[self._table] = self.rows.get(self._table, 0) + 1
        if attributes.get("role") in ("alert", "status"):
            self.roles.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if self._heading is not None and tag == f"h{self._heading[0]}":
            self.headings.append((self._heading[0], " ".join("".join(self._heading[1]).split())))
            self._heading = None
        elif tag == "tbody":
            self._in_tbody = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading[1].append(data)


@pytest.fixture
def ops(make_registry: Callable[..., Registry]) -> Registry:
    return make_registry(ops_flush_s=0)


@pytest.fixture
def browser(ops: Registry) -> Iterator[TestClient]:
    with TestClient(create_app(registry=ops)) as client:
        yield client


def check_structure(html: str) -> Outline:
    outline = Outline(html)
    assert [level for level, _text in outline.headings].count(1) == 1
    levels = [level for level, _text in outline.headings]
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), outline.headings
    for control in outline.controls:
        assert control.get("id") in outline.label_for, control
    assert len(outline.ids) == len(set(outline.ids)), "duplicate ids"
    return outline


def test_signed_out_visitors_see_the_components_and_how_to_see_more(browser: TestClient) -> None:
    page = browser.get("/ui/health")
    assert page.status_code == 200
    outline = check_structure(page.text)
    assert outline.headings[0] == (1, "Registry health")
    assert any(text.startswith("Components") for _level, text in outline.headings)
    assert "Metadata store" in page.text
    assert 'href="/ui/sign-in?next=%2Fui%2Fhealth"' in page.text
    assert outline.svgs == []  # activity is for signed-in users
    assert "Recent log lines" not in page.text


def test_the_dashboard_draws_each_chart_with_its_table(browser: TestClient) -> None:
    ui_sign_in(browser)
    token = {"X-Authorization": browser.put("/authenticate", json=auth_request()).json()}
    for _ in range(5):
        browser.post("/artifacts", json=[{"name": "*"}], headers=token)
    page = browser.get("/ui/health", params={"window": 15})
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    outline = check_structure(page.text)
    assert [text for level, text in outline.headings if level == 3] == [
        "Requests per minute by route",
        "Error rate",
        "Latency percentiles",
        "Downloads per minute",
        "Bytes served per minute",
        "Registrations by type",
    ]
    assert [svg["aria-labelledby"] for svg in outline.svgs] == [f"chart-{key}-t" for key in CHARTS]
    for key in CHARTS:
        assert f'<title id="chart-{key}-t">' in page.text
        assert f'id="chart-{key}-desc"' in page.text
        assert outline.rows[f"chart-{key}-caption"] == 15  # one row per minute of the window
    assert '<option value="15" selected>Last 15 minutes</option>' in page.text
    shown = re.search(r"<dt>Requests</dt><dd>(\d+)</dd>", page.text)
    assert shown is not None
    assert int(shown.group(1)) >= 6  # the API calls above, and the sign-in pages
    assert "POST /artifacts" in page.text
    assert any(r.get("role") == "status" and r.get("aria-live") == "polite" for r in outline.roles)
    assert 'id="refresh-link"' in page.text
    assert re.search(r'<script src="/static/js/health\.[0-9a-f]{12}\.js" defer>', page.text)
    assert re.search(r'<link rel="stylesheet" href="/static/css/health\.[0-9a-f]{12}\.css">', page.text)
    assert 'data-live-src="/ui/health/live?window=15"' in page.text
    assert "<time datetime=" in page.text  # each component's check, with its time


def test_admins_see_filtered_log_lines_with_a_download(browser: TestClient) -> None:
    ui_sign_in(browser)
    logging.getLogger("tmr.test.page").warning("odd <script>alert(1)</script> upstream answer")
    logging.getLogger("tmr.test.page").info("routine line")
    page = browser.get("/ui/health", params={"level": "warning", "q": "upstream"})
    assert page.status_code == 200
    outline = check_structure(page.text)
    assert (2, "Recent log lines") in outline.headings
    assert "odd &lt;script&gt;alert(1)&lt;/script&gt; upstream answer" in page.text
    assert "<script>alert" not in page.text
    assert "routine line" not in page.text
    assert outline.rows["logs-caption"] == 1
    assert 'href="/operations/logs.jsonl?level=warning&amp;q=upstream"' in page.text
    assert '<option value="warning" selected>Warning and above</option>' in page.text
    # the download link works with the session alone, as a browser follows it
    download = browser.get("/operations/logs.jsonl", params={"level": "warning", "q": "upstream"})
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment")
    assert len(download.text.splitlines()) == 1


def test_users_who_are_not_admins_see_activity_but_no_logs(browser: TestClient, ops: Registry) -> None:
    ops.store.put_user(User("alice", False, hash_password("alice-pw")))
    ui_sign_in(browser, "alice", "alice-pw")
    page = browser.get("/ui/health")
    assert page.status_code == 200
    check_structure(page.text)
    assert "Recent log lines" not in page.text
    assert "visible to administrators" in page.text
    assert browser.get("/operations/activity").status_code == 200  # the session reads the feed
    assert browser.get("/operations/logs").status_code == 401


@pytest.mark.parametrize("window", ["7", "1440", "sixty", "-5"])
def test_an_unknown_window_is_said_on_the_page(browser: TestClient, window: str) -> None:
    ui_sign_in(browser)
    page = browser.get("/ui/health", params={"window": window})
    assert page.status_code == 400
    assert "<title>Error: Registry health" in page.text
    outline = check_structure(page.text)
    assert any(r.get("role") == "alert" for r in outline.roles)
    assert "5, 15, 60" in page.text
    assert '<select id="f-window" name="window"' in page.text  # the way out is on the page
    assert outline.svgs == []


def test_a_bad_level_is_tied_to_its_field(browser: TestClient) -> None:
    ui_sign_in(browser)
    page = browser.get("/ui/health", params={"level": "loud"})
    assert page.status_code == 400
    check_structure(page.text)
    assert 'aria-invalid="true"' in page.text
    assert 'id="f-level-error"' in page.text
    assert "level must be one of" in page.text


def test_the_live_fragment_holds_the_changing_parts(browser: TestClient) -> None:
    ui_sign_in(browser)
    live = browser.get("/ui/health/live", params={"window": 5})
    assert live.status_code == 200
    assert "<html" not in live.text
    assert '<div id="health-activity" data-live-part data-summary="' in live.text
    assert '<div id="health-logs" data-live-part>' in live.text
    assert Outline(live.text).rows["chart-requests-caption"] == 5
    assert browser.get("/ui/health/live", params={"window": 9}).status_code == 400
