"""`tmr serve`'s choice of server (serving/server.py): the default sends files with the kernel
on asyncio's loop, "uvicorn" is stock uvicorn, and "granian" without granian is a clear error."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from tmr.errors import InvalidInput
from tmr.serving import server
from tmr.serving.sendfile import SendfileProtocol
from tmr.settings import Settings


def _captured(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **options: calls.append({"app": app, **options}))
    return calls


def test_the_default_is_the_sendfile_protocol_on_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().server == "sendfile"
    calls = _captured(monkeypatch)
    server.run("sendfile", "127.0.0.1", 8123, 2)
    [call] = calls
    where = (call["app"], call["host"], call["port"], call["workers"])
    assert where == ("tmr.asgi:app", "127.0.0.1", 8123, 2)
    assert (call["loop"], call["http"]) == ("asyncio", SendfileProtocol)


def test_stock_uvicorn_keeps_its_own_loop_and_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _captured(monkeypatch)
    server.run("uvicorn", "0.0.0.0", 80, 1)
    assert "loop" not in calls[0]
    assert "http" not in calls[0]


def test_granian_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def without_granian(name: str, *args: Any) -> Any:
        if name == "granian":
            raise ImportError("No module named 'granian'")
        return real(name, *args)

    monkeypatch.setattr(server.importlib, "import_module", without_granian)
    with pytest.raises(InvalidInput, match="granian installed"):
        server.run("granian", "127.0.0.1", 8000, 1)


def test_granian_is_given_the_app_and_address(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[tuple[str, dict[str, Any]]] = []

    class Granian:
        def __init__(self, target: str, **options: Any) -> None:
            served.append((target, options))

        def serve(self) -> None:
            served.append(("served", {}))

    monkeypatch.setattr(server.importlib, "import_module", lambda name: type("M", (), {"Granian": Granian}))
    server.run("granian", "127.0.0.1", 8001, 2)
    assert served[0] == (
        "tmr.asgi:app",
        {"address": "127.0.0.1", "port": 8001, "workers": 2, "interface": "asgi", "log_access": False},
    )
    assert served[1][0] == "served"
