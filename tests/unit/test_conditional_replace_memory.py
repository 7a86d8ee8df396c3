"""A conditional replacement (`ArtifactService.commit_replacement(if_unchanged=True)`) on the SQL
metadata store in memory: it lands only on the version it was derived from."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.memory_app import memory_registry, seed
from tmr.accounts.models import SYSTEM
from tmr.errors import ChangedMeanwhile


def test_a_write_derived_from_a_stale_read_is_refused_and_changes_nothing() -> None:
    with memory_registry() as registry:
        artifacts = registry.artifacts
        read = seed(registry, "acme/bert", {"config.json": b"{}"}, readme="first")
        newer = artifacts.commit_replacement(SYSTEM, read, replace(read, readme="second"), if_unchanged=True)
        assert artifacts.get_any(SYSTEM, read.id).readme == "second"

        with pytest.raises(ChangedMeanwhile, match="changed since it was read"):
            artifacts.commit_replacement(SYSTEM, read, replace(read, readme="stale"), if_unchanged=True)
        assert artifacts.get_any(SYSTEM, read.id).readme == "second"

        # Derived from the newest read it lands; an unconditional write (a contract PUT) always does.
        artifacts.commit_replacement(SYSTEM, newer, replace(newer, readme="third"), if_unchanged=True)
        artifacts.commit_replacement(SYSTEM, read, replace(read, readme="put"))
        assert artifacts.get_any(SYSTEM, read.id).readme == "put"
