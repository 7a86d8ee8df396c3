"""The wired registry: every service built once from settings, shared by the HTTP layer, the
Hugging Face door and the command line. Only this module knows which implementation backs each
interface; everything it holds is typed by the interface."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tmr.accounts.interfaces import AccountRepository
from tmr.accounts.models import Principal
from tmr.accounts.permissions import require_admin
from tmr.accounts.service import AccountService
from tmr.accounts.throttle import ThrottlePolicy
from tmr.analysis.service import AnalysisService
from tmr.artifacts.interfaces import ArtifactRepository
from tmr.artifacts.mirror import FileMirror
from tmr.artifacts.registration import RegistrationService
from tmr.artifacts.service import ArtifactService
from tmr.artifacts.upload_sessions import UploadSessionService
from tmr.confusion.service import ConfusionService
from tmr.downloads.cache import PackageCache
from tmr.downloads.gate import PlanGate
from tmr.downloads.history import DownloadHistory
from tmr.downloads.service import DownloadService
from tmr.hub.push import CreatedRepos, HubPushService, PushState
from tmr.hub.service import HubService, OidReader
from tmr.monitors.models import MonitorLimits
from tmr.monitors.sandbox import MonitorSandbox
from tmr.monitors.service import MonitorGate, MonitorService
from tmr.observability.activity import ActivityRecorder
from tmr.observability.disks import DiskProbe
from tmr.observability.interfaces import OperationsFeed
from tmr.observability.metrics import RequestMetrics
from tmr.observability.operations import OperationsService
from tmr.observability.status import HealthService
from tmr.rating.engine import default_engine
from tmr.rating.service import RatingService
from tmr.search.service import SearchService
from tmr.settings import Settings
from tmr.sources.registry import SourceRegistry
from tmr.storage.blobs.base import BlobStore, Presigner
from tmr.storage.blobs.factory import make_blob_store
from tmr.storage.database import make_engine
from tmr.storage.downloads import SqlDownloadHistory
from tmr.storage.metadata import SqlMetadataStore
from tmr.storage.monitors import SqlMonitorStore
from tmr.storage.operations import SqlOperationsStore
from tmr.storage.searches import SqlSearchHits
from tmr.storage.transactions import SqlTransactionStore
from tmr.storage.upload_sessions import SqlUploadSessionStore
from tmr.storage.workloads import SqlWorkloadStore
from tmr.transactions.service import TransactionService
from tmr.workload.runner import HttpRunner
from tmr.workload.service import WorkloadService


class MetadataStore(ArtifactRepository, AccountRepository, PushState, Protocol):
    """The metadata store as the registry uses it: every repository, plus its own upkeep."""

    @property
    def dialect(self) -> str:
        """The database's kind (`sqlite`, `postgresql`), for health reports."""
        ...

    def migrate(self) -> None: ...

    def follow_credentials(self, read: Callable[[], str], label: str) -> None:
        """Re-read the password with `read` when the database refuses it (rotation)."""
        ...

    def dispose(self) -> None: ...


@dataclass
class Registry:
    settings: Settings
    store: MetadataStore
    blobs: BlobStore
    sources: SourceRegistry
    accounts: AccountService
    artifacts: ArtifactService
    files: FileMirror
    ratings: RatingService
    registration: RegistrationService
    downloads: DownloadService
    hub: HubService
    hub_push: HubPushService  # writes through the Hugging Face door (create_repo, commits, tags)
    search: SearchService
    analysis: AnalysisService
    health: HealthService
    metrics: RequestMetrics
    activity: ActivityRecorder  # this instance's minutes and log lines, flushed to the store
    operations: OperationsFeed
    workloads: WorkloadService
    download_history: DownloadHistory  # every download asked for (read by the confusion audit)
    confusion: ConfusionService  # the package-confusion audit (search hits + download history)
    monitors: MonitorService  # sensitive models: their monitors and download histories
    transactions: TransactionService  # several artifact changes, applied all or none
    upload_sessions: UploadSessionService  # resumable uploads: a zip in parts (reset with transactions)

    def reset(self, principal: Principal) -> None:
        """The system default state: no artifacts, no audit, no stored files, only the default
        admin. Administrators only, whichever door asks."""
        require_admin(principal, "reset the registry")
        self.artifacts.reset()
        self.accounts.reset()
        self.download_history.reset()
        self.downloads.forget_packages()
        self.confusion.reset()
        self.hub_push.reset()
        self.artifacts.collect_orphans()
        if isinstance(self.blobs, Presigner):
            self.blobs.delete_packages()  # materialised downloads: copies, not blobs, so not orphans

    def close(self) -> None:
        self.activity.close()  # the last flush, while the store is still open
        self.sources.close()
        self.store.dispose()


def package_cache(settings: Settings) -> PackageCache | None:
    """Whole packages as local files (downloads/cache.py), unless TMR_PACKAGE_CACHE_BYTES is 0."""
    if settings.package_cache_bytes == 0:
        return None
    root = settings.package_cache_dir or settings.data_dir / "package-cache"
    return PackageCache(root, settings.package_cache_bytes)


def local_folders(settings: Settings, data_dir_used: bool, cache: PackageCache | None) -> dict[str, Path]:
    """The local folders the registry writes, by role, for the disk's health probe."""
    folders = {"data": settings.data_dir} if data_dir_used else {}
    folders["spool"] = settings.spool_dir or Path(tempfile.gettempdir())
    if cache is not None:
        folders["package cache"] = cache.root
    return folders


def build_registry(settings: Settings, *, run_migrations: bool = True) -> Registry:
    engine = make_engine(settings.resolved_database_url)
    store: MetadataStore = SqlMetadataStore(engine)
    if run_migrations:
        store.migrate()
    operations = SqlOperationsStore(engine)
    download_history = SqlDownloadHistory(engine)
    search_hits = SqlSearchHits(engine)
    activity = ActivityRecorder(operations, flush_interval_s=settings.ops_flush_s)
    activity.logs.attach()
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
        password_min_length=settings.password_min_length,
        throttle=ThrottlePolicy(
            window_s=settings.sign_in_window_s,
            free_per_user=settings.sign_in_free_per_user,
            free_per_address=settings.sign_in_free_per_address,
            first_wait_s=settings.sign_in_first_wait_s,
            max_wait_s=settings.sign_in_max_wait_s,
        ),
    )
    accounts.ensure_default_admin()
    artifacts = ArtifactService(store, blobs)
    files = FileMirror(store, blobs, sources, settings.scan_max_bytes)
    ratings = RatingService(store, artifacts, sources, default_engine())
    monitor_store = SqlMonitorStore(engine)
    monitor_limits = MonitorLimits(time_s=settings.monitor_time_s, memory_mib=settings.monitor_memory_mib)
    monitor_gate = MonitorGate(
        monitor_store, lambda: MonitorSandbox(monitor_limits), spool_dir=settings.spool_dir
    )
    cache = package_cache(settings)
    downloads = DownloadService(
        artifacts,
        files,
        store,
        store,
        blobs,
        eager_digest_bytes=settings.eager_digest_bytes,
        presigned_redirects=settings.download_redirect == "presigned",
        redirect_expires_s=settings.download_redirect_expires_s,
        events=activity,
        monitors=monitor_gate,
        history=download_history,
        cache=cache,
        # Plans tried on the event loop first on SQLite, unless every download asks S3 (a redirect
        # needs a round trip, so the loop would only hand each plan over to a thread, twice the work).
        gate=PlanGate(
            settings.download_plan_concurrency,
            inline=store.dialect == "sqlite" and settings.download_redirect != "presigned",
        ),
    )
    metrics = RequestMetrics()
    health = HealthService(
        counts=store.count,
        database=(store.dialect, store.ping),
        blobs=(blobs.name, blobs.check),
        upstreams=sources.clients,
        metrics=metrics,
        disks=DiskProbe(local_folders(settings, store.dialect == "sqlite" or blobs.local, cache)),
    )
    registration = RegistrationService(
        artifacts,
        files,
        sources,
        ratings,
        store,
        gate_models=settings.ingest_gate == "enforce",
        upload_limits=settings.upload_limits,
        events=activity,
    )
    return Registry(
        settings=settings,
        store=store,
        blobs=blobs,
        sources=sources,
        accounts=accounts,
        artifacts=artifacts,
        files=files,
        ratings=ratings,
        registration=registration,
        downloads=downloads,
        hub=HubService(artifacts, files, store, downloads, OidReader(store, blobs), CreatedRepos(store)),
        hub_push=HubPushService(
            artifacts,
            registration,
            blobs,
            store,
            accounts,
            lfs_threshold=settings.hub_lfs_threshold,
            max_file_bytes=settings.upload_limits.entry_bytes,
        ),
        search=SearchService(
            store,
            settings.page_size,
            settings.regex_concurrency,
            settings.regex_queue_s,
            refuse_backtracking=settings.regex_refuse_backtracking,
            regex_waiting=settings.regex_waiting,
            hits=search_hits,
        ),
        analysis=AnalysisService(artifacts, store, sources),
        health=health,
        metrics=metrics,
        activity=activity,
        operations=OperationsService(operations, activity, health),
        workloads=WorkloadService(
            SqlWorkloadStore(engine), artifacts, accounts, HttpRunner(), inline=settings.workload_inline
        ),
        download_history=download_history,
        confusion=ConfusionService(search_hits, download_history),
        monitors=MonitorService(artifacts, monitor_store, monitor_gate, download_history),
        transactions=TransactionService(
            SqlTransactionStore(engine), artifacts, registration, ttl_s=settings.transaction_ttl_s
        ),
        upload_sessions=UploadSessionService(
            SqlUploadSessionStore(engine),
            blobs,
            registration,
            part_bytes=settings.upload_part_bytes,
            ttl_s=settings.upload_session_ttl_s,
            limits=settings.upload_limits,
            spool_dir=settings.spool_dir,
        ),
    )
