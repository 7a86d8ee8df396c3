"""Mounts the pages on the application: one router per page family."""

from __future__ import annotations

from fastapi import FastAPI

from tmr.web.pages import (
    admin,
    artifact,
    artifact_analysis,
    auth,
    browse,
    health,
    register,
    static,
    transactions,
    upload,
    users,
    workload,
)

PAGE_MODULES = (
    auth,
    static,
    browse,
    artifact,
    artifact_analysis,
    health,
    workload,
    register,
    upload,
    transactions,
    users,
    admin,
)


def install_web(app: FastAPI) -> None:
    for module in PAGE_MODULES:
        app.include_router(module.router)
