"""Request and response bodies of the contract (OpenAPI 3.4.4), as pydantic models.

The contract's schemas do not forbid additional properties, so unknown fields are accepted and
ignored; `name` beside `url` is how the contract's client names what it registers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from tmr.artifacts.models import ArtifactType


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ArtifactMetadata(BaseModel):
    name: str
    id: str
    type: ArtifactType


class ArtifactDataIn(_In):
    url: StrictStr
    name: StrictStr | None = None


class ArtifactDataOut(BaseModel):
    url: str
    download_url: str | None = None


class ArtifactOut(BaseModel):
    metadata: ArtifactMetadata
    data: ArtifactDataOut


class UploadOut(ArtifactOut):
    """The contract's Artifact plus what an uploader wants to know at once (tmr's own)."""

    version: str | None
    visibility: str
    size_bytes: int
    files: int
    unsafe_files: list[str]
    net_score: float | None  # None when the rating failed (GET .../rate says why)


class ArtifactMetadataIn(_In):
    name: StrictStr
    id: StrictStr
    type: ArtifactType


class ArtifactIn(_In):
    metadata: ArtifactMetadataIn
    data: ArtifactDataIn


class ArtifactQuery(_In):
    name: StrictStr = Field(min_length=1)
    types: list[ArtifactType] | None = None
    version: StrictStr | None = None  # tmr's: `1.2.3`, `1.2.3-2.1.0`, `~1.2.0`, `^1.2.0`


class ArtifactRegEx(_In):
    regex: StrictStr
    version: StrictStr | None = None  # tmr's, as in ArtifactQuery


class LicenseCheckRequest(_In):
    github_url: StrictStr


class UserIn(_In):
    name: StrictStr = Field(min_length=1)
    is_admin: StrictBool | None = None


class SecretIn(_In):
    password: StrictStr


class AuthenticationRequest(_In):
    user: UserIn
    secret: SecretIn


class UserOut(BaseModel):
    name: str
    is_admin: bool


class AuditEntryOut(BaseModel):
    user: UserOut
    date: datetime
    artifact: ArtifactMetadata
    action: str


class HealthOut(BaseModel):
    status: str
    uptime_s: float
    models: int
    datasets: int
    code: int
    version: str


class TracksOut(BaseModel):
    plannedTracks: list[str]


class ErrorOut(BaseModel):
    detail: str
    code: str
    details: dict[str, Any] | None = None
