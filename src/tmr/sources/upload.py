"""An uploaded zip as a source snapshot: its files are already stored, only read back for evidence.

An upload is read like a Hub repository in the same layout (card, license, configs), so the
rest of the registry (lineage, rating, search) cannot tell where a model came from, only that
an upload is never fetched from anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tmr.artifacts.uploads import ExplodedFile
from tmr.sources.layout import read_layout_evidence
from tmr.sources.models import SourceKind, SourceRef, SourceSnapshot, UpstreamFile

EVIDENCE_FILES = frozenset({"README.md", "config.json", "adapter_config.json", "model_index.json"})
MAX_EVIDENCE_BYTES = 16 * 1024 * 1024  # a card or config larger than this is not read as evidence


def upload_snapshot(
    url: str,
    files: Sequence[ExplodedFile],
    read: Callable[[str], bytes],
    *,
    is_model: bool,
    version: str | None,
) -> SourceSnapshot:
    """The snapshot of an exploded upload; `read(sha256)` returns a stored blob's bytes."""
    notes: list[str] = []
    upstream: list[UpstreamFile] = []
    for file in files:
        content = None
        if file.path in EVIDENCE_FILES:
            if file.size <= MAX_EVIDENCE_BYTES:
                content = read(file.sha256)
            else:
                notes.append(f"{file.path} is too large to be read as evidence")
        upstream.append(UpstreamFile(file.path, file.size, file.kind, "", None, content))
    layout = read_layout_evidence(upstream, {}, is_model=is_model)
    return SourceSnapshot(
        ref=SourceRef(kind=SourceKind.UPLOAD, url=url),
        readme=layout.readme,
        card=layout.card,
        license=layout.license,
        facts={"upload": {"files": len(files), "bytes": sum(f.size for f in files)}, **layout.facts},
        files=tuple(upstream),
        version=version,
        notes=(*notes, *layout.notes),
    )
