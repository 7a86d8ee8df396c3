"""Contract routes about the registry itself: health, tracks, reset, authenticate."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from tmr import __version__
from tmr.api.deps import AdminDep, RegistryDep
from tmr.api.routing import JsonBodyRoute
from tmr.api.schemas import AuthenticationRequest, HealthOut, TracksOut
from tmr.artifacts.models import ArtifactType
from tmr.observability.health import api_component, overall, store_component, upstream_component

router = APIRouter(tags=["system"], route_class=JsonBodyRoute)
PLANNED_TRACKS = ["Performance track", "Access control track"]


@router.get("/health", response_model=HealthOut)
def health(registry: RegistryDep) -> HealthOut:
    counts = registry.store.count()
    return HealthOut(
        status="ok",
        uptime_s=round(time.time() - registry.started_at, 3),
        models=counts[ArtifactType.MODEL],
        datasets=counts[ArtifactType.DATASET],
        code=counts[ArtifactType.CODE],
        version=__version__,
    )


@router.get("/health/components")
def health_components(
    registry: RegistryDep,
    window_minutes: Annotated[int, Query(alias="windowMinutes", ge=5, le=1440)] = 60,
    include_timeline: Annotated[bool, Query(alias="includeTimeline")] = False,
) -> dict[str, Any]:
    now = time.time()
    components = [
        api_component(registry.metrics, window_minutes, include_timeline, now),
        store_component(
            "metadata_store",
            "Metadata store",
            f"{registry.store.dialect} database holding artifacts, users and audit",
            registry.store.ping,
            now,
            {"backend": registry.store.dialect},
        ),
        store_component(
            "blob_store",
            "Blob store",
            "content-addressed file storage",
            registry.blobs.check,
            now,
            {"backend": registry.blobs.name},
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
            for client in registry.sources.clients()
        ],
    ]
    return {
        "status": overall(components),
        "components": [_contract_metrics(c) for c in components],
        "generated_at": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
        "window_minutes": window_minutes,
    }


def _contract_metrics(component: dict[str, Any]) -> dict[str, Any]:
    """The contract's HealthMetricValue is `oneOf: [integer, number, string, boolean]`, which no
    JSON integer satisfies (it is both of the first two). Whole numbers go out with a fraction part
    (`17.0`): OpenAPI 3.0's JSON Schema (draft 4/5) reads those as numbers, not integers."""
    metrics = {
        key: float(value) if isinstance(value, int) and not isinstance(value, bool) else value
        for key, value in component.get("metrics", {}).items()
    }
    return {**component, "metrics": metrics}


@router.get("/tracks", response_model=TracksOut)
def tracks() -> TracksOut:
    return TracksOut(plannedTracks=PLANNED_TRACKS)


@router.delete("/reset")
def reset(user: AdminDep, registry: RegistryDep) -> dict[str, str]:
    registry.reset()
    return {"status": "reset"}


@router.put("/authenticate")
def authenticate(registry: RegistryDep, body: AuthenticationRequest) -> str:
    return registry.accounts.authenticate(body.user.name, body.secret.password)
