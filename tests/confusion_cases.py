"""The labelled package-confusion set, built by code: popular names, look-alikes, hard negatives.

Shared by tests/unit/test_confusion_*.py and benchmarks/bench_confusion.py. Deterministic: the
same set every run (a seeded Random, fixed clock).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tmr.confusion.scoring import ArtifactStats, DownloadEvent, SearchEvent

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

POPULAR = [
    "google-bert/bert-base-uncased", "google-bert/bert-base-cased", "google-bert/bert-large-uncased",
    "openai-community/gpt2", "openai-community/gpt2-medium", "distilbert/distilbert-base-uncased",
    "FacebookAI/roberta-base", "FacebookAI/roberta-large", "FacebookAI/xlm-roberta-base",
    "meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-13b-hf", "meta-llama/Meta-Llama-3-8B-Instruct",
    "mistralai/Mistral-7B-v0.1", "mistralai/Mistral-7B-Instruct-v0.2", "google/flan-t5-base",
    "google/flan-t5-large", "google-t5/t5-small", "google/gemma-2b", "google/gemma-7b",
    "sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-mpnet-base-v2",
    "openai/whisper-large-v3", "openai/clip-vit-base-patch32", "microsoft/phi-2",
    "microsoft/deberta-v3-base", "Qwen/Qwen2-7B-Instruct", "tiiuae/falcon-7b",
    "stabilityai/stable-diffusion-xl-base-1.0", "BAAI/bge-small-en-v1.5", "facebook/bart-large-cnn",
    "timm/resnet50.a1_in1k", "deepseek-ai/deepseek-coder-6.7b-instruct",
]  # fmt: skip

# Legitimately similar names (siblings, other sizes, same-org versions): never flagged.
HARD_NEGATIVES = [
    "google-bert/bert-large-cased", "openai-community/gpt2-large", "openai-community/gpt2-xl",
    "meta-llama/Llama-2-70b-hf", "meta-llama/Llama-2-7b-chat-hf", "mistralai/Mistral-7B-Instruct-v0.1",
    "google/flan-t5-small", "google/flan-t5-xl", "google-t5/t5-base", "google/gemma-2b-it",
    "sentence-transformers/all-MiniLM-L12-v2", "openai/whisper-large-v2", "openai/whisper-small",
    "openai/clip-vit-large-patch14", "FacebookAI/xlm-roberta-large", "BAAI/bge-base-en-v1.5",
    "BAAI/bge-large-en-v1.5", "tiiuae/falcon-40b", "Qwen/Qwen2-72B-Instruct", "microsoft/phi-1_5",
    "microsoft/deberta-v3-large", "distilbert/distilbert-base-cased", "facebook/bart-large",
    "alice/sentiment-classifier", "bob/tiny-vision-net", "acme-ai/invoice-parser",
]  # fmt: skip

# Well-known re-uploads about as popular as the original, with organic traffic: their names do
# imitate (another organisation), the popularity and traffic say they are not an attack.
POPULAR_MIRRORS = [
    ("NousResearch/Llama-2-7b-hf", "meta-llama/Llama-2-7b-hf"), ("unsloth/gemma-7b", "google/gemma-7b"),
    ("unsloth/mistral-7b-v0.1", "mistralai/Mistral-7B-v0.1"),
    ("Xenova/all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"),
    ("TheBloke/Llama-2-13B-hf", "meta-llama/Llama-2-13b-hf"),
]  # fmt: skip

# Cyrillic look-alikes (and capital I for l), written as escapes so the source stays readable.
_HOMOGLYPHS = {
    "o": "\u043e", "a": "\u0430", "e": "\u0435", "l": "I", "i": "\u0456", "c": "\u0441", "p": "\u0440",
}  # fmt: skip
_ADJACENT = {"e": "r", "a": "s", "o": "p", "t": "y", "r": "t", "i": "o", "n": "m", "s": "d"}


@dataclass(frozen=True)
class Case:
    name: str
    imitates: str | None  # None: a negative
    category: str  # the generated category, or "negative"
    stats: ArtifactStats
    downloads: list[DownloadEvent] = field(default_factory=list)


def _split(name: str) -> tuple[str, str]:
    org, _, base = name.partition("/")
    return org, base


def _typo(base: str, rng: random.Random) -> str:
    kind = rng.choice(["missing", "doubled", "adjacent", "swap"])
    letters = [i for i in range(2, len(base) - 1) if base[i].isalpha() and base[i - 1].isalpha()]
    i = rng.choice(letters)
    if kind == "missing":
        return base[:i] + base[i + 1 :]
    if kind == "doubled":
        return base[:i] + base[i] + base[i:]
    if kind == "adjacent" and base[i].lower() in _ADJACENT:
        return base[:i] + _ADJACENT[base[i].lower()] + base[i + 1 :]
    return base[: i - 1] + base[i] + base[i - 1] + base[i + 1 :]


def _homoglyph(text: str) -> str:
    for i, ch in enumerate(text):
        if ch in _HOMOGLYPHS and i > 0:
            return text[:i] + _HOMOGLYPHS[ch] + text[i + 1 :]
    return text


def _lookalikes(popular: str, rng: random.Random) -> list[tuple[str, str]]:
    org, base = _split(popular)
    words = base.replace("_", "-").split("-")
    out = [
        ("typo", f"acme-ai/{_typo(base, rng)}"),
        ("homoglyph", f"acme-ai/{_homoglyph(base)}"),
        ("delimiter", f"acme-ai/{base.replace('-', rng.choice(['_', '.', '']))}"),
        ("affix", f"acme-ai/{rng.choice(['official-', 'hf-', 'free-'])}{base}"),
        ("affix", f"acme-ai/{base}{rng.choice(['-pro', '-v2', '-hf', '-secure'])}"),
        ("namespace", f"{_homoglyph(org)}/{base}"),
        ("namespace", f"model-mirror/{base}"),
        ("case", f"acme-ai/{base.upper() if base != base.upper() else base.lower()}"),
    ]
    if len(set(words)) >= 2 and "." not in base:
        out.append(("reorder", f"acme-ai/{'-'.join(reversed(words))}"))
    digits = [i for i, ch in enumerate(base) if ch.isdigit()]
    if digits:
        i = digits[0]
        out.append(("version", f"acme-ai/{base[:i]}{(int(base[i]) + 1) % 10}{base[i + 1 :]}"))
    return out


def _burst(name: str, n: int, start: datetime) -> list[DownloadEvent]:
    """A scripted boost: n downloads seconds apart from one client, never searched."""
    return [DownloadEvent(start + timedelta(seconds=7 * i), "bot", "10.0.0.9") for i in range(n)]


def _organic(n: int, rng: random.Random) -> list[DownloadEvent]:
    """Downloads spread over weeks from many users, each of whom searched first."""
    return [
        DownloadEvent(EPOCH + timedelta(hours=rng.uniform(24, 24 * 30)), f"user{i}", f"10.1.{i}.1")
        for i in range(n)
    ]


def build_cases(seed: int = 11) -> tuple[list[Case], list[SearchEvent]]:
    """Every artifact of the set with its label, and the searches users made."""
    rng = random.Random(seed)
    cases = [
        Case(
            p, None, "popular", ArtifactStats(p, rng.randint(200_000, 5_000_000), rng.randint(2_000, 90_000))
        )
        for p in POPULAR
    ]
    for name in HARD_NEGATIVES:
        cases.append(
            Case(
                name,
                None,
                "negative",
                ArtifactStats(name, rng.randint(50, 90_000), rng.randint(5, 900)),
                _organic(rng.randint(5, 40), rng),
            )
        )
    popularity = {c.name: c.stats.popularity for c in cases}
    for name, original in POPULAR_MIRRORS:
        downloads = int(popularity[original] * rng.uniform(0.3, 1.0))
        stats = ArtifactStats(name, downloads, rng.randint(500, 5_000))
        cases.append(Case(name, None, "mirror", stats, _organic(rng.randint(20, 60), rng)))
    seen = {c.name for c in cases}
    for k, popular in enumerate(POPULAR):
        for category, name in _lookalikes(popular, rng):
            if name in seen or name == popular:
                continue
            seen.add(name)
            boosted = k % 3 == 0  # a third of them boosted: many downloads, scripted
            if boosted:
                stats = ArtifactStats(name, rng.randint(20_000, 60_000), rng.randint(0, 30))
                events = _burst(name, 60, EPOCH + timedelta(days=k))
            else:
                stats = ArtifactStats(name, rng.randint(0, 300), rng.randint(0, 20))
                events = []
            cases.append(Case(name, popular, category, stats, events))
    searches = [SearchEvent(EPOCH, f"user{i}") for i in range(100)]
    return cases, searches
