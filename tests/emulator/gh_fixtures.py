"""GitHub fixture repositories: files plus generated contributors, commits and pull requests (with reviews).

`gh_repo` turns a few lines of data into a full repository; history is generated from a seed derived from
the repository name, so it is identical on every run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.emulator.blobs import stable_int, stable_sha1
from tests.emulator.content import license_text, python_project
from tests.emulator.repos import GhCommit, GhPull, GhPullFile, GhRepo, GhReview

CODE_SUFFIXES = (".py", ".md", ".toml", ".txt", ".cfg", ".yml", ".yaml")
_TOPICS = ("tokenizer", "training loop", "docs", "tests", "CLI")
_VERBS = ("Fix", "Add", "Refactor", "Update", "Improve", "Document", "Test", "Speed up")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class PullSpec:
    """How to generate a repository's pull requests."""

    count: int
    approve_rate: float = 0.8
    merge_rate: float = 0.85
    open_count: int = 2


def spread(core: tuple[str, ...], total: int, top: int, prefix: str) -> tuple[tuple[str, int], ...]:
    """`total` contributors (named core ones first) with a Zipf-like spread of contributions from `top`."""
    logins = list(core) + [f"{prefix}-dev{i:03d}" for i in range(total - len(core))]
    return tuple((login, max(1, round(top / (i + 1) ** 1.15))) for i, login in enumerate(logins))


def _commits(
    full_name: str, people: tuple[tuple[str, int], ...], count: int, last: datetime
) -> list[GhCommit]:
    rng = random.Random(stable_int("commits", full_name))
    logins = [p[0] for p in people] or ["ghost"]
    weights = [p[1] for p in people] or [1]
    shas = [stable_sha1("gh-commit", full_name, i) for i in range(count)]
    out = []
    for i, sha in enumerate(shas):
        login = rng.choices(logins, weights)[0]
        linked = rng.random() > 0.05
        out.append(
            GhCommit(
                sha=sha,
                author_login=login if linked else None,
                author_name=login.replace("-", " ").title(),
                author_email=f"{login}@users.noreply.github.com",
                date=_iso(last - timedelta(days=3 * i, hours=i % 7)),
                message=f"{rng.choice(_VERBS)} {rng.choice(_TOPICS)}",
                parents=(shas[i + 1],) if i + 1 < count else (),
            )
        )
    return out


def _pulls(repo: GhRepo, spec: PullSpec, last: datetime) -> list[GhPull]:
    rng = random.Random(stable_int("pulls", repo.full_name))
    people = [p[0] for p in repo.contributors] or ["ghost"]
    paths = sorted(p for p in repo.files if p.endswith(CODE_SUFFIXES)) or ["README.md"]
    pulls = []
    for number in range(spec.count, 0, -1):
        created = last - timedelta(days=4 * (spec.count - number) + 1, hours=number % 11)
        author = rng.choice(people)
        reviewers = [p for p in people if p != author] or ["external-reviewer"]
        is_open = spec.count - number < spec.open_count
        merged = not is_open and rng.random() < spec.merge_rate
        reviews: list[GhReview] = []
        roll = rng.random()
        if roll < spec.approve_rate:
            if rng.random() < 0.25:
                reviews.append(
                    GhReview(
                        0, rng.choice(reviewers), "CHANGES_REQUESTED", _iso(created + timedelta(hours=5))
                    )
                )
            reviews.append(
                GhReview(0, rng.choice(reviewers), "APPROVED", _iso(created + timedelta(hours=20)))
            )
        elif roll < spec.approve_rate + (1 - spec.approve_rate) / 2:
            reviews.append(
                GhReview(0, rng.choice(reviewers), "COMMENTED", _iso(created + timedelta(hours=9)))
            )
        reviews = [
            GhReview(
                stable_int("review", repo.full_name, number, k, bits=30), r.user, r.state, r.submitted_at
            )
            for k, r in enumerate(reviews)
        ]
        changed = rng.sample(paths, k=min(len(paths), rng.randint(1, 3)))
        files = tuple(
            GhPullFile(
                path, "modified" if rng.random() < 0.85 else "added", rng.randint(1, 120), rng.randint(0, 40)
            )
            for path in changed
        )
        closed = None if is_open else _iso(created + timedelta(days=1, hours=number % 5))
        pulls.append(
            GhPull(
                number=number,
                title=f"{rng.choice(_VERBS)} {changed[0]}",
                user=author,
                state="open" if is_open else "closed",
                created_at=_iso(created),
                updated_at=closed or _iso(created + timedelta(hours=30)),
                closed_at=closed,
                merged_at=closed if merged else None,
                merge_commit_sha=stable_sha1("merge", repo.full_name, number) if merged else None,
                head_ref=f"{author}/pr-{number}",
                base_ref=repo.default_branch,
                reviews=tuple(reviews),
                files=files,
            )
        )
    return pulls


def gh_repo(
    full_name: str,
    *,
    files: dict[str, bytes],
    readme: str | None,
    license_spdx: str | None = None,
    contributors: tuple[tuple[str, int], ...] = (),
    commits: int = 20,
    pulls: PullSpec | None = None,
    last_push: str = "2024-04-28T16:02:03Z",
    **kwargs: Any,
) -> GhRepo:
    """Build a GitHub repo from files + a README + a license id and generate its history."""
    files = dict(files)
    owner = full_name.split("/")[0]
    if readme is not None:
        files["README.md"] = readme.encode()
    license_path = None
    if license_spdx is not None:
        license_path = "LICENSE"
        files[license_path] = license_text(license_spdx, holder=owner)
    last = datetime.strptime(last_push, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    repo = GhRepo(
        full_name=full_name,
        files=files,
        license_spdx=license_spdx,
        license_path=license_path,
        contributors=contributors,
        pushed_at=last_push,
        **kwargs,
    )
    repo.commits = tuple(_commits(full_name, contributors, commits, last))
    if pulls is not None:
        repo.pulls = tuple(_pulls(repo, pulls, last))
    return repo


def _readme(title: str, text: str, extra: str = "") -> str:
    return f"# {title}\n\n{text}\n\n## Installation\n\n```bash\npip install {title.lower()}\n```\n{extra}"


def github_repos() -> list[GhRepo]:
    """All GitHub repository fixtures."""
    bert_files = {
        name: f'"""{name} from BERT."""\nimport tensorflow as tf\n'.encode()
        for name in (
            "modeling.py",
            "tokenization.py",
            "optimization.py",
            "run_classifier.py",
            "run_pretraining.py",
            "modeling_test.py",
            "tokenization_test.py",
            "__init__.py",
        )
    }
    bert_files.update(
        {"requirements.txt": b"tensorflow >= 1.11.0\n", "CONTRIBUTING.md": b"# How to Contribute\n"}
    )
    nano_files = {
        name: f'"""{name}"""\nimport torch\n'.encode()
        for name in (
            "model.py",
            "train.py",
            "sample.py",
            "bench.py",
            "configurator.py",
            "config/train_gpt2.py",
            "config/train_shakespeare_char.py",
            "config/eval_gpt2.py",
            "data/shakespeare_char/prepare.py",
        )
    }
    nano_files["data/shakespeare_char/readme.md"] = (
        b"# tiny shakespeare, character-level\n\nRun prepare.py.\n"
    )
    return [
        gh_repo(
            "google-research/bert",
            files=bert_files,
            license_spdx="Apache-2.0",
            default_branch="master",
            readme=_readme(
                "BERT",
                "TensorFlow code and pre-trained models for BERT.",
                "\nModels: https://huggingface.co/google-bert/bert-base-uncased\n",
            ),
            description="TensorFlow code and pre-trained models for BERT",
            stars=38_900,
            forks=9_600,
            watchers=980,
            open_issues=860,
            topics=("nlp", "natural-language-processing", "google", "tensorflow"),
            contributors=spread(
                ("jacobdevlin-google", "slavpetrov", "rodgzilla", "abhishekraok"), 45, 90, "bert"
            ),
            anonymous_contributors=(
                ("Kenton Lee", "kentonl@google.com", 4),
                ("Ming-Wei Chang", "mwc@google.com", 2),
            ),
            commits=40,
            pulls=PullSpec(24, approve_rate=0.85, merge_rate=0.8, open_count=3),
            created_at="2018-10-25T22:57:34Z",
            last_push="2024-07-23T14:01:02Z",
        ),
        gh_repo(
            "openai/whisper",
            files=python_project("whisper", modules=("model", "audio", "transcribe", "decoding")),
            license_spdx="MIT",
            readme=_readme("Whisper", "Robust Speech Recognition via Large-Scale Weak Supervision"),
            description="Robust Speech Recognition via Large-Scale Weak Supervision",
            stars=72_000,
            forks=8_700,
            watchers=590,
            open_issues=95,
            topics=("speech-recognition", "pytorch"),
            contributors=spread(("jongwook", "hanacchi", "ryanheise"), 60, 160, "whisper"),
            commits=50,
            pulls=PullSpec(30, approve_rate=0.7, merge_rate=0.6),
            tags=("v20240930", "v20231117"),
        ),
        gh_repo(
            "huggingface/transformers",
            files={
                f"src/{k}": v
                for k, v in python_project(
                    "transformers",
                    tests=False,
                    pyproject=False,
                    modules=("modeling_utils", "tokenization_utils", "trainer", "pipelines"),
                ).items()
            }
            | {
                k: v
                for k, v in python_project("transformers", modules=("trainer", "pipelines")).items()
                if not k.startswith("transformers/")
            },
            license_spdx="Apache-2.0",
            readme=_readme(
                "Transformers", "State-of-the-art Machine Learning for JAX, PyTorch and TensorFlow."
            ),
            description="Transformers: the model-definition framework for state-of-the-art ML models",
            stars=140_000,
            forks=28_000,
            watchers=1_100,
            open_issues=1_900,
            topics=("nlp", "pytorch", "transformer", "deep-learning"),
            contributors=spread(
                ("sgugger", "ydshieh", "patrickvonplaten", "LysandreJik", "ArthurZucker"), 250, 1_900, "hf"
            ),
            commits=150,
            pulls=PullSpec(130, approve_rate=0.9, merge_rate=0.75, open_count=10),
            tags=("v4.41.0", "v4.40.0", "v4.39.0"),
        ),
        gh_repo(
            "acme/training-code",
            files=python_project("acme_train", modules=("train", "data", "lora")),
            license_spdx="Apache-2.0",
            readme=_readme(
                "acme-train", "Training code for https://huggingface.co/acme/base-lm and its fine-tunes."
            ),
            description="Training code for the acme/base-lm family",
            stars=54,
            forks=7,
            watchers=5,
            open_issues=3,
            contributors=(
                ("acme-alice", 60),
                ("acme-bob", 25),
                ("acme-carol", 9),
                ("acme-dan", 4),
                ("intern-eve", 2),
                ("drive-by", 1),
            ),
            commits=30,
            pulls=PullSpec(12, approve_rate=0.5, merge_rate=0.75),
            tags=("v0.2.0", "v0.1.0"),
        ),
        gh_repo(
            "solo/one-person",
            files={"main.py": b'print("hello")\n'},
            license_spdx="MIT",
            readme="# one-person\n\nA weekend project.\n",
            description="Single-author project",
            stars=3,
            contributors=(("solo", 42),),
            commits=42,
            pulls=None,
            tags=("release-candidate",),  # a tag, but not a version
        ),
        gh_repo(
            "gpl/copyleft-tool",
            files=python_project("copyleft_tool"),
            license_spdx="GPL-3.0",
            readme=_readme("copyleft-tool", "A GPL-licensed utility."),
            description="GPL tool",
            stars=140,
            forks=12,
            contributors=(("gnu-gary", 30), ("gnu-gina", 11), ("gnu-guy", 3), ("gnu-gus", 1)),
            commits=12,
            pulls=PullSpec(6, approve_rate=0.0, merge_rate=1.0, open_count=0),
            tags=("1.2",),  # at the head commit, no `v`: 1.2.0
        ),
        gh_repo(
            "nolicense/mystery",
            files={"mystery.py": b"SECRET = 42\n"},
            license_spdx=None,
            readme="# mystery\n\nNo license given.\n",
            description="",
            stars=1,
            contributors=(("anon-ann", 5), ("anon-abe", 1)),
            commits=5,
            pulls=PullSpec(3, approve_rate=0.34, merge_rate=0.67, open_count=0),
        ),
        gh_repo(
            "weird/custom-license",
            files=python_project("weird", tests=False),
            license_spdx="NOASSERTION",
            readme=_readme("weird", "Released under a custom evaluation-only license."),
            description="Custom-licensed research code",
            stars=20,
            contributors=(("weird-wes", 14), ("weird-wu", 6), ("weird-wyn", 2)),
            commits=8,
            pulls=PullSpec(4, approve_rate=0.5, merge_rate=0.75, open_count=1),
            tags=("nightly", "v0.3.0", "v0.2.0"),  # versions of older commits only
        ),
        gh_repo(
            "karpathy/nanoGPT",
            files=nano_files,
            license_spdx="MIT",
            default_branch="master",
            readme=_readme(
                "nanoGPT", "The simplest, fastest repository for training/finetuning medium-sized GPTs."
            ),
            description="The simplest, fastest repository for training/finetuning medium-sized GPTs.",
            stars=39_000,
            forks=6_200,
            watchers=380,
            open_issues=300,
            topics=("gpt", "pytorch"),
            contributors=spread(("karpathy",), 30, 190, "nano"),
            commits=60,
            pulls=PullSpec(30, approve_rate=0.1, merge_rate=0.5, open_count=5),
            head_tags=("v0.9.0", "v0.10.0", "stable"),  # two versions of the head commit: 0.10.0
        ),
        gh_repo(
            "psf/requests",
            files={
                f"src/{k}" if k.startswith("requests/") else k: v
                for k, v in python_project(
                    "requests", modules=("api", "sessions", "adapters", "models")
                ).items()
            }
            | {"setup.py": b"from setuptools import setup\nsetup()\n"},
            license_spdx="Apache-2.0",
            readme=_readme("Requests", "A simple, yet elegant, HTTP library."),
            description="A simple, yet elegant, HTTP library.",
            stars=52_000,
            forks=9_300,
            watchers=1_300,
            open_issues=250,
            topics=("python", "http", "requests"),
            contributors=spread(("kennethreitz", "Lukasa", "sigmavirus24", "nateprewitt"), 80, 1_500, "psf"),
            commits=80,
            pulls=PullSpec(40, approve_rate=0.8, merge_rate=0.8),
            tags=("v2.32.3", "v2.32.2"),
        ),
    ]
