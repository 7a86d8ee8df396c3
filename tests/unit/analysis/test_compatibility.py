"""License compatibility: every documented pair, and the documentation kept in step with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tmr.analysis.compatibility import EXAMPLES, Example, check, check_strings, examples_table
from tmr.analysis.licenses import normalize

DOCS = Path(__file__).resolve().parents[3] / "docs" / "licensing.md"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda ex: f"{ex.model}|{ex.code}")
def test_documented_pair(example: Example) -> None:
    verdict = check(normalize(example.model), normalize(example.code))
    assert verdict.compatible is example.compatible, verdict.reasons
    assert verdict.reasons
    assert example.cue in " ".join(verdict.reasons)


def test_docs_reproduce_the_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("<!-- compatibility-examples:start -->")
    end = text.index("<!-- compatibility-examples:end -->")
    assert text[start:end].split("-->", 1)[1].strip() == examples_table()


def test_enough_documented_pairs() -> None:
    assert len(EXAMPLES) >= 25
    assert len({(ex.model, ex.code) for ex in EXAMPLES}) == len(EXAMPLES)
    assert {ex.compatible for ex in EXAMPLES} == {True, False}


@pytest.mark.parametrize("missing", [None, "", "unknown", "NOASSERTION", "no idea"])
@pytest.mark.parametrize("present", ["MIT", "apache-2.0", "CC0-1.0"])
def test_no_license_found_is_never_compatible(missing: str | None, present: str) -> None:
    assert not check_strings(missing, present).compatible
    assert not check_strings(present, missing).compatible
    assert not check_strings(missing, missing).compatible


def test_both_sides_missing_reports_both() -> None:
    reasons = check_strings(None, "NOASSERTION").reasons
    assert len(reasons) == 2
    assert "model" in reasons[0]
    assert "code" in reasons[1]


def test_one_reason_per_blocked_side() -> None:
    # A missing license is reported as missing, not also as non-commercial.
    reasons = check_strings("unknown", "MIT").reasons
    assert len(reasons) == 1
    assert "non-commercial" not in reasons[0]


@pytest.mark.parametrize("model", ["MIT", "apache-2.0", "gpl-3.0", "cc-by-sa-4.0", "openrail", "llama3"])
def test_gpl_code_never_blocks_in_house_fine_tuning(model: str) -> None:
    assert check_strings(model, "GPL-3.0-or-later").compatible


@pytest.mark.parametrize(
    ("model", "compatible"),
    [("MIT", True), ("gpl-3.0", True), ("agpl-3.0", True), ("openrail", False), ("gemma", False)],
)
def test_agpl_code_conflicts_only_with_use_restrictions(model: str, compatible: bool) -> None:
    assert check_strings(model, "AGPL-3.0-only").compatible is compatible


def test_compatible_verdict_lists_obligations_of_both_sides() -> None:
    reasons = check_strings("llama3.1", "apache-2.0").reasons
    assert reasons[0].startswith("compatible")
    assert any("LicenseRef-Llama-3.1-Community" in r for r in reasons)
    assert any("Apache-2.0" in r for r in reasons)


def test_share_alike_model_keeps_weights_share_alike() -> None:
    verdict = check_strings("cc-by-sa-4.0", "MIT")
    assert verdict.compatible
    assert any("share-alike" in r and "fine-tuned weights" in r for r in verdict.reasons)
