"""license: how clearly the model is licensed, and how freely a company may use it.

score = permissiveness * clarity, in [0, 1].

Permissiveness is the family of the declared license (tmr.analysis.licenses), from what a company
that fine-tunes and serves a model can do with it (`FAMILY_SCORES`): public domain and permissive
1.0; weak copyleft 0.8; responsible-AI (OpenRAIL) 0.6 and Llama-style 0.55, usable with obligations
that travel downstream (the latter adds naming rules and user thresholds); strong copyleft 0.5;
network copyleft 0.4; custom terms ("other") 0.25, usable only after a legal reading; no-derivatives
0.15 (a fine-tune is a derivative); non-commercial 0.1; no license, or none recognisable, 0.

Clarity is where the license is declared, the first recognisable of: the card's `license` metadata
(1.0), a `license:` tag or the license recorded at registration (0.9), only a License section of the
README (0.7). A LICENSE/COPYING file in the model's files adds 0.05 (at most 1.0). Disagreement
lowers it: another of those declarations naming a different license: * 0.8; the linked repository's
license (GitHub) differing: * 0.9 (code may be licensed apart from weights, but a reader must now
ask).
"""

from __future__ import annotations

import re

from tmr.analysis.licenses import Family, License, normalize
from tmr.rating.evidence import ModelEvidence
from tmr.rating.metrics.common import as_list, card_body, clamp01, file_name

FAMILY_SCORES: dict[Family, float] = {
    Family.PUBLIC_DOMAIN: 1.0,
    Family.PERMISSIVE: 1.0,
    Family.WEAK_COPYLEFT: 0.8,
    Family.RESPONSIBLE_AI: 0.6,
    Family.LLAMA_STYLE: 0.55,
    Family.STRONG_COPYLEFT: 0.5,
    Family.NETWORK_COPYLEFT: 0.4,
    Family.OTHER: 0.25,
    Family.NO_DERIVATIVES: 0.15,
    Family.NON_COMMERCIAL: 0.1,
    Family.UNKNOWN: 0.0,
}
CLARITY = {"card": 1.0, "tag": 0.9, "readme": 0.7}
LICENSE_FILE_BONUS = 0.05
INTERNAL_MISMATCH = 0.8
REPOSITORY_MISMATCH = 0.9

_LICENSE_FILES = ("license", "licence", "copying")
# A License section is short: reading further finds other topics, and README text is untrusted,
# so the work done on it is bounded (section size, id-looking words parsed).
_SECTION_LINES = 40
_SECTION_CHARS = 4_000
_MAX_CANDIDATES = 20
# Multi-word spellings, rewritten to an id before the section is split into words.
_PHRASES = (
    (re.compile(r"\bapache(?:[ -]license)?,?(?:[ -]version)?[ -]?2(?:\.0)?\b", re.IGNORECASE), "Apache-2.0"),
    (re.compile(r"\bcc[ -]by((?:[ -](?:nc|nd|sa))*)[ -](\d\.\d)\b", re.IGNORECASE), None),
    (re.compile(r"\bllama[ -]?(\d(?:\.\d)?)\b", re.IGNORECASE), None),
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]{0,38}[A-Za-z0-9+]")
_ID_WORDS = frozenset({"openrail", "openrail++", "gemma", "unlicense", "deepseek"})


def compute(evidence: ModelEvidence) -> float:
    declarations = _declarations(evidence)
    found = next(((source, lic) for source, lic in declarations if lic.known), None)
    if found is None:
        return 0.0
    source, declared = found
    clarity = CLARITY[source]
    if any(file_name(f.path).startswith(_LICENSE_FILES) and f.kind != "code" for f in evidence.files):
        clarity = min(1.0, clarity + LICENSE_FILE_BONUS)
    if any(_differs(lic, declared) for _, lic in declarations):
        clarity *= INTERNAL_MISMATCH
    if evidence.repository is not None:
        code = normalize(evidence.repository.license)
        if code.known and _differs(code, declared):
            clarity *= REPOSITORY_MISMATCH
    return round(clamp01(FAMILY_SCORES[declared.family] * clarity), 4)


def _declarations(evidence: ModelEvidence) -> list[tuple[str, License]]:
    """Every place the model states a license, most authoritative first."""
    found: list[tuple[str, License]] = []
    card = evidence.card
    # A list in the card: every license named applies (the conservative reading).
    values = [str(v).strip() for v in as_list(card.get("license"))]
    if values:
        name = card.get("license_name")
        if values == ["other"] and isinstance(name, str) and name.strip():
            values = [name]
        joined = values[0] if len(values) == 1 else " AND ".join(f"({v})" for v in values)
        found.append(("card", normalize(joined)))
    for tag in evidence.tags:
        if tag.startswith("license:"):
            found.append(("tag", normalize(tag.split(":", 1)[1])))
    if evidence.license is not None:
        found.append(("tag", normalize(evidence.license)))
    found.append(("readme", readme_license(evidence.readme)))
    return found


def _differs(other: License, declared: License) -> bool:
    """Two recognised licenses with no id in common. A bare "other" only points elsewhere (the
    card's `license_name`, a LICENSE file), so it contradicts nothing."""
    if not other.known or other.spdx == "LicenseRef-other":
        return False
    return not set(other.ids) & set(declared.ids)


def readme_license(readme: str) -> License:
    """The first license a README's License section names; UNKNOWN when none is recognisable."""
    section = _license_section(readme)[:_SECTION_CHARS]
    for pattern, replacement in _PHRASES:
        section = pattern.sub(replacement or _hyphenated, section)
    candidates = [
        word
        for word in dict.fromkeys(_WORD.findall(section))
        if any(c.isdigit() or c == "-" for c in word) or word.isupper() or word.lower() in _ID_WORDS
    ]  # plain prose words are not ids and are not parsed
    for word in candidates[:_MAX_CANDIDATES]:
        lic = normalize(word)
        if lic.known and lic.family is not Family.OTHER:
            return lic
    return normalize(None)


def _hyphenated(match: re.Match[str]) -> str:
    text = match.group(0).lower()
    if text.startswith("llama"):
        return "llama" + match.group(1)
    return "cc-by" + match.group(1).replace(" ", "-").lower() + "-" + match.group(2)


def _license_section(readme: str) -> str:
    """The prose under the first heading that mentions a license, up to the next heading."""
    if "licen" not in readme.lower():
        return ""
    lines: list[str] = []
    inside = False
    fence = ""
    for line in card_body(readme).splitlines():
        stripped = line.strip()
        if fence or stripped.startswith(("```", "~~~")):  # code blocks are not prose
            if not fence:
                fence = stripped[:3]
            elif stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = ""
            continue
        if stripped.startswith("#"):
            if inside:
                break
            inside = "licen" in stripped.lower()
        elif inside:
            lines.append(line)
            if len(lines) >= _SECTION_LINES:
                break
    return "\n".join(lines)
