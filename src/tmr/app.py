"""The application factory: one FastAPI app wired from settings, for uvicorn, tests and Lambda."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tmr import __version__
from tmr.api import (
    analysis,
    artifacts,
    audit,
    details,
    downloads,
    hfcompat,
    hfcompat_write,
    monitors,
    operations,
    rating,
    search,
    system,
    transactions,
    upload_sessions,
    uploads,
    users,
    workload,
)
from tmr.api.errors import install_error_handlers
from tmr.api.hfcompat_write import HUB_WRITE_PATH
from tmr.api.middleware import ApiPrefix, BodyLimit, RequestLog
from tmr.api.uploads import UPLOAD_PATH
from tmr.container import Registry, build_registry
from tmr.observability.logs import configure_logging
from tmr.settings import Settings
from tmr.web.app import install_web


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> FastAPI:
    settings = settings or (registry.settings if registry else Settings())
    configure_logging(settings.log_level, settings.log_file)
    registry = registry or build_registry(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        registry.close()

    app = FastAPI(
        title="tmr — Trustworthy Model Registry",
        version=__version__,
        description="A registry of ML models, datasets and code that speaks the ECE 461 contract (v3.4.4).",
        lifespan=lifespan,
    )
    app.state.registry = registry
    install_error_handlers(app)
    # search and rating before artifacts: `/artifact/byRegEx` and `/artifact/ingest` must not be
    # read as `/artifact/{artifact_type}`.
    for module in (system, search, rating, uploads, artifacts, analysis, downloads):
        app.include_router(module.router)
    app.include_router(details.router)  # tmr's description of one artifact by id (`tmr show`)
    app.include_router(users.router)  # tmr's users and permissions
    app.include_router(operations.router)  # tmr's operations feed (the dashboard's data)
    app.include_router(workload.router)  # tmr's download workload, run from the dashboard
    app.include_router(audit.router)  # tmr's package-confusion audit (administrators)
    app.include_router(monitors.router)  # tmr's sensitive models: monitors, download history
    app.include_router(transactions.router)  # tmr's transactions: several changes, all or none
    app.include_router(upload_sessions.router)  # tmr's resumable uploads: a zip in parts
    app.include_router(hfcompat_write.router)  # Hugging Face-compatible pushes (tmr.hub.push)
    app.include_router(hfcompat.router)  # Hugging Face-compatible reads, after the contract's routes
    install_web(app)  # the browser UI: `/`, `/ui/...` and `/static/...`, beside the contract
    # Outermost last: the prefix is stripped first, then CORS, the body cap and the request log.
    app.add_middleware(
        RequestLog, metrics=registry.metrics, emf=settings.emf_enabled, activity=registry.activity
    )
    exempt = re.compile(f"{UPLOAD_PATH.pattern}|{HUB_WRITE_PATH.pattern}")
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, exempt=exempt)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=[
            "offset",
            "x-request-id",
            "content-length",
            "content-range",
            "accept-ranges",
            "etag",
            "location",
            "upload-offset",
            "upload-length",
            "repr-digest",
            "x-package-sha256",
            "x-included-datasets",
            "x-skipped-datasets",
            "x-unsafe-files",
        ],
    )
    app.add_middleware(ApiPrefix)
    return app
