"""An artifact described from what its source learned, before anything is stored.

Pure: a snapshot in, an artifact value and the small files' bytes out. Registration stores the
bytes and commits the value later, or drops both when the ingest gate says no.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from tmr.analysis.references import keys_for, references
from tmr.artifacts.models import Artifact, ArtifactLink, ArtifactType, FileEntry, Visibility
from tmr.errors import InvalidInput
from tmr.sources.models import SourceSnapshot

MAX_NAME_LENGTH = 512


@dataclass(frozen=True, slots=True)
class PreparedArtifact:
    """An artifact read from its source but not stored: its metadata, and the small files' bytes
    keyed by their sha256 (stored only when the artifact is)."""

    artifact: Artifact
    contents: Mapping[str, bytes] = field(default_factory=dict)
    judged: bool = False  # its stored files were judged already (the ingest gate does it first)


class Crc32:
    """CRC-32 of bytes as they stream past (zip headers need it before the data)."""

    def __init__(self) -> None:
        self.value = 0

    def through(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.value = zlib.crc32(chunk, self.value)
            yield chunk


def check_name(name: str) -> str:
    """Names are free text of "keyboard" characters; `*` is reserved for enumeration."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name must be a non-empty string")
    if name == "*":
        raise InvalidInput('the name "*" is reserved')
    if len(name) > MAX_NAME_LENGTH or any(ord(c) < 32 for c in name):
        raise InvalidInput("name is too long or holds control characters")
    return name


def describe(type_: ArtifactType, name: str, url: str, snapshot: SourceSnapshot) -> PreparedArtifact:
    """The artifact a snapshot describes (no id, owner or times yet). Malformed lineage metadata
    is kept as a note and a `lineage_error` fact (the lineage route answers 400 with it) rather
    than refusing the artifact."""
    files = []
    contents: dict[str, bytes] = {}
    for upstream in snapshot.files:
        sha256 = crc = None
        if upstream.content is not None:
            sha256 = hashlib.sha256(upstream.content).hexdigest()
            crc = zlib.crc32(upstream.content)
            contents[sha256] = upstream.content
        files.append(
            FileEntry(
                path=upstream.path,
                size=upstream.size,
                kind=upstream.kind,
                sha256=sha256,
                upstream_url=upstream.download_url or None,
                upstream_digest=upstream.upstream_digest,
                crc32=crc,
            )
        )
    notes = list(snapshot.notes)
    facts = dict(snapshot.facts)
    links: list[ArtifactLink] = []
    if type_ is ArtifactType.MODEL:
        try:
            hub = snapshot.hub_facts()
            links = references(snapshot.card, hub.config, hub.adapter_config, snapshot.readme)
        except InvalidInput as exc:
            notes.append(exc.message)
            facts["lineage_error"] = exc.message
    keys = frozenset(keys_for(name, url, snapshot.ref.repo_id or None))
    artifact = Artifact(
        id="",
        type=type_,
        name=name,
        url=url,
        source=snapshot.ref.kind.value,
        readme=snapshot.readme,
        card=dict(snapshot.card),
        license=snapshot.license,
        upstream=facts,
        version=snapshot.version,
        # An upstream's private or gated repository stays private: its owner is the registrant.
        visibility=Visibility.PRIVATE if snapshot.private else Visibility.PUBLIC,
        notes=tuple(notes),
        files=tuple(files),
        keys=keys,
        links=tuple(link for link in links if link.key not in keys),  # a model is not its own parent
    )
    return PreparedArtifact(artifact, contents)


def with_stored_files(prepared: PreparedArtifact, stored: Iterable[FileEntry]) -> PreparedArtifact:
    """The prepared artifact with some files' new facts (digests, verdicts) in place."""
    return replace(prepared, artifact=prepared.artifact.with_files(stored))
