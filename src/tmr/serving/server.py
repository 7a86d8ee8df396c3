"""Starting the HTTP server `tmr serve` runs, as the `TMR_SERVER` setting chooses.

"sendfile" (the default) is uvicorn with `SendfileProtocol` on asyncio's loop: measured the
fastest correct configuration for downloads (docs/performance.md). "uvicorn" is stock uvicorn
(uvloop and httptools, every byte through Python), kept for comparison and for anyone who needs
uvloop's speed on small requests more than download throughput. "granian" runs granian when it is
installed (it is not a dependency: it measured no faster here); it sends whole cached packages
itself through `http.response.pathsend`.
"""

from __future__ import annotations

import importlib
from typing import Any, Literal

import uvicorn

from tmr.errors import InvalidInput

APP = "tmr.asgi:app"

Server = Literal["sendfile", "uvicorn", "granian"]


def run(server: Server, host: str, port: int, workers: int, fd: int | None = None) -> None:
    """Serve `tmr.asgi:app` on host:port, or on the inherited listening socket `fd`, with `workers`
    processes until stopped."""
    if server == "granian":
        if fd is not None:
            raise InvalidInput("TMR_SERVER=granian binds its own address: give --host/--port, not --fd")
        _run_granian(host, port, workers)
        return
    extra: dict[str, object] = {}
    if server == "sendfile":
        from tmr.serving.sendfile import SendfileProtocol

        extra = {"loop": "asyncio", "http": SendfileProtocol}
    where: dict[str, object] = {"host": host, "port": port} if fd is None else {"fd": fd}
    uvicorn.run(
        APP,
        workers=workers,
        log_level="warning",
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
        **where,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


def _run_granian(host: str, port: int, workers: int) -> None:
    try:
        granian: Any = importlib.import_module("granian")
    except ImportError:
        raise InvalidInput("TMR_SERVER=granian needs granian installed (pip install granian)") from None
    options = {"address": host, "port": port, "workers": workers, "interface": "asgi", "log_access": False}
    granian.Granian(APP, **options).serve()
