"""The artifact page in a real browser: bert-base-uncased and a LoRA adapter axe-clean with their
ratings, files and READMEs; the download buttons yield zips; a malicious pickle is refused."""

from __future__ import annotations

import re
import zipfile

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.browser.ui import check_page, sign_in
from tests.processes import ServerProcess
from tests.zips import evil_pickle, model_files, zip_bytes

Seeded = dict[str, dict[str, object]]


def artifact_id(seeded: Seeded, key: str) -> str:
    metadata = seeded[key]["metadata"]
    assert isinstance(metadata, dict)
    return str(metadata["id"])


def test_the_bert_page(page: Page, ui_server: ServerProcess, seeded: Seeded) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/")
    page.get_by_role("link", name="bert-base-uncased", exact=True).click()
    expect(page).to_have_url(f"{ui_server.url}/ui/artifacts/{artifact_id(seeded, 'bert-base-uncased')}")
    expect(page.get_by_role("heading", level=1)).to_have_text("bert-base-uncased")
    metrics = page.get_by_role("table", name="Sub-scores: from 0 to 1, higher is better")
    expect(metrics.locator("tbody tr")).to_have_count(11)
    expect(metrics.get_by_role("row", name=re.compile("^Reviewedness"))).to_contain_text(
        "merged pull request"
    )
    devices = page.get_by_role("table", name="Size score per device")
    expect(devices.get_by_role("row", name=re.compile("^Raspberry Pi"))).to_contain_text("fits comfortably")
    expect(page.locator(".readme h3").first).to_have_text("BERT base model (uncased)")
    source = page.get_by_role("link", name="https://huggingface.co/google-bert/bert-base-uncased")
    expect(source).to_have_attribute("rel", "noopener nofollow")
    check_page(page, "artifact-bert-base-uncased")


def test_the_lora_adapter_page(page: Page, ui_server: ServerProcess, seeded: Seeded) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/artifacts/{artifact_id(seeded, 'base-lm-finetuned-lora')}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("base-lm-finetuned-lora")
    metrics = page.get_by_role("table", name="Sub-scores: from 0 to 1, higher is better")
    expect(metrics.get_by_role("row", name=re.compile("^Tree score"))).to_contain_text(
        "acme/base-lm-finetuned"
    )
    expect(page.get_by_role("heading", name="Lineage")).to_be_visible()
    check_page(page, "artifact-base-lm-finetuned-lora")


def test_download_buttons_give_zips(page: Page, ui_server: ServerProcess, seeded: Seeded) -> None:
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/artifacts/{artifact_id(seeded, 'bert-base-uncased')}")
    with page.expect_download() as whole:
        page.get_by_role("link", name=re.compile("^Download the whole package")).click()
    path = whole.value.path()
    assert path.read_bytes()[:4] == b"PK\x03\x04"
    assert "model.safetensors" in zipfile.ZipFile(path).namelist()
    assert whole.value.suggested_filename.endswith(".zip")
    with page.expect_download() as part:
        page.get_by_role("link", name="Download configuration").click()
    assert set(zipfile.ZipFile(part.value.path()).namelist()) == {".gitattributes", "config.json"}
    with page.expect_download() as single:
        page.get_by_role("link", name="Download config.json").click()
    assert single.value.suggested_filename == "config.json"
    assert single.value.path().read_bytes().startswith(b"{")
    # The page still works after the downloads, and they are in its audit trail.
    page.reload()
    expect(page.get_by_role("table", name=re.compile("^Audit trail"))).to_contain_text("DOWNLOAD")


def test_a_malicious_pickle_is_refused_on_the_page(page: Page, ui_server: ServerProcess) -> None:
    files = model_files(seed=77) | {"pytorch_model.bin": evil_pickle()}
    response = httpx.post(
        f"{ui_server.url}/artifact/model/upload",
        params={"name": "acme/trojan"},
        content=zip_bytes(files),
        headers=ui_server.headers | {"Content-Type": "application/zip"},
        timeout=120,
    )
    assert response.status_code == 201, response.text
    trojan = response.json()["metadata"]["id"]
    sign_in(page, ui_server.url)
    page.goto(f"{ui_server.url}/ui/artifacts/{trojan}")
    row = page.get_by_role("row", name=re.compile("pytorch_model.bin"))
    expect(row).to_contain_text("unsafe")
    expect(row).to_contain_text("refused: unsafe")
    check_page(page, "artifact-unsafe")
    page.get_by_role("link", name=re.compile("^Download the whole package")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Conflict")
    expect(page.get_by_role("alert")).to_contain_text("pytorch_model.bin")
    page.go_back()
    page.get_by_label("I understand these files can run code").check()
    with page.expect_download() as knowingly:
        page.get_by_role("button", name="Download the whole package, unsafe files included").click()
    assert "pytorch_model.bin" in zipfile.ZipFile(knowingly.value.path()).namelist()
