"""The artifact page in process: metadata, the sanitised README, the rating with every sub-score
and its evidence, size fit, files and their verdicts, versions, the audit trail; downloads
through the page's own routes under the download service's policy; 404 for what one may not see."""

from __future__ import annotations

import html
import io
import re
import zipfile

import pytest
from fastapi.testclient import TestClient

from tests.feature.conftest import BERT, register
from tests.feature.web_support import add_user, api_login, ui_sign_in, upload
from tests.html_support import assert_harmless, elements
from tests.zips import evil_pickle, model_files
from tmr.container import Registry
from tmr.web.ratings import DEVICE_LABELS, LABELS

HOSTILE_README = """---
license: mit
secret_front_matter: do-not-show
---
# <script>alert('title')</script> model

<script>alert(1)</script>
<iframe src="https://evil.example/"></iframe>
<img src=x onerror=alert(1)>
<a href="JaVaScRiPt:alert(1)">raw link</a>
<svg><script>alert(1)</script></svg>
<style>body { display: none }</style>
<form action="https://evil.example"><input name="password"></form>

[markdown link](javascript:alert(1))
[entity link](javascript&#58;alert(1))
[good link](https://example.com/docs)
"""


def readme_html(page: str) -> str:
    found = re.search(r'<div class="readme">(.*?)</div>\s*</section>', page, re.S)
    assert found is not None, "no README on the page"
    return found.group(1)


@pytest.fixture
def ui(client: TestClient) -> TestClient:
    ui_sign_in(client)
    return client


def test_a_model_page_shows_everything_the_services_know(ui: TestClient, auth: dict[str, str]) -> None:
    artifact_id = register(ui, auth, "model", BERT)["metadata"]["id"]
    page = ui.get(f"/ui/artifacts/{artifact_id}")
    assert page.status_code == 200
    text = page.text
    assert "<title>bert-base-uncased · tmr</title>" in text
    assert text.count("<h1") == 1
    assert f'<a href="{BERT}" rel="noopener nofollow">{BERT}</a>' in text
    for fact in (artifact_id, "1.1.0", "apache-2.0", "public"):
        assert fact in text
    # Every sub-score of the contract, with its meaning, evidence and time.
    for key, label in LABELS.items():
        assert label in text, label
        if key != "net_score":
            assert f'id="metric-{key}"' in text
    rating = ui.get(f"/artifact/model/{artifact_id}/rate", headers=auth).json()
    assert f"{rating['net_score']:.2f}" in text
    assert "google-research/bert" in text  # the evidence names the linked repository
    assert text.count(" ms</td>") + text.count(" s</td>") >= 11
    for device in DEVICE_LABELS.values():
        assert device in text
    assert "fits comfortably" in text
    # Files with their kind and verdict, each with its own download link.
    for path in ("config.json", "model.safetensors", "vocab.txt"):
        assert f'href="/ui/artifacts/{artifact_id}/files/{path}"' in text
    assert "not yet checked" in text  # the weights are mirrored (and judged) on first download
    # The README is rendered, its headings below the page's.
    assert "<h3>BERT base model (uncased)</h3>" in readme_html(text)
    # Analyses (the other helper's partial), versions, audit trail.
    assert 'id="analysis-lineage"' in text
    assert 'id="analysis-cost"' in text
    assert 'id="versions"' in text
    assert "<td>CREATE</td>" in text
    assert f'href="/ui/artifacts/{artifact_id}/download?parts=weights"' in text


def test_reviewedness_without_a_repository_is_said_in_words(ui: TestClient, auth: dict[str, str]) -> None:
    artifact_id = upload(ui, auth, model_files(), "acme/sentiment")
    page = ui.get(f"/ui/artifacts/{artifact_id}").text
    row = re.search(r'<tr id="metric-reviewedness">(.*?)</tr>', page, re.S)
    assert row is not None
    assert "no linked repository" in row.group(1)
    assert "-1" in row.group(1)  # the evidence says what the contract's value is
    assert "private" in page


def test_a_hostile_readme_and_name_are_inert(ui: TestClient, auth: dict[str, str]) -> None:
    files = model_files()
    files["README.md"] = HOSTILE_README.encode()
    name = "<script>alert('name')</script><b>bold</b>"
    artifact_id = upload(ui, auth, files, name)
    page = ui.get(f"/ui/artifacts/{artifact_id}")
    assert page.status_code == 200
    text = page.text
    # Only the page's own scripts, by src; no inline ones at all.
    assert re.findall(r"<script(?![^>]*\bsrc=)", text) == []
    assert "<script>alert('name')" not in text
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in text
    readme = readme_html(text)
    assert_harmless(readme)  # only allow-listed elements and attributes, only safe URLs
    assert {tag for tag, _ in elements(readme)} <= {"h3", "p", "a"}
    assert "do-not-show" not in text  # front matter is metadata, not text
    assert '<a href="https://example.com/docs" rel="noopener nofollow">good link</a>' in readme
    assert "[markdown link](javascript:alert(1))" in html.unescape(readme)  # shown as text
    # The strict policy stands behind the sanitiser.
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_unknown_and_invisible_ids_are_404_pages(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    add_user(registry, "alice")
    add_user(registry, "bob")
    secret = upload(client, api_login(client, "alice"), model_files(), "alice-secret-model")
    ui_sign_in(client, "bob", "pw-bob")
    for path in (
        "/ui/artifacts/123456789",
        "/ui/artifacts/not!an!id",
        f"/ui/artifacts/{secret}",
        f"/ui/artifacts/{secret}/download",
        f"/ui/artifacts/{secret}/files/config.json",
    ):
        page = client.get(path)
        assert page.status_code == 404, path
        assert "text/html" in page.headers["content-type"]
        assert "<h1>Not found</h1>" in page.text
        assert "alice-secret-model" not in page.text
    client.cookies.clear()
    ui_sign_in(client, "alice", "pw-alice")
    assert client.get(f"/ui/artifacts/{secret}").status_code == 200
    assert client.get(f"/ui/artifacts/{secret}/files/no-such-file").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    for path in ("/ui/artifacts/123", "/ui/artifacts/123/download", "/ui/artifacts/123/files/a.json"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/ui/sign-in?notice=signed-in-needed")


def test_downloads_through_the_page_match_the_api(ui: TestClient, auth: dict[str, str]) -> None:
    artifact_id = register(ui, auth, "model", BERT)["metadata"]["id"]
    whole = ui.get(f"/ui/artifacts/{artifact_id}/download")
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "application/zip"
    assert whole.headers["content-disposition"].startswith("attachment;")
    api = ui.get(f"/download/{artifact_id}", headers=auth)
    assert whole.content == api.content
    assert zipfile.ZipFile(io.BytesIO(whole.content)).testzip() is None
    config = ui.get(f"/ui/artifacts/{artifact_id}/download", params={"parts": "config"})
    assert set(zipfile.ZipFile(io.BytesIO(config.content)).namelist()) == {".gitattributes", "config.json"}
    assert ui.get(f"/ui/artifacts/{artifact_id}/download", params={"parts": "nonsense"}).status_code == 400
    # One file, whole and as a range, and revalidated by its ETag.
    single = ui.get(f"/ui/artifacts/{artifact_id}/files/config.json")
    assert single.status_code == 200
    assert single.headers["content-disposition"].startswith('attachment; filename="config.json"')
    assert single.content == zipfile.ZipFile(io.BytesIO(whole.content)).read("config.json")
    part = ui.get(f"/ui/artifacts/{artifact_id}/files/config.json", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206
    assert part.content == single.content[:10]
    again = ui.get(
        f"/ui/artifacts/{artifact_id}/files/config.json", headers={"If-None-Match": single.headers["etag"]}
    )
    assert again.status_code == 304
    # Weights not yet mirrored are fetched, checked and judged on their first download.
    weights = ui.get(f"/ui/artifacts/{artifact_id}/files/model.safetensors")
    assert weights.status_code == 200
    page = ui.get(f"/ui/artifacts/{artifact_id}").text
    assert "Format safetensors" in page
    # Whole downloads are audited, as the API's are.
    assert "<td>DOWNLOAD</td>" in page


def test_a_malicious_pickle_is_refused_by_the_same_policy_as_the_api(
    ui: TestClient, auth: dict[str, str]
) -> None:
    files = model_files() | {"pytorch_model.bin": evil_pickle()}
    artifact_id = upload(ui, auth, files, "acme/trojan")
    page = ui.get(f"/ui/artifacts/{artifact_id}").text
    row = re.search(r"<code>pytorch_model.bin</code></th>(.*?)</tr>", page, re.S)
    assert row is not None
    assert "unsafe" in row.group(1)
    assert "system" in row.group(1)  # the reason: it imports os.system
    assert "refused: unsafe" in row.group(1)
    assert "I understand these files can run code" in page
    for path in ("/download", "/download?parts=weights"):
        refused = ui.get(f"/ui/artifacts/{artifact_id}{path}")
        api = ui.get(f"/download/{artifact_id}{path.removeprefix('/download')}", headers=auth)
        assert refused.status_code == api.status_code == 409
        assert "text/html" in refused.headers["content-type"]
        assert "<code>pytorch_model.bin</code>" in refused.text
    assert ui.get(f"/ui/artifacts/{artifact_id}/files/pytorch_model.bin").status_code == 409
    # The safe parts download as usual, and the whole only when asked for knowingly.
    assert ui.get(f"/ui/artifacts/{artifact_id}/download", params={"parts": "config"}).status_code == 200
    knowingly = ui.get(f"/ui/artifacts/{artifact_id}/download", params={"allow_unsafe": "true"})
    assert knowingly.status_code == 200
    assert "pytorch_model.bin" in zipfile.ZipFile(io.BytesIO(knowingly.content)).namelist()


def test_versions_link_the_artifacts_of_the_same_name(ui: TestClient, auth: dict[str, str]) -> None:
    older = upload(ui, auth, model_files(seed=1), "acme/sentiment", version="1.0.0")
    newer = upload(ui, auth, model_files(seed=2), "acme/sentiment", version="2.0.0")
    page = ui.get(f"/ui/artifacts/{older}").text
    section = page[page.index('id="versions"') : page.index('id="audit"')]
    assert f'<a href="/ui/artifacts/{newer}">2.0.0</a>' in section
    assert "<strong>1.0.0</strong>" in section
    assert section.index("1.0.0") < section.index("2.0.0")


def test_datasets_and_code_have_no_rating_section_numbers(ui: TestClient, auth: dict[str, str]) -> None:
    artifact_id = upload(ui, auth, {"README.md": b"# data\n", "data.csv": b"a,b\n1,2\n"}, "d", "dataset")
    page = ui.get(f"/ui/artifacts/{artifact_id}")
    assert page.status_code == 200
    assert "Ratings apply to models." in page.text
    assert 'id="metric-' not in page.text
