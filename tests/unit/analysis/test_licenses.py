"""License normalisation: SPDX ids and expressions, Hub ids, free spellings, junk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tmr.analysis.licenses import _CUSTOM, Family, normalize


@pytest.mark.parametrize(
    ("raw", "spdx", "family"),
    [
        ("MIT", "MIT", Family.PERMISSIVE),
        ("mit", "MIT", Family.PERMISSIVE),
        ("apache-2.0", "Apache-2.0", Family.PERMISSIVE),
        ("Apache-2.0", "Apache-2.0", Family.PERMISSIVE),
        ("bsd-3-clause", "BSD-3-Clause", Family.PERMISSIVE),
        ("cc-by-4.0", "CC-BY-4.0", Family.PERMISSIVE),
        ("CC0-1.0", "CC0-1.0", Family.PUBLIC_DOMAIN),
        ("Unlicense", "Unlicense", Family.PUBLIC_DOMAIN),
        ("lgpl-3.0", "LGPL-3.0-only", Family.WEAK_COPYLEFT),
        ("MPL-2.0", "MPL-2.0", Family.WEAK_COPYLEFT),
        ("gpl-3.0", "GPL-3.0-only", Family.STRONG_COPYLEFT),
        ("GPL-2.0+", "GPL-2.0-or-later", Family.STRONG_COPYLEFT),
        ("cc-by-sa-4.0", "CC-BY-SA-4.0", Family.STRONG_COPYLEFT),
        ("agpl-3.0", "AGPL-3.0-only", Family.NETWORK_COPYLEFT),
        ("cc-by-nc-4.0", "CC-BY-NC-4.0", Family.NON_COMMERCIAL),
        ("cc-by-nc-sa-4.0", "CC-BY-NC-SA-4.0", Family.NON_COMMERCIAL),
        ("CC-BY-NC-ND-4.0", "CC-BY-NC-ND-4.0", Family.NON_COMMERCIAL),
        ("cc-by-nd-4.0", "CC-BY-ND-4.0", Family.NO_DERIVATIVES),
        ("Beerware", "Beerware", Family.OTHER),  # SPDX lists it; its terms are not classified
    ],
)
def test_spdx_ids(raw: str, spdx: str, family: Family) -> None:
    lic = normalize(raw)
    assert (lic.spdx, lic.family, lic.raw) == (spdx, family, raw)
    assert lic.ids == (spdx,)


@pytest.mark.parametrize(
    ("raw", "spdx", "family"),
    [
        ("openrail", "LicenseRef-OpenRAIL", Family.RESPONSIBLE_AI),
        ("openrail++", "LicenseRef-OpenRAIL-PlusPlus", Family.RESPONSIBLE_AI),
        ("bigscience-openrail-m", "LicenseRef-BigScience-OpenRAIL-M", Family.RESPONSIBLE_AI),
        ("creativeml-openrail-m", "LicenseRef-CreativeML-OpenRAIL-M", Family.RESPONSIBLE_AI),
        ("llama2", "LicenseRef-Llama-2-Community", Family.LLAMA_STYLE),
        ("llama3", "LicenseRef-Llama-3-Community", Family.LLAMA_STYLE),
        ("llama3.1", "LicenseRef-Llama-3.1-Community", Family.LLAMA_STYLE),
        ("llama3.2", "LicenseRef-Llama-3.2-Community", Family.LLAMA_STYLE),
        ("gemma", "LicenseRef-Gemma-Terms", Family.LLAMA_STYLE),
        ("other", "LicenseRef-other", Family.OTHER),
        ("Other", "LicenseRef-other", Family.OTHER),  # GitHub's name for an unidentified license
    ],
)
def test_hub_ids_that_are_not_spdx(raw: str, spdx: str, family: Family) -> None:
    lic = normalize(raw)
    assert (lic.spdx, lic.family) == (spdx, family)


@pytest.mark.parametrize("key", sorted(_CUSTOM))
def test_own_ids_normalise_to_themselves(key: str) -> None:
    first = normalize(key)
    assert first.spdx is not None
    again = normalize(first.spdx)
    assert (again.spdx, again.family) == (first.spdx, first.family)


def test_docs_list_every_hub_id() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "licensing.md").read_text(encoding="utf-8")
    for key, (spdx, family) in _CUSTOM.items():
        assert f"| `{key}` | `{spdx}` | `{family.value}` |" in docs


@pytest.mark.parametrize(
    ("raw", "spdx"),
    [
        ("Apache License 2.0", "Apache-2.0"),
        ("Apache License, Version 2.0", "Apache-2.0"),
        ("MIT License", "MIT"),
        ("the MIT license", "MIT"),
        ("GPLv3", "GPL-3.0-only"),
        ("Llama 3.1 Community License Agreement", "LicenseRef-Llama-3.1-Community"),
        ("MIT/Apache-2.0", "MIT OR Apache-2.0"),
    ],
)
def test_free_spellings(raw: str, spdx: str) -> None:
    assert normalize(raw).spdx == spdx


def test_or_expression_is_judged_by_its_best_choice() -> None:
    lic = normalize("GPL-3.0 OR MIT")
    assert lic.spdx == "GPL-3.0-only OR MIT"
    assert lic.family is Family.PERMISSIVE
    assert lic.ids == ("GPL-3.0-only", "MIT")
    assert not lic.share_alike


def test_and_expression_carries_every_term() -> None:
    lic = normalize("Apache-2.0 AND MIT")
    assert (lic.spdx, lic.family) == ("Apache-2.0 AND MIT", Family.PERMISSIVE)
    mixed = normalize("MIT AND cc-by-nc-sa-4.0")
    assert mixed.family is Family.NON_COMMERCIAL
    assert not mixed.commercial_use
    assert mixed.share_alike
    assert mixed.attribution


def test_expressions_mix_hub_ids_and_spdx() -> None:
    lic = normalize("llama2 OR MIT")
    assert lic.spdx == "LicenseRef-Llama-2-Community OR MIT"
    assert lic.family is Family.PERMISSIVE
    assert normalize("openrail AND apache-2.0").family is Family.RESPONSIBLE_AI


def test_linking_exception_softens_copyleft() -> None:
    lic = normalize("GPL-2.0-only WITH Classpath-exception-2.0")
    assert lic.spdx == "GPL-2.0-only WITH Classpath-exception-2.0"
    assert lic.family is Family.WEAK_COPYLEFT


def test_unidentified_alternatives_are_dropped_but_unidentified_terms_are_not() -> None:
    assert normalize("garbage OR MIT").spdx == "MIT"
    assert normalize("MIT AND garbage").family is Family.UNKNOWN


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "unknown",
        "NOASSERTION",
        "noassertion",
        "a license string that is no SPDX id",
        "MIT OR",
        "((MIT",
        "Apache-2.0, MIT",
        "WITH",
        "MIT AND AND X",
        "x" * 5000,
        "MIT\n" * 100,
    ],
)
def test_unknown_never_raises_and_keeps_raw(raw: str | None) -> None:
    lic = normalize(raw)
    assert lic.family is Family.UNKNOWN
    assert not lic.known
    assert lic.spdx is None
    assert lic.raw == raw
    assert not any((lic.commercial_use, lic.modification, lic.distribution))


@pytest.mark.parametrize(
    ("raw", "rights"),
    [
        # (commercial_use, modification, distribution, share_alike, use_restrictions, attribution)
        ("MIT", (True, True, True, False, False, True)),
        ("CC0-1.0", (True, True, True, False, False, False)),
        ("gpl-3.0", (True, True, True, True, False, True)),
        ("cc-by-sa-4.0", (True, True, True, True, False, True)),
        ("cc-by-nd-4.0", (True, False, True, False, False, True)),
        ("CC-BY-NC-ND-4.0", (False, False, True, False, False, True)),
        ("openrail", (True, True, True, False, True, True)),
        ("llama3", (True, True, True, False, True, True)),
    ],
)
def test_rights_and_terms(raw: str, rights: tuple[bool, ...]) -> None:
    lic = normalize(raw)
    rights_granted = (lic.commercial_use, lic.modification, lic.distribution)
    conditions = (lic.share_alike, lic.use_restrictions, lic.attribution)
    assert rights_granted + conditions == rights


def test_label_names_what_was_given() -> None:
    assert normalize("mit").label == "MIT"
    assert normalize("not a license").label == "'not a license'"
    assert normalize(None).label == "none"
    assert [normalize(raw).raw for raw in ("mit", "not a license", None)] == ["mit", "not a license", None]
