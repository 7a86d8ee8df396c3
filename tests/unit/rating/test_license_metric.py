"""The license metric: permissiveness for company use times clarity of the declaration."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tmr.analysis.licenses import Family
from tmr.rating.evidence import FileFact, ModelEvidence, RepositoryEvidence
from tmr.rating.metrics.license import FAMILY_SCORES, compute, readme_license

DOCS = Path(__file__).resolve().parents[3] / "docs" / "licensing.md"


def evidence(
    card_license: Any = None,
    *,
    tags: tuple[str, ...] = (),
    api_license: str | None = None,
    readme_body: str = "# Model\n\nA model.\n",
    files: tuple[FileFact, ...] = (),
    repo_license: str | None = None,
) -> ModelEvidence:
    card: dict[str, Any] = {} if card_license is None else {"license": card_license}
    front = f"---\nlicense: {card_license}\n---\n" if isinstance(card_license, str) else ""
    repository = None
    if repo_license is not None:
        repository = RepositoryEvidence(
            url="https://github.com/o/r",
            full_name="o/r",
            license=repo_license,
            readme="",
            stars=0,
            forks=0,
            open_issues=0,
            archived=False,
            pushed_at=None,
            contributors=(),
            files=(),
            pulls=(),
        )
    return ModelEvidence(
        name="m",
        url="https://huggingface.co/o/m",
        readme=front + readme_body,
        card=card,
        card_error=None,
        license=api_license,
        downloads=0,
        likes=0,
        tags=tags,
        pipeline_tag=None,
        library_name=None,
        config=None,
        adapter_config=None,
        files=files,
        repository=repository,
        datasets=(),
    )


def test_ordering_for_company_use() -> None:
    scores = [compute(evidence(lic)) for lic in ("mit", "lgpl-3.0", "gpl-3.0", "cc-by-nc-4.0")]
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == 4
    assert scores[0] == 1.0


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        ("apache-2.0", "openrail"),
        ("openrail", "llama3.1"),
        ("llama3.1", "gpl-3.0"),
        ("gpl-3.0", "agpl-3.0"),
        ("agpl-3.0", "other"),
        ("cc-by-nd-4.0", "cc-by-nc-4.0"),
        ("cc-by-nc-4.0", "unknown"),
    ],
)
def test_family_order(better: str, worse: str) -> None:
    assert compute(evidence(better)) > compute(evidence(worse))


@pytest.mark.parametrize("card_license", [None, "unknown", "a license string that is no SPDX id"])
def test_unknown_or_missing_scores_zero(card_license: str | None) -> None:
    assert compute(evidence(card_license)) == 0.0


def test_clarity_card_over_tag_over_readme() -> None:
    card = compute(evidence("mit"))
    tag = compute(evidence(tags=("license:mit",)))
    api = compute(evidence(api_license="mit"))
    readme = compute(evidence(readme_body="# Model\n\n## License\n\nReleased under the MIT license.\n"))
    assert card > tag == api > readme > 0.0


def test_license_file_makes_a_tag_clearer_but_never_exceeds_one() -> None:
    license_file = (FileFact("LICENSE.txt", 1_000, "docs"),)
    assert compute(evidence(tags=("license:mit",), files=license_file)) > compute(
        evidence(tags=("license:mit",))
    )
    assert compute(evidence("mit", files=license_file)) == 1.0
    code_file = (FileFact("license_utils.py", 1_000, "code"),)
    assert compute(evidence(tags=("license:mit",), files=code_file)) == compute(
        evidence(tags=("license:mit",))
    )


def test_readme_contradicting_the_card_lowers_the_score() -> None:
    agreeing = evidence("apache-2.0", readme_body="## License\n\nApache License, Version 2.0.\n")
    contradicting = evidence("apache-2.0", readme_body="## License\n\nThis model is CC BY-NC 4.0.\n")
    assert compute(agreeing) == 1.0
    assert compute(contradicting) < compute(agreeing)


def test_repository_license_mismatch_lowers_the_score() -> None:
    same = compute(evidence("mit", repo_license="MIT"))
    other = compute(evidence("mit", repo_license="GPL-3.0"))
    unidentified = compute(evidence("mit", repo_license="NOASSERTION"))
    assert same == unidentified == 1.0
    assert 0.0 < other < same


def test_other_with_license_name_is_read_through() -> None:
    ev = replace(
        evidence("other", tags=("license:other",)), card={"license": "other", "license_name": "llama3"}
    )
    assert compute(ev) == compute(evidence("llama3"))


def test_card_license_list_applies_every_license() -> None:
    assert compute(evidence(["mit", "apache-2.0"])) == 1.0
    assert compute(evidence(["apache-2.0", "cc-by-nc-4.0"])) == compute(evidence("cc-by-nc-4.0"))


def test_never_constant_and_always_in_range() -> None:
    names = ["mit", "lgpl-3.0", "gpl-3.0", "agpl-3.0", "openrail", "gemma", "other", "cc-by-nd-4.0", None]
    scores = {compute(evidence(name)) for name in names}
    assert len(scores) >= 8
    assert all(0.0 <= s <= 1.0 for s in scores)


@pytest.mark.parametrize(
    ("body", "spdx"),
    [
        ("## License\n\nApache 2.0\n", "Apache-2.0"),
        ("## Licence\n\nLicensed under CC BY-NC-SA 4.0, see LICENSE.\n", "CC-BY-NC-SA-4.0"),
        ("## License\n\nThis model uses the Llama 3.1 license.\n", "LicenseRef-Llama-3.1-Community"),
        ("## License\n\nopenrail\n", "LicenseRef-OpenRAIL"),
        ("## License\n\nSee the LICENSE file.\n", None),
        ("## Usage\n\nMIT\n\n## License\n\nGPL-3.0\n", "GPL-3.0-only"),
        ("## License\n\n```\nMIT\n```\n", None),  # code blocks are not prose
        ("MIT everywhere but no section\n", None),
    ],
)
def test_readme_license_section(body: str, spdx: str | None) -> None:
    assert readme_license(body).spdx == spdx


def test_docs_reproduce_the_score_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for family, score in FAMILY_SCORES.items():
        assert f"| {family.value} | {score} |" in text
    assert set(FAMILY_SCORES) == set(Family)
