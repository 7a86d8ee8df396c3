"""License normalisation: free strings (SPDX, Hugging Face ids, GitHub names) to a `License`.

A `License` carries an SPDX expression (or a stable `LicenseRef-…` id for model licenses SPDX does
not list), a `Family` that the compatibility rules and the license metric reason over, and the
rights and conditions of that family (after ModelGo: rights granted, conditions attached).
Nothing here raises on bad input: what cannot be identified is `Family.UNKNOWN`, raw text kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any

from license_expression import Licensing, get_spdx_licensing


class Family(StrEnum):
    """License families, ordered from least to most restrictive for a company that fine-tunes
    a model and serves it; `AND` keeps the most restrictive member, `OR` the least."""

    PUBLIC_DOMAIN = "public-domain"
    PERMISSIVE = "permissive"
    WEAK_COPYLEFT = "weak-copyleft"
    RESPONSIBLE_AI = "responsible-ai"  # OpenRAIL: use-based restrictions that travel downstream
    LLAMA_STYLE = "llama-style"  # vendor community license: AUP, naming, user thresholds
    STRONG_COPYLEFT = "strong-copyleft"
    NETWORK_COPYLEFT = "network-copyleft"
    OTHER = "other"  # custom or proprietary terms that need a human reading
    NO_DERIVATIVES = "no-derivatives"
    NON_COMMERCIAL = "non-commercial"
    UNKNOWN = "unknown"  # nothing declared, or nothing recognisable


_RANK = {family: rank for rank, family in enumerate(Family)}

# Default terms per family: (commercial_use, modification, distribution, share_alike,
# use_restrictions, attribution). UNKNOWN and OTHER grant nothing that can be relied on.
_TERMS: dict[Family, tuple[bool, bool, bool, bool, bool, bool]] = {
    Family.PUBLIC_DOMAIN: (True, True, True, False, False, False),
    Family.PERMISSIVE: (True, True, True, False, False, True),
    Family.WEAK_COPYLEFT: (True, True, True, True, False, True),
    Family.RESPONSIBLE_AI: (True, True, True, False, True, True),
    Family.LLAMA_STYLE: (True, True, True, False, True, True),
    Family.STRONG_COPYLEFT: (True, True, True, True, False, True),
    Family.NETWORK_COPYLEFT: (True, True, True, True, False, True),
    Family.OTHER: (False, False, False, False, False, False),
    Family.NO_DERIVATIVES: (True, False, True, False, False, True),
    Family.NON_COMMERCIAL: (False, True, True, False, False, True),
    Family.UNKNOWN: (False, False, False, False, False, False),
}

# SPDX ids by prefix; the first match wins, so the narrower Creative Commons variants come first.
_SPDX_PREFIXES: tuple[tuple[str, Family], ...] = (
    ("CC-BY-NC", Family.NON_COMMERCIAL),
    ("PolyForm-Noncommercial", Family.NON_COMMERCIAL),
    ("CC-BY-ND", Family.NO_DERIVATIVES),
    ("CC-BY-SA", Family.STRONG_COPYLEFT),
    ("CC-BY-", Family.PERMISSIVE),
    ("CC0-", Family.PUBLIC_DOMAIN),
    ("AGPL-", Family.NETWORK_COPYLEFT),
    ("OSL-", Family.NETWORK_COPYLEFT),
    ("LGPL-", Family.WEAK_COPYLEFT),
    ("GPL-", Family.STRONG_COPYLEFT),
    ("GFDL-", Family.STRONG_COPYLEFT),
    ("EUPL-", Family.STRONG_COPYLEFT),
    ("CDLA-Sharing", Family.STRONG_COPYLEFT),
    ("ODbL", Family.STRONG_COPYLEFT),
    ("MPL-", Family.WEAK_COPYLEFT),
    ("EPL-", Family.WEAK_COPYLEFT),
    ("CDDL-", Family.WEAK_COPYLEFT),
    ("MS-", Family.WEAK_COPYLEFT),
    ("Apache-", Family.PERMISSIVE),
    ("BSD-", Family.PERMISSIVE),
    ("MIT", Family.PERMISSIVE),
    ("CDLA-Permissive", Family.PERMISSIVE),
    ("ODC-By", Family.PERMISSIVE),
)
_SPDX_EXACT: dict[str, Family] = {
    **dict.fromkeys(("Unlicense", "0BSD", "PDDL-1.0"), Family.PUBLIC_DOMAIN),
    **dict.fromkeys(
        [
            *("ISC", "Zlib", "BSL-1.0", "AFL-3.0", "Artistic-2.0", "PostgreSQL", "Python-2.0", "PSF-2.0"),
            *("NCSA", "ECL-2.0", "UPL-1.0", "X11", "WTFPL", "BlueOak-1.0.0", "etalab-2.0"),
        ],
        Family.PERMISSIVE,
    ),
    **dict.fromkeys(("SSPL-1.0", "RPL-1.5", "CPAL-1.0"), Family.NETWORK_COPYLEFT),
}
# Exceptions that lift the copyleft off works that merely link to the code.
_LINKING_EXCEPTIONS = frozenset({"Classpath-exception-2.0", "GCC-exception-3.1", "LLVM-exception"})

# Model licenses of the Hugging Face Hub that SPDX does not list: key -> (stable id, family).
_CUSTOM: dict[str, tuple[str, Family]] = {
    "openrail": ("LicenseRef-OpenRAIL", Family.RESPONSIBLE_AI),
    "openrail++": ("LicenseRef-OpenRAIL-PlusPlus", Family.RESPONSIBLE_AI),
    "bigscience-openrail-m": ("LicenseRef-BigScience-OpenRAIL-M", Family.RESPONSIBLE_AI),
    "creativeml-openrail-m": ("LicenseRef-CreativeML-OpenRAIL-M", Family.RESPONSIBLE_AI),
    "bigcode-openrail-m": ("LicenseRef-BigCode-OpenRAIL-M", Family.RESPONSIBLE_AI),
    "bigscience-bloom-rail-1.0": ("LicenseRef-BigScience-BLOOM-RAIL-1.0", Family.RESPONSIBLE_AI),
    "deepseek": ("LicenseRef-DeepSeek", Family.RESPONSIBLE_AI),
    "llama2": ("LicenseRef-Llama-2-Community", Family.LLAMA_STYLE),
    "llama3": ("LicenseRef-Llama-3-Community", Family.LLAMA_STYLE),
    "llama3.1": ("LicenseRef-Llama-3.1-Community", Family.LLAMA_STYLE),
    "llama3.2": ("LicenseRef-Llama-3.2-Community", Family.LLAMA_STYLE),
    "llama3.3": ("LicenseRef-Llama-3.3-Community", Family.LLAMA_STYLE),
    "llama4": ("LicenseRef-Llama-4-Community", Family.LLAMA_STYLE),
    "gemma": ("LicenseRef-Gemma-Terms", Family.LLAMA_STYLE),
    "tongyi-qianwen": ("LicenseRef-Tongyi-Qianwen", Family.LLAMA_STYLE),
    "deepfloyd-if-license": ("LicenseRef-DeepFloyd-IF", Family.NON_COMMERCIAL),
    "apple-amlr": ("LicenseRef-Apple-AMLR", Family.NON_COMMERCIAL),
    "public-domain": ("LicenseRef-Public-Domain", Family.PUBLIC_DOMAIN),
    "other": ("LicenseRef-other", Family.OTHER),
}
_BY_REF = {ref.lower(): key for key, (ref, _) in _CUSTOM.items()}
# Free spellings seen in cards and GitHub names, after `_simplify`.
_ALIASES = {
    "apache2": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "gplv2": "GPL-2.0-only",
    "gplv3": "GPL-3.0-only",
    "lgplv3": "LGPL-3.0-only",
    "agplv3": "AGPL-3.0-only",
    "cc0": "CC0-1.0",
}
_NO_LICENSE = frozenset({"unknown", "noassertion", "none", "no-license"})
_MAX_ID_LENGTH = 200  # longer input is license text, not an identifier


@dataclass(frozen=True, slots=True)
class License:
    """A normalised license: what it is called and what it lets a company do."""

    raw: str | None
    spdx: str | None  # SPDX expression, LicenseRef ids included; None when UNKNOWN
    family: Family
    commercial_use: bool
    modification: bool
    distribution: bool
    share_alike: bool
    use_restrictions: bool
    attribution: bool
    ids: tuple[str, ...] = ()  # the license ids the expression names

    @property
    def known(self) -> bool:
        return self.family is not Family.UNKNOWN

    @property
    def label(self) -> str:
        """How reasons and documents name it."""
        return self.spdx or (f"'{self.raw}'" if self.raw and self.raw.strip() else "none")


def normalize(raw: str | None) -> License:
    """Map a license string (SPDX expression, Hub id, GitHub name, or junk) to a `License`."""
    text = (raw or "").strip()
    found = _identify(text) if text and len(text) <= _MAX_ID_LENGTH else None
    if found is None or not found.known:
        return _unknown(raw)
    return replace(found, raw=raw)


@lru_cache(maxsize=4096)  # a rating batch names the same few licenses over and over
def _identify(text: str) -> License | None:
    found = _lookup(text)
    # As written first; then "MIT/Apache-2.0" read as a choice; then free prose simplified.
    for candidate in dict.fromkeys((text, text.replace("/", " OR "), _simplify(text))):
        if found is not None:
            break
        expression = _parse(candidate)
        parsed = _from_expression(expression, _licensing()) if expression is not None else None
        found = parsed if parsed is not None and parsed.known else None
    return found


def _unknown(raw: str | None) -> License:
    return _make(None, Family.UNKNOWN, raw=raw)


def _terms_of(lic: License) -> tuple[bool, bool, bool, bool, bool, bool]:
    return (
        lic.commercial_use,
        lic.modification,
        lic.distribution,
        lic.share_alike,
        lic.use_restrictions,
        lic.attribution,
    )


def _make(spdx: str | None, family: Family, raw: str | None = None) -> License:
    commercial, modification, distribution, share_alike, restricted, attribution = _TERMS[family]
    if spdx and spdx.startswith("CC-BY-"):  # the Creative Commons id spells its own terms
        share_alike = "-SA" in spdx
        modification = "-ND" not in spdx
    ids = (spdx,) if spdx else ()
    terms = (commercial, modification, distribution, share_alike, restricted, attribution)
    return License(raw, spdx, family, *terms, ids=ids)


@cache
def _licensing() -> Licensing:
    return get_spdx_licensing()


def _parse(text: str) -> Any:
    # The library raises assorted errors on malformed input (even AttributeError in places):
    # whatever it cannot parse is simply not identified.
    try:
        return _licensing().parse(text, validate=False)
    except Exception:
        return None


def _simplify(text: str) -> str:
    lowered = re.sub(r"\b(the|licen[cs]e|version|community|agreement)\b|,", " ", text.lower())
    return re.sub(r"[\s_]+", "-", lowered.strip()).strip("-")


def _lookup(text: str) -> License | None:
    """Ids that are not SPDX: Hub ids, our own LicenseRef ids, free spellings."""
    for key in (text.lower(), _simplify(text), re.sub(r"(?<=[a-z])-(?=\d)", "", _simplify(text))):
        if key in _NO_LICENSE:
            return _unknown(text)
        if key in _BY_REF:
            key = _BY_REF[key]
        if key in _CUSTOM:
            return _make(*_CUSTOM[key])
        if key in _ALIASES:
            return _leaf(_ALIASES[key])
    return None


def _leaf(key: str) -> License:
    if key in _SPDX_EXACT:
        return _make(key, _SPDX_EXACT[key])
    family = next((f for prefix, f in _SPDX_PREFIXES if key.startswith(prefix)), Family.OTHER)
    return _make(key, family)


def _symbol(symbol: Any, licensing: Licensing) -> License:
    key = str(symbol.key)
    if key in licensing.known_symbols:
        return _leaf(key)
    found = _lookup(key)
    if found is None:
        simplified = _parse(_simplify(key))
        if simplified is not None and getattr(simplified, "key", None) in licensing.known_symbols:
            return _leaf(str(simplified.key))
    return found or _unknown(key)


def _from_expression(node: Any, licensing: Licensing) -> License:
    if hasattr(node, "exception_symbol"):  # `X WITH exception`
        base = _symbol(node.license_symbol, licensing)
        exception = str(node.exception_symbol.key)
        family = base.family
        if family is Family.STRONG_COPYLEFT and exception in _LINKING_EXCEPTIONS:
            family = Family.WEAK_COPYLEFT
        return _make(f"{base.spdx} WITH {exception}", family) if base.known else base
    if hasattr(node, "key"):
        return _symbol(node, licensing)
    parts = [_from_expression(arg, licensing) for arg in node.args]
    if isinstance(node, licensing.OR):
        # The licensee picks: keep the alternatives that are identified, judge by the best one.
        known = [part for part in parts if part.known] or parts
        return _combine(known, " OR ", best=min(known, key=lambda p: _RANK[p.family]))
    return _combine(parts, " AND ", best=None)


def _combine(parts: list[License], operator: str, best: License | None) -> License:
    spdx = operator.join(f"({p.spdx})" if p.spdx and " " in p.spdx else str(p.spdx) for p in parts)
    ids = tuple(dict.fromkeys(i for p in parts for i in p.ids))
    if best is not None:  # OR: the chosen alternative's terms
        terms = _terms_of(best)
        family = best.family
    else:  # AND: every right must be granted by all, every condition of any applies
        family = max((p.family for p in parts), key=_RANK.__getitem__)
        rights = [all(t) for t in zip(*(_terms_of(p)[:3] for p in parts), strict=True)]
        conditions = [any(t) for t in zip(*(_terms_of(p)[3:] for p in parts), strict=True)]
        terms = (rights[0], rights[1], rights[2], conditions[0], conditions[1], conditions[2])
    if family is Family.UNKNOWN:
        return _unknown(None)
    return License(None, spdx, family, *terms, ids=ids)
