"""How one artifact name imitates another, by category (pure: no I/O).

The categories follow Neupane et al. (USENIX Security 2023) and ConfuGuard: typos, Unicode
confusables (TR39 skeletons), delimiter swaps, added prefixes/suffixes, reordered tokens,
organisation confusion, case-only changes and version tweaks. Edit distances come from rapidfuzz
and the confusable mapping from Unicode's confusables.txt as shipped by confusable-homoglyphs, so
no matching table is written by hand. Legitimate siblings (``bert-base-cased`` beside
``bert-base-uncased``, ``llama-2-13b`` beside ``llama-2-7b`` from the same organisation) are not
imitations: see ``VARIANT_WORDS``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterable, Sequence, Sized
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from itertools import islice

from confusable_homoglyphs import confusables as _confusables
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

# Hugging Face allows 96 characters per part; anything longer is cut before comparing, so a
# hostile name cannot make the quadratic distances slow.
MAX_NAME_LENGTH = 200

_DELIMITERS = re.compile(r"[-_.\s]+")
_DIGITS = re.compile(r"\d+")
# Words that name a legitimate sibling of a model (size, casing, tuning): two names differing
# only in these are a family, not an imitation.
VARIANT_WORDS = frozenset(
    {
        "cased", "uncased", "base", "large", "small", "tiny", "mini", "medium", "xl", "xxl",
        "xlarge", "huge", "chat", "instruct", "it", "multilingual", "en", "de", "fr", "zh",
        "distilled", "whole", "word", "masking",
    }
)  # fmt: skip
# QWERTY rows: used only to describe a typo's evidence ("adjacent key"), not to decide one.
_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


class Category(StrEnum):
    TYPO = "typo"
    HOMOGLYPH = "homoglyph"
    DELIMITER = "delimiter"
    AFFIX = "affix"
    REORDER = "reorder"
    NAMESPACE = "namespace"
    CASE = "case"
    VERSION = "version"


# How strongly each category alone says "imitation" (the name similarity of a match).
CATEGORY_WEIGHTS: dict[Category, float] = {
    Category.HOMOGLYPH: 1.0,
    Category.CASE: 0.9,
    Category.DELIMITER: 0.9,
    Category.TYPO: 0.9,  # one edit; 0.75 for two
    Category.NAMESPACE: 0.9,  # look-alike organisation; 0.8 for an unrelated one
    Category.REORDER: 0.8,
    Category.AFFIX: 0.8,
    Category.VERSION: 0.7,
}


@dataclass(frozen=True)
class Imitation:
    category: Category
    evidence: str
    similarity: float


@dataclass(frozen=True)
class NameMatch:
    """``suspect`` imitates ``target``: each way it does, and how closely (0 to 1)."""

    suspect: str
    target: str
    imitations: tuple[Imitation, ...]
    similarity: float

    @property
    def categories(self) -> tuple[Category, ...]:
        return tuple(dict.fromkeys(i.category for i in self.imitations))


def split_name(name: str) -> tuple[str | None, str]:
    """``org/name`` → (org, name); a registry name without an organisation → (None, name)."""
    name = name[:MAX_NAME_LENGTH].strip()
    org, slash, base = name.partition("/")
    return (org, base) if slash else (None, name)


@cache
def _prototypes() -> dict[str, str]:
    """Each confusable character → its prototype, from the library's confusables.txt data."""
    data = _confusables.confusables_data
    clean = {k: [h["c"].replace("\u200e", "") for h in v] for k, v in data.items() if len(k) == 1}
    mapping: dict[str, str] = {}
    for char, glyphs in clean.items():
        if len(glyphs) != 1 or glyphs[0] == char:
            continue  # a prototype lists all its sources; a source lists its one prototype
        target = glyphs[0]
        if clean.get(target) == [char]:  # a mutual pair: pick one side, ASCII first
            target = min(char, target, key=lambda c: (not c.isascii(), c))
        mapping[char] = target
    return mapping


@lru_cache(maxsize=65_536)
def skeleton(text: str) -> str:
    """The TR39 skeleton: NFD, every character to its confusable prototype, NFD again."""
    table = _prototypes()
    decomposed = unicodedata.normalize("NFD", text[:MAX_NAME_LENGTH])
    mapped = "".join(table.get(c, c) for c in decomposed)
    return unicodedata.normalize("NFD", mapped)


def tokens(text: str) -> list[str]:
    return [t for t in _DELIMITERS.split(text) if t]


@lru_cache(maxsize=65_536)
def _key(text: str) -> str:
    """Case, confusables and delimiters folded away: what a reader's eye compares."""
    return "".join(tokens(skeleton(_plain(text))))


def _adjacent(a: str, b: str) -> bool:
    for row in _ROWS:
        i, j = row.find(a), row.find(b)
        if i >= 0 and j >= 0 and abs(i - j) == 1:
            return True
    return False


def _describe_edits(suspect: str, target: str) -> str:
    """Say what each edit is: adjacent key, doubled or missing character, transposition."""
    if OSA.distance(target, suspect) < Levenshtein.distance(target, suspect):
        return "adjacent characters swapped"
    parts = []
    for op in Levenshtein.editops(target, suspect):
        if op.tag == "replace":
            t, s = target[op.src_pos], suspect[op.dest_pos]
            parts.append(f"'{t}'→'{s}'" + (" (adjacent key)" if _adjacent(t.lower(), s.lower()) else ""))
        elif op.tag == "insert":
            s = suspect[op.dest_pos]
            doubled = op.dest_pos > 0 and suspect[op.dest_pos - 1] == s
            parts.append(f"'{s}' {'doubled' if doubled else 'inserted'}")
        else:
            parts.append(f"'{target[op.src_pos]}' missing")
    return ", ".join(parts)


@lru_cache(maxsize=65_536)
def _plain(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@lru_cache(maxsize=65_536)
def _words(text: str) -> tuple[str, ...]:
    """The words as typed (case folded, NFKC); cached: each name is compared with many."""
    return tuple(tokens(_plain(text)))


def _variant_only(a: Sequence[str], b: Sequence[str]) -> bool:
    """The two names differ only in sibling words (a model family, not a look-alike).

    Sizes and versions are not in it: another org's ``gemma-8b`` is a version tweak; the same
    org's is its own (``compare`` drops VERSION for the same owner).
    """
    diff = set(a) ^ set(b)
    return bool(diff) and all(t in VARIANT_WORDS for t in diff)


def compare_parts(suspect: str, target: str) -> list[Imitation]:
    """How the string ``suspect`` imitates ``target`` (one part: an organisation or a name)."""
    if suspect == target or not suspect or not target:
        return []
    if suspect.casefold() == target.casefold():
        return [Imitation(Category.CASE, f"'{suspect}' differs from '{target}' only in case", 0.9)]
    s_skel, t_skel = skeleton(suspect), skeleton(target)
    if s_skel == t_skel or skeleton(_plain(suspect)) == skeleton(_plain(target)):
        return [Imitation(Category.HOMOGLYPH, f"same confusable skeleton '{t_skel}'", 1.0)]
    # Words compared as typed (case folded, NFKC): skeletons would turn digits into letters.
    s_tokens, t_tokens = list(_words(suspect)), list(_words(target))
    if s_tokens == t_tokens:
        return [Imitation(Category.DELIMITER, f"same words {t_tokens} with other delimiters", 0.9)]
    if "".join(s_tokens) == "".join(t_tokens):
        return [Imitation(Category.DELIMITER, f"delimiters removed or added in {t_tokens}", 0.9)]
    if sorted(s_tokens) == sorted(t_tokens):
        return [Imitation(Category.REORDER, f"words {t_tokens} reordered as {s_tokens}", 0.8)]
    if _variant_only(s_tokens, t_tokens):
        return []
    n = len(t_tokens)
    added = len(s_tokens) - n
    if 0 < added <= 3:  # each added word makes the imitation weaker: 0.8, 0.7, 0.6
        similarity = 0.9 - 0.1 * added
        if s_tokens[-n:] == t_tokens:
            extra = "-".join(s_tokens[:-n])
            return [Imitation(Category.AFFIX, f"prefix '{extra}' added to '{target}'", similarity)]
        if s_tokens[:n] == t_tokens:
            extra = "-".join(s_tokens[n:])
            return [Imitation(Category.AFFIX, f"suffix '{extra}' added to '{target}'", similarity)]
    s_key, t_key = "".join(s_tokens), "".join(t_tokens)
    if s_key != t_key and _DIGITS.sub("#", s_key) == _DIGITS.sub("#", t_key):
        similarity = 0.7 if Levenshtein.distance(s_key, t_key) == 1 else 0.6
        return [Imitation(Category.VERSION, f"numbers changed: '{target}' → '{suspect}'", similarity)]
    if s_tokens[: len(t_tokens)] == t_tokens or t_tokens[: len(s_tokens)] == s_tokens:
        return []  # a whole word added or dropped (google, google-t5) is not a typo
    s_key, t_key = _key(suspect), _key(target)
    distance = OSA.distance(t_key, s_key, score_cutoff=3)
    limit = 1 if len(t_key) < 6 else 2
    if 0 < distance <= limit:
        similarity = 0.9 if distance == 1 else 0.75
        jaro = JaroWinkler.similarity(t_key, s_key)
        evidence = f"{distance} edit(s): {_describe_edits(s_key, t_key)}; Jaro-Winkler {jaro:.2f}"
        return [Imitation(Category.TYPO, evidence, similarity)]
    return []


# What the same owner may publish beside its own model: another version, an added word.
_OWNERS_OWN = frozenset({Category.VERSION, Category.AFFIX})
# An organisation differing in these ways is a look-alike; an added word (google → google-bert)
# is the same owner's other organisation.
_LOOKALIKE_ORG = frozenset({Category.HOMOGLYPH, Category.TYPO, Category.CASE, Category.DELIMITER})


OTHER_OWNER_FACTOR = 0.9


def compare(suspect: str, target: str) -> NameMatch | None:
    """How the artifact name ``suspect`` imitates ``target`` (either may be ``org/name``)."""
    suspect, target = suspect[:MAX_NAME_LENGTH], target[:MAX_NAME_LENGTH]
    if suspect == target:
        return None
    s_org, s_base = split_name(suspect)
    t_org, t_base = split_name(target)
    org = compare_parts(s_org, t_org) if s_org and t_org else []
    lookalike_org = [i for i in org if i.category in _LOOKALIKE_ORG]
    base = compare_parts(s_base, t_base)
    if s_base == t_base:
        if lookalike_org:
            how = ", ".join(i.category.value for i in lookalike_org)
            evidence = f"'{t_base}' under look-alike organisation '{s_org}' of '{t_org}' ({how})"
            similarity = max(i.similarity for i in lookalike_org)
            namespace = Imitation(Category.NAMESPACE, evidence, similarity)
            return NameMatch(suspect, target, (namespace, *lookalike_org), similarity)
        where = f"organisation '{s_org}'" if s_org else "no organisation"
        owner = f"'{t_org}'" if t_org else "no organisation"
        namespace = Imitation(Category.NAMESPACE, f"'{t_base}' of {owner} under {where}", 0.85)
        return NameMatch(suspect, target, (namespace,), 0.85)
    if s_org == t_org or (org and not lookalike_org):  # the same owner
        base = [i for i in base if i.category not in _OWNERS_OWN]
    if not base:
        return None
    similarity = max(i.similarity for i in base)
    if lookalike_org:
        evidence = f"look-alike organisation '{s_org}' of '{t_org}'"
        similarity *= max(i.similarity for i in lookalike_org)
        namespace = Imitation(Category.NAMESPACE, evidence, similarity)
        return NameMatch(suspect, target, (*base, namespace, *lookalike_org), similarity)
    if s_org != t_org:  # both parts differ: weaker than the exact name under another owner
        similarity *= OTHER_OWNER_FACTOR
    return NameMatch(suspect, target, tuple(base), similarity)


# Candidates kept per way of picking them for each suspect: bounds the Python-side comparisons to
# a constant per artifact, so an audit of N artifacts is N rapidfuzz scans with the cheap plain
# ratio (C++) plus a few dictionary look-ups and at most 8 x 25 compares per name.
CANDIDATES = 25
MAX_ADDED_WORDS = 3  # as ``compare_parts`` counts an affix


@lru_cache(maxsize=65_536)
def _spaced_key(name: str) -> str:
    """A name's words with case and confusables folded (cached: each name is a target often)."""
    return " ".join(tokens(skeleton(_plain(split_name(name)[1]))))


class NameIndex:
    """Target names folded once, so an audit of N artifacts folds each name once, not N times."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = [n[:MAX_NAME_LENGTH] for n in names]
        # None marks a dropped name: rapidfuzz skips None choices, so dropping costs no scan.
        spaced = [_spaced_key(n) for n in self.names]
        self.spaced: list[str | None] = list(spaced)
        self.joined: list[str | None] = [k.replace(" ", "") for k in spaced]
        self._at: dict[str, list[int]] = {}
        # Exact word sequences and word sets: an affixed or reordered name is found by looking
        # its words up, not by scanning every name with a token-set ratio (13 times the cost).
        self._by_words: dict[tuple[str, ...], list[int]] = {}
        self._by_bag: dict[tuple[str, ...], list[int]] = {}
        for i, (n, k) in enumerate(zip(self.names, spaced, strict=True)):
            self._at.setdefault(n, []).append(i)
            words = tuple(k.split())
            self._by_words.setdefault(words, []).append(i)
            self._by_bag.setdefault(tuple(sorted(words)), []).append(i)

    def drop(self, name: str) -> None:
        """Never offer `name` as a target again (an imitator is not what others imitate)."""
        for i in self._at.get(name[:MAX_NAME_LENGTH], ()):
            self.spaced[i] = self.joined[i] = None

    def find(
        self, suspect: str, *, upto: int | None = None, exclude: Container[str] = (), limit: int = 20
    ) -> list[NameMatch]:
        """Every name among the first ``upto`` (not in ``exclude``) that ``suspect`` imitates.

        Candidates over folded names (case, confusables, delimiters): rapidfuzz's plain ratio of
        the names without delimiters keeps typos, joined and re-delimited names, other owners and
        version tweaks; look-ups of the suspect's words keep reordered names (the same words) and
        affixed ones (the suspect less up to three leading or trailing words). ``compare`` then
        says how each is imitated. Strongest first; ties keep the index order (most popular).
        """
        spaced = _spaced_key(suspect[:MAX_NAME_LENGTH])
        end = len(self.names) if upto is None else upto
        if not spaced or end <= 0:
            return []
        keep = CANDIDATES + (len(exclude) if isinstance(exclude, Sized) else 0)
        joined = spaced.replace(" ", "")
        # One swapped pair in a short name (gpt2 → gtp2) is a ratio of 75; in a long one, 90+.
        cutoff = 80 if len(joined) >= 10 else 65
        found = process.extract(joined, self.joined[:end], scorer=fuzz.ratio, score_cutoff=cutoff, limit=keep)
        picked = {i for _, _, i in found}
        words = tuple(spaced.split())
        lookups = [self._by_bag.get(tuple(sorted(words)), [])]
        for added in range(1, min(MAX_ADDED_WORDS, len(words) - 1) + 1):
            lookups += [self._by_words.get(words[added:], []), self._by_words.get(words[:-added], [])]
        for hits in lookups:
            live = (i for i in hits if i < end and self.spaced[i] is not None)
            picked.update(islice(live, keep))
        candidates = [self.names[i] for i in sorted(picked) if self.names[i] not in exclude]
        matches = [m for t in candidates if (m := compare(suspect, t)) is not None]
        matches.sort(key=lambda m: -m.similarity)  # stable: ties keep the index order
        return matches[:limit]


def find_imitations(suspect: str, targets: Iterable[str], *, limit: int = 20) -> list[NameMatch]:
    """Every name in ``targets`` that ``suspect`` imitates, strongest first (see ``NameIndex``)."""
    return NameIndex(targets).find(suspect, limit=limit)
