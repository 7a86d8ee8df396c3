"""Regex scans of the metadata store, on SQLite and PostgreSQL, give the same artifacts in the
same order whatever the hints (none, contained literals, literals at the start) and whichever way
the rows reach RE2 (a SQLite function on BLOBs; PostgreSQL rows in binary format as bytes)."""

from __future__ import annotations

from datetime import UTC, datetime

import re2

from tmr.artifacts.interfaces import EVERYTHING, Scope
from tmr.artifacts.models import Artifact, ArtifactSummary, ArtifactType, Visibility
from tmr.search.prefilter import required_literals, required_prefixes
from tmr.search.regex import compile_pattern
from tmr.storage.metadata import SqlMetadataStore

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TYPES = list(ArtifactType)


def _artifact(i: int) -> Artifact:
    name = ["acme-bert-base", "acme-bert-large", "globex-vit", "naïve-café", "x_y%z"][i % 5] + f"-{i}"
    readme = [
        f"# {name}\n\nA bert model, run {i:04x}.",
        "acme-bert-base at the very start of a README",
        "ünïcödé text with 100% of a_b and ☃",
        "",
        "line one\nacme-bert-base on a later line",
    ][i % 5]
    return Artifact(
        id=f"id{i:04d}",
        type=TYPES[i % 3],
        name=name,
        url=f"https://example.com/{i}",
        source="url",
        readme=readme,
        version=None if i % 4 == 0 else f"1.{i % 3}.0",
        visibility=Visibility.PRIVATE if i % 7 == 6 else Visibility.PUBLIC,
        created_at=NOW,
        updated_at=NOW,
        created_by="owner" if i % 14 == 13 else "admin",
        updated_by="admin",
    )


ARTIFACTS = [_artifact(i) for i in range(60)]
PATTERNS = [
    "^acme-bert-base",  # anchored: a prefix hint
    "^acme-bert-base-1[0-9]$",
    r"\Anaïve-café-",
    "bert (model|base)",  # contained literals
    "100% of a_b",
    "^x_y%z-",  # LIKE's wildcards in a prefix are literal
    "run [0-9a-f]{4}",  # no literal: a full scan
    "(?m)^acme-bert-base on",  # ^ at a line start: no prefix
    "^$",
    "☃",
]


def _expected(pattern: str, scope: Scope) -> list[ArtifactSummary]:
    compiled = re2.compile(pattern)
    return [
        ArtifactSummary(a.id, a.name, a.type, a.version)
        for a in ARTIFACTS
        if (scope.viewer is None or a.visibility is Visibility.PUBLIC or a.created_by == scope.viewer)
        and (compiled.search(a.name) is not None or (a.readme and compiled.search(a.readme) is not None))
    ]


def test_every_hint_gives_the_artifacts_re2_finds_in_registration_order(
    metadata_store: SqlMetadataStore,
) -> None:
    for artifact in ARTIFACTS:
        metadata_store.create(artifact)
    for scope in (EVERYTHING, Scope(viewer="owner"), Scope(viewer="someone")):
        for pattern in PATTERNS:
            matcher = compile_pattern(pattern)
            want = _expected(pattern, scope)
            hints = [None, required_literals(pattern), required_prefixes(pattern)]
            for contains in hints:
                got = metadata_store.match_text(matcher, scope, contains, batch_size=7)
                assert got == want, (pattern, scope, contains)
                assert all(isinstance(s.id, str) and isinstance(s.name, str) for s in got)
    assert required_prefixes("^x_y%z-") == {"x_y%z-"}  # the wildcard case above took the prefix path


def test_a_prefix_hint_finds_nothing_that_only_contains_it(metadata_store: SqlMetadataStore) -> None:
    for artifact in ARTIFACTS[:10]:
        metadata_store.create(artifact)
    hints = required_prefixes("^bert")
    assert hints is not None
    # "bert" occurs inside names and READMEs but starts none of them.
    assert metadata_store.match_text(compile_pattern("bert"), EVERYTHING, hints) == []
    assert metadata_store.match_text(compile_pattern("bert"), EVERYTHING, required_literals("bert")) != []
