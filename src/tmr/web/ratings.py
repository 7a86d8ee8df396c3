"""A stored rating as the artifact page shows it: every sub-score with what it measures, the
evidence it read, and how long it took.

The evidence sentences are read from the evidence stored beside the rating (the same record the
metrics were computed from) and from the artifact's own card; numbers in them are counts of that
evidence or the metrics' own functions applied to it (e.g. the deployable weight bytes), never
a re-scoring. Long texts are trimmed in storage, so nothing here re-derives a score from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tmr.artifacts.interfaces import StoredRating
from tmr.artifacts.models import Artifact
from tmr.rating.engine import DEVICES, SAFETY_FIELD
from tmr.rating.evidence import FileFact
from tmr.rating.metrics import net_score, ramp_up_time, size_score
from tmr.rating.metrics.common import CardText, as_list, file_name, read_card
from tmr.web.templating import human_bytes

LABELS = {
    "net_score": "Net score",
    "ramp_up_time": "Ramp-up time",
    "bus_factor": "Bus factor",
    "performance_claims": "Performance claims",
    "license": "License",
    "dataset_and_code_score": "Dataset and code",
    "dataset_quality": "Dataset quality",
    "code_quality": "Code quality",
    "reproducibility": "Reproducibility",
    "reviewedness": "Reviewedness",
    "tree_score": "Tree score",
    "size_score": "Size score",
}

MEANINGS = {
    "net_score": "One number for the whole rating: the weighted mean of the sub-scores, 0 when a weights "
    "file runs code on load.",
    "ramp_up_time": "How quickly a new engineer can put the model to use: card, usage example, metadata "
    "and the files a loader expects.",
    "bus_factor": "How widely the upstream knowledge is spread over people (1: many people, evenly).",
    "performance_claims": "How much checkable evidence backs the results the card states.",
    "license": "How clearly the license is declared and how freely the company may use the model.",
    "dataset_and_code_score": "Whether the training data and code are named and can be reached.",
    "dataset_quality": "The quality of the named training datasets, judged from their own pages.",
    "code_quality": "The engineering quality of the linked code repository (tests, CI, packaging, upkeep).",
    "reproducibility": "Whether the card's example code runs as written and loads this model "
    "(judged statically, not executed).",
    "reviewedness": "The share of the linked repository's recent code that a second person approved.",
    "tree_score": "The health of the models this one is built on: its parents' net scores.",
    "size_score": "How well the weights fit the memory of four classes of device (mean of the four).",
}

DEVICE_LABELS = {
    "raspberry_pi": "Raspberry Pi",
    "jetson_nano": "Jetson Nano",
    "desktop_pc": "Desktop PC",
    "aws_server": "AWS server",
}

SUB_SCORES = (
    "ramp_up_time",
    "bus_factor",
    "performance_claims",
    "license",
    "dataset_and_code_score",
    "dataset_quality",
    "code_quality",
    "reproducibility",
    "reviewedness",
    "tree_score",
    "size_score",
)


@dataclass(frozen=True, slots=True)
class Level:
    """A score's standing in words and a symbol, so colour is never the only signal."""

    word: str
    symbol: str
    css: str  # badge modifier: ok, warn, bad, info


GOOD = Level("good", "✓", "ok")
FAIR = Level("fair", "!", "warn")
POOR = Level("poor", "✗", "bad")
NOT_APPLICABLE = Level("not applicable", "○", "info")
FAILED = Level("failed", "✗", "bad")


def level_of(score: float) -> Level:
    if score >= 0.7:
        return GOOD
    if score >= 0.4:
        return FAIR
    return POOR


def latency_text(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "not recorded"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


@dataclass(frozen=True, slots=True)
class MetricRow:
    key: str
    label: str
    score: float | None  # None: failed or not applicable
    score_text: str
    level: Level
    meaning: str
    evidence: str
    latency: str


@dataclass(frozen=True, slots=True)
class DeviceFit:
    key: str
    label: str
    score: float
    score_text: str
    verdict: str
    budget: str
    bar: float  # 0..100, the bar's length


@dataclass(frozen=True, slots=True)
class RatingView:
    net: MetricRow
    category: str
    rows: tuple[MetricRow, ...]
    devices: tuple[DeviceFit, ...]
    size_evidence: str
    computed_at: datetime
    failed: bool
    errors: tuple[tuple[str, str], ...]
    unsafe_files: tuple[tuple[str, str], ...]  # (path, reasons)


def _files(evidence: Mapping[str, Any], key: str = "files") -> list[Mapping[str, Any]]:
    return [f for f in as_list(evidence.get(key)) if isinstance(f, Mapping)]


def _facts(files: Sequence[Mapping[str, Any]]) -> tuple[FileFact, ...]:
    return tuple(
        FileFact(str(f.get("path", "")), int(f.get("size") or 0), str(f.get("kind", "other"))) for f in files
    )


def _names(values: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


_IRREGULAR = {"person": "people"}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {_IRREGULAR.get(word, word + 's')}"


def _sentence(text: str) -> str:
    """`text` with a capital first letter; unlike str.capitalize, names keep their case."""
    return text[:1].upper() + text[1:]


def _repository(evidence: Mapping[str, Any]) -> Mapping[str, Any] | None:
    repository = evidence.get("repository")
    return repository if isinstance(repository, Mapping) else None


def _repo_name(repository: Mapping[str, Any]) -> str:
    return str(repository.get("full_name") or repository.get("url") or "the linked repository")


class _Evidence:
    """Sentences naming what each metric read, from one stored evidence record."""

    def __init__(self, evidence: Mapping[str, Any], artifact: Artifact) -> None:
        self.ev = evidence
        card = evidence.get("card")
        self.card: Mapping[str, Any] = card if isinstance(card, Mapping) else {}
        self.files = _files(evidence)
        self.repository = _repository(evidence)
        self.datasets = [d for d in as_list(evidence.get("datasets")) if isinstance(d, Mapping)]
        self.text: CardText = read_card(artifact.readme)

    def _no_repository(self) -> str:
        return "No linked code repository (the card links to no GitHub repository that could be read)"

    def ramp_up_time(self) -> str:
        present = [f for f in ramp_up_time.METADATA_FIELDS if self.card.get(f) not in (None, "", [], {})]
        names = {file_name(str(f.get("path", ""))) for f in self.files}
        loaders = [name for name in ("config.json", "adapter_config.json") if name in names]
        tokenizer = sum(1 for f in self.files if f.get("kind") == "tokenizer")
        library = self.ev.get("library_name")
        text = self.text
        return (
            f"The card's text ({_plural(text.words, 'word')}, {_plural(len(text.headings), 'heading')}, "
            f"{_plural(len(text.code_blocks), 'code block')}); card metadata fields: "
            f"{_names(present) if present else 'none'}; library: {library or 'not stated'}; "
            f"loader files: {_names(loaders) if loaders else 'none'}; {_plural(tokenizer, 'tokenizer file')}."
        )

    def bus_factor(self) -> str:
        if self.repository is None:
            return (
                self._no_repository() + ": only what the card writes down about training, hyperparameters, "
                "data and evaluation counts, up to 0.25."
            )
        contributors = [c for c in as_list(self.repository.get("contributors")) if isinstance(c, Mapping)]
        bots = [c for c in contributors if str(c.get("login", "")).lower().endswith("[bot]")]
        people = [c for c in contributors if c not in bots and int(c.get("contributions") or 0) > 0]
        if not people:
            return (
                f"{_repo_name(self.repository)} lists no human contributors: only what the card writes down "
                "about training, hyperparameters, data and evaluation counts, up to 0.25."
            )
        total = sum(int(c.get("contributions") or 0) for c in people)
        left_out = f"; {_plural(len(bots), 'bot')} left out" if bots else ""
        return (
            f"Contributions of {_plural(len(people), 'person')} to {_repo_name(self.repository)} "
            f"({total:,} contributions{left_out})."
        )

    def performance_claims(self) -> str:
        entries = [e for e in as_list(self.card.get("model-index")) if isinstance(e, Mapping)]
        results = sum(len(e["results"]) for e in entries if isinstance(e.get("results"), list))
        structured = (
            f"{_plural(results, 'result')} in the card's model-index metadata"
            if results
            else "no model-index results in the card metadata"
        )
        return (
            f"{_sentence(structured)}; the card's text: tables of numbers, named benchmarks, paper links "
            f"and evaluation sections ({_plural(len(self.text.headings), 'heading')} read)."
        )

    def license(self) -> str:
        said = []
        if self.card.get("license") not in (None, "", []):
            said.append(f"card metadata: {', '.join(str(v) for v in as_list(self.card.get('license')))}")
        if self.ev.get("license"):
            said.append(f"recorded at registration: {self.ev.get('license')}")
        if self.repository is not None:
            said.append(f"{_repo_name(self.repository)}: {self.repository.get('license') or 'no license'}")
        files = [file_name(str(f.get("path", ""))) for f in self.files]
        license_files = [n for n in files if n.upper().startswith(("LICENSE", "LICENCE", "COPYING"))]
        said.append(f"license file: {_names(license_files) if license_files else 'none'}")
        return "Declared licenses — " + "; ".join(said) + "; and the card's License section, if any."

    def dataset_and_code_score(self) -> str:
        if self.datasets:
            found = sum(1 for d in self.datasets if d.get("url") or d.get("registered"))
            named = (
                f"datasets named: {_names([str(d.get('name')) for d in self.datasets])} "
                f"({found} of {len(self.datasets)} found upstream or registered here)"
            )
        else:
            named = "no dataset named in the card metadata (the card's text is searched for data links)"
        code = (
            f"code: {_repo_name(self.repository)} linked"
            if self.repository is not None
            else "code: no linked repository (the card's text is searched for code links)"
        )
        return f"{_sentence(named)}; {code}; training scripts among the files."

    def dataset_quality(self) -> str:
        if not self.datasets:
            return "No dataset named in the card: there is no dataset whose quality could be vouched for."
        parts = []
        for d in self.datasets[:5]:
            if d.get("url") is None and not d.get("card"):
                parts.append(f"{d.get('name')} (could not be read)")
            else:
                parts.append(
                    f"{d.get('name')} (card, license {d.get('license') or 'not stated'}, "
                    f"{int(d.get('downloads') or 0):,} downloads, {_plural(len(_files(d)), 'file')})"
                )
        more = f" and {len(self.datasets) - 5} more" if len(self.datasets) > 5 else ""
        return "The datasets' own pages: " + "; ".join(parts) + more + "."

    def code_quality(self) -> str:
        if self.repository is None:
            return self._no_repository() + ": there is no code to judge."
        repo = self.repository
        pushed = str(repo.get("pushed_at") or "")[:10] or "unknown"
        archived = ", archived" if repo.get("archived") else ""
        return (
            f"{_repo_name(repo)}: {_plural(len(_files(repo)), 'file')} (tests, CI, packaging), its README, "
            f"{int(repo.get('stars') or 0):,} stars, license {repo.get('license') or 'none'}, "
            f"last push {pushed}{archived}."
        )

    def reproducibility(self) -> str:
        blocks = self.text.code_blocks
        python = sum(1 for b in blocks if b.language in ("python", "py", "python3", "pycon"))
        if not blocks:
            return "The card has no code blocks: there is no example to run."
        return (
            f"The card's {_plural(len(blocks), 'code block')} ({python} marked Python), read statically for "
            "imports, repairs and whether they load this model."
        )

    def reviewedness(self) -> str:
        if self.repository is None:
            return "No linked repository: not applicable (-1), left out of the net score."
        pulls = self.repository.get("pulls")
        if pulls is None:
            return (
                f"The pull requests of {_repo_name(self.repository)} could not be read: not measurable (-1), "
                "left out of the net score."
            )
        merged = [p for p in as_list(pulls) if isinstance(p, Mapping)]
        approved = [p for p in merged if p.get("approved")]
        direct = int(self.repository.get("direct_commit_lines") or 0)
        return (
            f"{_plural(len(merged), 'merged pull request')} of {_repo_name(self.repository)} "
            f"({len(approved)} with an approving review, "
            f"{sum(max(0, int(p.get('code_lines') or 0)) for p in merged):,} code lines) and "
            f"{direct:,} code lines committed without review."
        )

    def tree_score(self) -> str:
        declared = [str(v) for v in as_list(self.card.get("base_model")) if isinstance(v, str)]
        adapter = self.ev.get("adapter_config")
        if (
            not declared
            and isinstance(adapter, Mapping)
            and isinstance(adapter.get("base_model_name_or_path"), str)
        ):
            declared = [str(adapter["base_model_name_or_path"])]
        scores = [float(s) for s in as_list(self.ev.get("parent_net_scores")) if isinstance(s, int | float)]
        if not declared and not scores:
            return "The card declares no parent model: nothing is inherited."
        rated = ", ".join(f"{s:.2f}" for s in scores) if scores else "none rated here"
        return (
            f"Declared parents: {_names(declared) if declared else 'none'}; "
            f"net scores of registered parents: {rated}."
        )

    def size_score(self) -> str:
        weights = [f for f in self.files if f.get("kind") == "weights"]
        counted = size_score.deployable_bytes(_facts(self.files))
        if not weights:
            return "No weights files: nothing to deploy."
        return (
            f"One deployable copy of the weights, {human_bytes(counted)} "
            f"(from {_plural(len(weights), 'weights file')}), against each device's memory budget."
        )

    def net_score(self) -> str:
        weights = ", ".join(
            f"{LABELS[name].lower()} {weight * 100:.0f}%" for name, weight in net_score.WEIGHTS.items()
        )
        return f"The sub-scores below, weighted: {weights}."


def _row(
    key: str,
    fields: Mapping[str, Any],
    errors: Mapping[str, str],
    evidence: str,
    absent: str = "not applicable",
) -> MetricRow:
    """One sub-score; `absent` says in words why a negative score (-1) has no value."""
    raw = fields.get(key)
    if key in errors:
        score, text, level = None, "failed", FAILED
    elif key == "size_score" and isinstance(raw, Mapping):
        values = [float(raw.get(d, 0.0)) for d in DEVICES]
        score = sum(values) / len(values)
        text, level = f"{score:.2f}", level_of(score)
    elif isinstance(raw, int | float) and raw < 0:
        score, text, level = None, absent, NOT_APPLICABLE
    elif isinstance(raw, int | float):
        score, text, level = float(raw), f"{float(raw):.2f}", level_of(float(raw))
    else:
        score, text, level = None, "not recorded", NOT_APPLICABLE
    return MetricRow(
        key,
        LABELS[key],
        score,
        text,
        level,
        MEANINGS[key],
        evidence,
        latency_text(fields.get(f"{key}_latency")),
    )


def _devices(fields: Mapping[str, Any]) -> tuple[DeviceFit, ...]:
    raw = fields.get("size_score")
    values = raw if isinstance(raw, Mapping) else {}
    fits = []
    for device in DEVICES:
        score = float(values.get(device, 0.0))
        verdict = "fits comfortably" if score >= 1.0 else "does not fit" if score <= 0.0 else "tight fit"
        budget = size_score.BUDGETS[device] / size_score.GIB
        fits.append(
            DeviceFit(
                device,
                DEVICE_LABELS[device],
                score,
                f"{score:.2f}",
                verdict,
                f"{budget:g} GiB for weights",
                round(max(0.0, min(1.0, score)) * 100, 1),
            )
        )
    return tuple(fits)


def rating_view(stored: StoredRating, artifact: Artifact) -> RatingView:
    fields = stored.rating
    evidence = _Evidence(stored.evidence if isinstance(stored.evidence, Mapping) else {}, artifact)
    errors = dict(stored.errors)
    absent = "no linked repository" if evidence.repository is None else "not measurable"
    rows = tuple(
        _row(
            key,
            fields,
            errors,
            getattr(evidence, key)(),
            absent if key == "reviewedness" else "not applicable",
        )
        for key in SUB_SCORES
    )
    net = _row("net_score", fields, errors, evidence.net_score())
    safety = fields.get(SAFETY_FIELD) or {}
    unsafe = tuple(
        (str(f.get("path")), "; ".join(str(r) for r in as_list(f.get("reasons"))) or "imports code on load")
        for f in as_list(safety.get("unsafe_files"))
        if isinstance(f, Mapping)
    )
    return RatingView(
        net=net,
        category=str(fields.get("category") or "unknown"),
        rows=rows,
        devices=_devices(fields),
        size_evidence=evidence.size_score(),
        computed_at=stored.computed_at,
        failed=stored.failed,
        errors=tuple(sorted(errors.items())),
        unsafe_files=unsafe,
    )
