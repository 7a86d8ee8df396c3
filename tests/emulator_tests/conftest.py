"""Shared fixtures: one emulator per test module, a clean fault state per test, an isolated HF cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import constants

from tests.emulator.server import EmulatorServer, running_emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with running_emulator() as server:
        yield server


@pytest.fixture(autouse=True)
def hf_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep huggingface_hub away from the real Hub and the user's cache/token.

    Some settings are module constants read at import time, so they are patched directly as well; every
    call also passes `endpoint=` / `cache_dir=` / `token=` explicitly.
    """
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)


@pytest.fixture
def faults_cleared(emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    """The module's emulator with no faults or counters left over from a previous test."""
    emulator.faults.clear()
    yield emulator
    emulator.faults.clear()


@pytest.fixture
def gh(faults_cleared: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=faults_cleared.github_api_url, timeout=10) as client:
        yield client


@pytest.fixture
def hub(faults_cleared: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=faults_cleared.hf_endpoint, timeout=10) as client:
        yield client
