"""code_quality: the engineering quality of the model's linked code repository.

Read from the repository's own evidence (its git tree, README and GitHub facts), signals that
maintained code shows and abandoned code lacks:

* tests       — a `tests/`/`test/` directory or `test_*.py` / `*_test.py` / `*.test.*` files;
* packaging   — pyproject.toml, setup.py/cfg, requirements*.txt, environment.yml, package.json, …;
* ci          — continuous integration configuration (.github/workflows, GitLab, CircleCI, Travis, …);
* readme      — README length, log-scaled, full at 1,000 words;
* license     — a license GitHub recognises (1) or one it cannot name, NOASSERTION or Other (0.5);
* maintained  — not archived;
* stars       — log-scaled, full at 5,000: others depend on it and would notice breakage;
* recency     — last push: 1 within 90 days, then halving every year; 0 when no push time is known.
  "Now" is the evidence's `observed_at` (when it was gathered), so a stored rating recomputes the
  same from its stored evidence; evidence without it leaves this signal out (weights renormalise).

score = weighted mean (weights in WEIGHTS). No linked repository scores 0: there is no code to
judge, and a model whose code cannot be seen must not look as good as one whose code is clean.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tmr.rating.evidence import ModelEvidence, RepositoryEvidence
from tmr.rating.metrics.common import file_name, flag, log_scale, path_parts, weighted

WEIGHTS = {
    "tests": 0.20,
    "packaging": 0.10,
    "ci": 0.15,
    "readme": 0.15,
    "license": 0.10,
    "maintained": 0.10,
    "stars": 0.10,
    "recency": 0.10,
}
FULL_README_WORDS = 1000
FULL_STARS = 5000
FRESH_DAYS = 90
HALF_LIFE_DAYS = 365

_PACKAGING = frozenset(
    {
        "pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "environment.yml",
        "environment.yaml", "pipfile", "poetry.lock", "package.json", "cargo.toml", "go.mod",
        "pom.xml", "build.gradle", "cmakelists.txt", "makefile", "dockerfile",
    }
)  # fmt: skip
_CI = frozenset({".gitlab-ci.yml", ".travis.yml", "azure-pipelines.yml", "jenkinsfile", ".drone.yml"})


def _is_test(path: str) -> bool:
    parts = path_parts(path)
    name = parts[-1] if parts else ""
    return (
        any(part in ("tests", "test", "testing") for part in parts[:-1])
        or (name.startswith("test_") and name.endswith(".py"))
        or name.endswith(("_test.py", "_test.go", ".test.js", ".test.ts", ".spec.ts", ".spec.js"))
    )


def _is_ci(path: str) -> bool:
    parts = path_parts(path)
    return (
        parts[:2] == (".github", "workflows")
        or (parts[:1] == (".circleci",))
        or (len(parts) == 1 and parts[0] in _CI)
    )


def recency(pushed_at: datetime | None, now: datetime) -> float:
    if pushed_at is None:
        return 0.0
    if pushed_at.tzinfo is None:
        pushed_at = pushed_at.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    days = (now - pushed_at).total_seconds() / 86400
    return float(0.5 ** (max(0.0, days - FRESH_DAYS) / HALF_LIFE_DAYS))


def components(repository: RepositoryEvidence, now: datetime | None = None) -> dict[str, float | None]:
    paths = [f.path for f in repository.files]
    names = {file_name(p) for p in paths if len(path_parts(p)) == 1}
    names |= {file_name(p) for p in paths if file_name(p).startswith("requirements")}
    license_score = 0.0
    if repository.license:
        license_score = 0.5 if repository.license.upper() in ("NOASSERTION", "OTHER") else 1.0
    return {
        "tests": flag(any(_is_test(p) for p in paths)),
        "packaging": flag(bool(names & _PACKAGING) or any(n.startswith("requirements") for n in names)),
        "ci": flag(any(_is_ci(p) for p in paths)),
        "readme": log_scale(len(repository.readme.split()), FULL_README_WORDS),
        "license": license_score,
        "maintained": flag(not repository.archived),
        "stars": log_scale(repository.stars, FULL_STARS),
        "recency": recency(repository.pushed_at, now) if now is not None else None,
    }


def compute(evidence: ModelEvidence) -> float:
    if evidence.repository is None:
        return 0.0
    return weighted(components(evidence.repository, evidence.observed_at), WEIGHTS)
