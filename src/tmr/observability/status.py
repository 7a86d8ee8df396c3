"""The registry's health as a use case: artifact counts and uptime for `/health`, and every
component's state for `/health/components` (this worker's request metrics, live probes of the
metadata and blob stores, and each upstream client's recent outcomes)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from tmr.artifacts.models import ArtifactType
from tmr.observability.disks import DiskProbe
from tmr.observability.health import (
    api_component,
    disk_component,
    overall,
    store_component,
    upstream_component,
)
from tmr.observability.metrics import RequestMetrics


class Upstream(Protocol):
    name: str
    calls: int
    failures: int
    last_success_at: float | None
    last_failure: tuple[float, str] | None


@dataclass(frozen=True, slots=True)
class Summary:
    uptime_s: float
    counts: dict[ArtifactType, int]


class HealthService:
    def __init__(
        self,
        *,
        counts: Callable[[], dict[ArtifactType, int]],
        database: tuple[str, Callable[[], None]],
        blobs: tuple[str, Callable[[], None]],
        upstreams: Callable[[], Sequence[Upstream]],
        metrics: RequestMetrics,
        disks: DiskProbe | None = None,
    ) -> None:
        self._counts = counts
        self._database = database
        self._blobs = blobs
        self._disks = disks
        self._upstreams = upstreams
        self._metrics = metrics

    def summary(self) -> Summary:
        # Uptime from the monotonic clock (the wall clock may be set while the registry runs).
        return Summary(round(self._metrics.uptime_s(), 3), self._counts())

    def components(self, window_minutes: int, include_timeline: bool) -> dict[str, Any]:
        now = time.time()
        dialect, ping = self._database
        backend, check = self._blobs
        components = [
            api_component(self._metrics, window_minutes, include_timeline, now),
            store_component(
                "metadata_store",
                "Metadata store",
                f"{dialect} database holding artifacts, users and audit",
                ping,
                now,
                {"backend": dialect},
            ),
            store_component(
                "blob_store", "Blob store", "content-addressed file storage", check, now, {"backend": backend}
            ),
            *[
                upstream_component(
                    "upstream_" + client.name.lower().replace(" ", "_"),
                    client.name,
                    client.calls,
                    client.failures,
                    client.last_success_at,
                    client.last_failure,
                    window_minutes,
                    now,
                )
                for client in self._upstreams()
            ],
        ]
        if self._disks is not None:
            components.insert(3, disk_component(self._disks.check(), now))
        return {
            "status": overall(components),
            "components": components,
            "generated_at": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
            "window_minutes": window_minutes,
        }
