"""The ASGI entry point for uvicorn workers: the app built from the environment."""

from __future__ import annotations

from tmr.app import create_app

app = create_app()
