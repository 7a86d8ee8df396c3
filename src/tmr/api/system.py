"""Contract routes about the registry itself: health, tracks, reset, authenticate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tmr import __version__
from tmr.api.deps import ClientDep, RegistryDep, UserDep
from tmr.api.routing import JsonBodyRoute
from tmr.api.schemas import AuthenticationRequest, HealthOut, TracksOut
from tmr.artifacts.models import ArtifactType

router = APIRouter(tags=["system"], route_class=JsonBodyRoute)
PLANNED_TRACKS = ["Performance track", "Access control track"]


@router.get("/health", response_model=HealthOut)
def health(registry: RegistryDep) -> HealthOut:
    summary = registry.health.summary()
    return HealthOut(
        status="ok",
        uptime_s=summary.uptime_s,
        models=summary.counts[ArtifactType.MODEL],
        datasets=summary.counts[ArtifactType.DATASET],
        code=summary.counts[ArtifactType.CODE],
        version=__version__,
    )


@router.get("/health/components")
def health_components(
    registry: RegistryDep,
    window_minutes: Annotated[int, Query(alias="windowMinutes", ge=5, le=1440)] = 60,
    include_timeline: Annotated[bool, Query(alias="includeTimeline")] = False,
) -> dict[str, Any]:
    report = registry.health.components(window_minutes, include_timeline)
    return {**report, "components": [_contract_metrics(c) for c in report["components"]]}


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
def reset(user: UserDep, registry: RegistryDep) -> dict[str, str]:
    registry.reset(user)
    return {"status": "reset"}


@router.put("/authenticate")
def authenticate(registry: RegistryDep, body: AuthenticationRequest, client: ClientDep) -> str:
    return registry.accounts.authenticate(body.user.name, body.secret.password, client)
