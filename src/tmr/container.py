"""The wired registry: every service built once from settings, shared by the HTTP layer and CLI."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tmr.accounts.service import AccountService
from tmr.artifacts.service import ArtifactService
from tmr.observability.metrics import RequestMetrics
from tmr.rating.engine import default_engine
from tmr.rating.service import RatingService
from tmr.search.service import SearchService
from tmr.settings import Settings
from tmr.sources.registry import SourceRegistry
from tmr.storage.blobs.base import BlobStore, Presigner
from tmr.storage.blobs.factory import make_blob_store
from tmr.storage.database import make_engine, migrate
from tmr.storage.metadata import SqlMetadataStore


@dataclass
class Registry:
    settings: Settings
    store: SqlMetadataStore
    blobs: BlobStore
    sources: SourceRegistry
    accounts: AccountService
    artifacts: ArtifactService
    search: SearchService
    ratings: RatingService
    metrics: RequestMetrics = field(default_factory=RequestMetrics)
    started_at: float = field(default_factory=time.time)

    def reset(self) -> None:
        """The system default state: no artifacts, no audit, no stored files, only the default
        admin."""
        self.artifacts.reset()
        self.accounts.reset()
        self.artifacts.collect_orphans()
        if isinstance(self.blobs, Presigner):
            self.blobs.delete_packages()  # materialised downloads: copies, not blobs, so not orphans

    def close(self) -> None:
        self.sources.close()
        self.store.engine.dispose()


def build_registry(settings: Settings, *, run_migrations: bool = True) -> Registry:
    engine = make_engine(settings.resolved_database_url)
    if run_migrations:
        migrate(engine)
    store = SqlMetadataStore(engine)
    blobs = make_blob_store(
        settings.resolved_blob_store,
        data_dir=settings.data_dir,
        bucket=settings.s3_bucket,
        region=settings.aws_region,
        endpoint_url=settings.s3_endpoint_url,
        s3_prefix=settings.s3_prefix,
    )
    sources = SourceRegistry.from_settings(settings)
    accounts = AccountService(
        store,
        admin_name=settings.admin_user,
        admin_passwords=settings.passwords,
        token_ttl_s=settings.token_ttl_s,
        token_max_uses=settings.token_max_uses,
        jwt_secret=settings.jwt_secret,
        static_admin_token=settings.auth_token,
    )
    accounts.ensure_default_admin()
    artifacts = ArtifactService(store, blobs, sources, scan_limit=settings.scan_max_bytes)
    return Registry(
        settings=settings,
        store=store,
        blobs=blobs,
        sources=sources,
        accounts=accounts,
        artifacts=artifacts,
        ratings=RatingService(store, artifacts, sources, default_engine()),
        search=SearchService(store, settings.page_size, settings.regex_concurrency, settings.regex_queue_s),
    )
