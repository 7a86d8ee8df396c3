"""Mounts the pages on the application: one router per page family."""

from __future__ import annotations

from fastapi import FastAPI

from tmr.web.pages import auth, static

PAGE_MODULES = (auth, static)


def install_web(app: FastAPI) -> None:
    for module in PAGE_MODULES:
        app.include_router(module.router)
