"""Browser tests: the registry as a real `./run serve` process, driven by Playwright in Debian's
Chromium (`/usr/bin/chromium`, which `./run test` installs), over the Hugging Face and GitHub
emulator. One server per module; every test gets a fresh browser context (no cookies shared)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.emulator.server import EmulatorServer, running_emulator
from tests.processes import ServerProcess, registry_server

CHROMIUM = os.environ.get("TMR_CHROMIUM", "/usr/bin/chromium")
# As the machine's notes advise: no sandbox as root, and no background traffic to Google's hosts,
# which a closed network refuses over and over.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Module scope, not session: a running sync Playwright keeps its event loop installed as the
# thread's running loop, which would break every later test that runs a loop of its own
# (Mangum, asyncio.run). A browser starts in well under a second.
@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: `./run test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with running_emulator() as server:
        yield server


@pytest.fixture(scope="module")
def ui_server(emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A registry on the embedded default (SQLite + files), empty until a test seeds it."""
    work: Path = tmp_path_factory.mktemp("browser")
    (work / "spool").mkdir()
    env = {
        "TMR_DATA_DIR": str(work / "data"),
        "TMR_SPOOL_DIR": str(work / "spool"),
        "TMR_OPS_FLUSH_S": "0",
        **emulator.env(),
    }
    with registry_server(env, work / "server.log") as process:
        yield process


def register(server: ServerProcess, artifact_type: str, url: str) -> dict[str, object]:
    """Seed through the contract API (the browser's own register page has its own tests)."""
    response = httpx.post(
        f"{server.url}/artifact/{artifact_type}", json={"url": url}, headers=server.headers, timeout=120
    )
    assert response.status_code in (201, 202), response.text
    body: dict[str, object] = response.json()
    return body


@pytest.fixture(scope="module")
def seeded(ui_server: ServerProcess) -> dict[str, dict[str, object]]:
    """A small registry: a lineage of three models, a dataset, code and a popular model."""
    urls = [
        ("model", "https://huggingface.co/google-bert/bert-base-uncased"),
        ("model", "https://huggingface.co/acme/base-lm"),
        ("model", "https://huggingface.co/acme/base-lm-finetuned"),
        ("model", "https://huggingface.co/acme/base-lm-finetuned-lora"),
        ("dataset", "https://huggingface.co/datasets/acme/instruct-data"),
        ("code", "https://github.com/huggingface/transformers"),
    ]
    created: dict[str, dict[str, object]] = {}
    for artifact_type, url in urls:
        body = register(ui_server, artifact_type, url)
        created[url.rsplit("/", 1)[-1]] = body
    return created
