"""What a source learns about an upstream: a reference parsed from the URL and a snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tmr.artifacts.models import FileKind
from tmr.sources.facts import HubFacts, RepositoryFacts


class SourceKind(StrEnum):
    HF_MODEL = "huggingface_model"
    HF_DATASET = "huggingface_dataset"
    GITHUB = "github"
    URL = "url"
    UPLOAD = "upload"  # a zip uploaded to the registry: never fetched from anywhere


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A parsed source URL. `repo_id` is `owner/name` (or a legacy single-segment Hub id)."""

    kind: SourceKind
    url: str
    repo_id: str = ""
    revision: str | None = None
    subpath: str = ""
    host: str = ""

    @property
    def default_name(self) -> str:
        """The artifact name to use when the client sends none: the repository's own name."""
        if self.repo_id:
            return self.repo_id.rsplit("/", 1)[-1]
        tail = self.url.rstrip("/").rsplit("/", 1)[-1]
        return tail or self.host or "artifact"


@dataclass(frozen=True, slots=True)
class UpstreamFile:
    """A file as the upstream lists it. `content` is set for small files fetched at once (a source
    makes the fetched copy with `dataclasses.replace`)."""

    path: str
    size: int
    kind: FileKind
    download_url: str
    upstream_digest: str | None = None
    content: bytes | None = None


@dataclass(frozen=True, slots=True)
class SourceSnapshot:
    """Everything a source learned: the raw evidence later stages (rating, lineage) read.

    A frozen value like the artifacts it becomes: a source gathers the pieces first and builds
    the snapshot once (or steps it with `dataclasses.replace`). `card` and `facts` are complete
    when the snapshot is made and only read after; `files` and `notes` are kept as tuples."""

    ref: SourceRef
    readme: str = ""
    card: dict[str, Any] = field(default_factory=dict)
    license: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    files: tuple[UpstreamFile, ...] = ()
    version: str | None = None
    notes: tuple[str, ...] = ()
    # The upstream keeps the repository from the public (private, gated): what the server's
    # token read of it becomes a private artifact of whoever registered it.
    private: bool = False

    def __post_init__(self) -> None:
        # Callers may pass lists; the value keeps immutable copies.
        object.__setattr__(self, "files", tuple(self.files))
        object.__setattr__(self, "notes", tuple(self.notes))

    def hub_facts(self) -> HubFacts:
        """`facts` read as a Hub repository's (all defaults for other upstreams)."""
        return HubFacts.from_upstream(self.facts)

    def repository_facts(self) -> RepositoryFacts:
        """`facts` read as a GitHub repository's (all defaults for other upstreams)."""
        return RepositoryFacts.from_upstream(self.facts)
