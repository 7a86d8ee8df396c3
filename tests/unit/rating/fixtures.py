"""Builders of rating evidence: a well-documented, widely-reviewed model, a bare one, and helpers to
vary one thing at a time. Cards are written as text and parsed with the sources' own card parser,
so the metadata a metric sees is what a real registration would give it."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from typing import Any

import yaml
from hypothesis import strategies as st

from tmr.rating.evidence import DatasetEvidence, FileFact, ModelEvidence, RepositoryEvidence
from tmr.sources.cards import split_card
from tmr.sources.facts import Contributor, PullRequest

NOW = datetime(2025, 11, 1, tzinfo=UTC)
MB = 1_000_000
GB = 1_000_000_000

GOOD_META: dict[str, Any] = {
    "license": "apache-2.0",
    "language": ["en"],
    "pipeline_tag": "text-classification",
    "library_name": "transformers",
    "tags": ["bert", "sentiment"],
    "datasets": ["stanfordnlp/sst2", "nyu-mll/glue"],
    "base_model": "google-bert/bert-base-uncased",
    "model-index": [
        {
            "name": "acme/bert-sst2",
            "results": [
                {
                    "task": {"type": "text-classification"},
                    "dataset": {"name": "SST-2", "type": "stanfordnlp/sst2"},
                    "metrics": [{"type": "accuracy", "value": 0.932}, {"type": "f1", "value": 0.929}],
                },
                {
                    "task": {"type": "text-classification"},
                    "dataset": {"name": "GLUE MRPC", "type": "nyu-mll/glue"},
                    "metrics": [{"type": "accuracy", "value": 0.871}],
                },
            ],
        }
    ],
}

GOOD_BODY = """
# BERT fine-tuned on SST-2

A BERT base model fine-tuned for binary sentiment classification of English sentences. It was
introduced as a baseline in [our paper](https://arxiv.org/abs/1810.04805); the training code lives
in [our repository](https://github.com/acme/bert-sst2) and the [docs](https://acme.example/docs).

## Intended uses & limitations

Use it to classify the sentiment of short English texts such as product reviews or tweets. It is not
meant for other languages, long documents, or decisions about people.

## How to use

```python
from transformers import pipeline
classifier = pipeline("text-classification", model="acme/bert-sst2")
classifier("A delightful, moving film.")
```

```python
from transformers import AutoTokenizer, AutoModelForSequenceClassification
tokenizer = AutoTokenizer.from_pretrained("acme/bert-sst2")
model = AutoModelForSequenceClassification.from_pretrained("acme/bert-sst2")
```

## Limitations and bias

The model inherits the biases of its pre-training corpus and of movie reviews; sarcasm and negation
across sentences are frequent errors. Evaluate it on your own data before relying on it.

## Training data

The model was fine-tuned on [SST-2](https://huggingface.co/datasets/stanfordnlp/sst2), 67,349 movie
review sentences labelled positive or negative, after pre-training on BookCorpus and Wikipedia.

## Training procedure

Fine-tuned with the training script `train.py` for 3 epochs, learning rate 2e-5, batch size 32,
AdamW optimizer with linear warmup over the first 10% of the steps, on one A100 GPU in 40 minutes.

## Evaluation results

| Dataset | Accuracy | F1 |
|:-------:|:--------:|:--:|
| SST-2   | 93.2     | 92.9 |
| MRPC    | 87.1     | 90.3 |

On the GLUE SST-2 validation set the model reaches 93.2% accuracy.

## Citation

```bibtex
@article{devlin2018bert, title={BERT}, author={Devlin, Jacob and others}, year={2018}}
```
"""


def card_text(meta: dict[str, Any] | None, body: str) -> str:
    """A model card as the Hub stores it: YAML front matter, then the Markdown body."""
    if meta is None:
        return body
    return f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}"


def with_readme(evidence: ModelEvidence, readme: str) -> ModelEvidence:
    """`evidence` with another card, parsed as the sources parse cards."""
    card, _body, error = split_card(readme)
    return dataclasses.replace(evidence, readme=readme, card=card, card_error=error)


def contributors(*counts: int) -> tuple[Contributor, ...]:
    return tuple(Contributor(f"dev{i}", c) for i, c in enumerate(counts))


def pulls(*specs: tuple[bool, int]) -> tuple[PullRequest, ...]:
    """Merged pull requests from (approved, code_lines) pairs."""
    return tuple(PullRequest(i + 1, approved, lines) for i, (approved, lines) in enumerate(specs))


def repository(**changes: Any) -> RepositoryEvidence:
    """A healthy, widely-reviewed code repository."""
    base = RepositoryEvidence(
        url="https://github.com/acme/bert-sst2",
        full_name="acme/bert-sst2",
        license="Apache-2.0",
        readme=" ".join(["Training and evaluation code for the SST-2 classifier."] * 150),
        stars=4200,
        forks=600,
        open_issues=12,
        archived=False,
        pushed_at=datetime(2025, 10, 20, tzinfo=UTC),
        contributors=contributors(120, 100, 90, 80, 75, 60, 50, 40, 30, 25, 20, 10, 5, 5, 2),
        files=(
            FileFact("README.md", 9000, "docs"),
            FileFact("LICENSE", 11000, "docs"),
            FileFact("pyproject.toml", 1500, "config"),
            FileFact("requirements.txt", 200, "docs"),
            FileFact(".github/workflows/ci.yml", 900, "config"),
            FileFact("src/bert_sst2/train.py", 8000, "code"),
            FileFact("src/bert_sst2/model.py", 6000, "code"),
            FileFact("tests/test_model.py", 3000, "code"),
        ),
        pulls=pulls((True, 400), (True, 250), (True, 120), (False, 30), (True, 800), (True, 60)),
        direct_commit_lines=40,
    )
    return dataclasses.replace(base, **changes)


def dataset(name: str = "stanfordnlp/sst2", **changes: Any) -> DatasetEvidence:
    """A well-documented, resolved, popular dataset with hosted data files."""
    card = {
        "license": "unknown",
        "task_categories": ["text-classification"],
        "size_categories": ["10K<n<100K"],
        "pretty_name": "Stanford Sentiment Treebank v2",
        "dataset_info": {"features": [{"name": "sentence", "dtype": "string"}]},
    }
    readme = card_text(card, "# SST-2\n\n" + "Movie review sentences with sentiment labels. " * 20 + CITATION)
    base = DatasetEvidence(
        name=name,
        url=f"https://huggingface.co/datasets/{name}",
        card=card,
        readme=readme,
        license="unknown",
        downloads=250_000,
        likes=140,
        files=(
            FileFact("README.md", 5000, "docs"),
            FileFact("data/train-00000-of-00001.parquet", 3 * MB, "data"),
        ),
        registered=True,
    )
    return dataclasses.replace(base, **changes)


CITATION = "\n\n## Citation\n\n```bibtex\n@inproceedings{socher2013, title={Recursive deep models}}\n```\n"


def good_model(**changes: Any) -> ModelEvidence:
    """A well-documented, widely-reviewed model: rich card, usage code, config, tokenizer, a linked
    repository with many contributors and mostly approved PRs, datasets with good cards."""
    readme = card_text(GOOD_META, GOOD_BODY)
    card, _body, error = split_card(readme)
    base = ModelEvidence(
        name="acme/bert-sst2",
        url="https://huggingface.co/acme/bert-sst2",
        readme=readme,
        card=card,
        card_error=error,
        license="apache-2.0",
        downloads=1_200_000,
        likes=310,
        tags=("transformers", "pytorch", "safetensors", "bert", "text-classification", "en"),
        pipeline_tag="text-classification",
        library_name="transformers",
        config={
            "architectures": ["BertForSequenceClassification"],
            "model_type": "bert",
            "vocab_size": 30522,
        },
        adapter_config=None,
        files=(
            FileFact("README.md", 6000, "docs"),
            FileFact("config.json", 700, "config"),
            FileFact("tokenizer.json", 466_000, "tokenizer"),
            FileFact("vocab.txt", 232_000, "tokenizer"),
            FileFact("model.safetensors", 438 * MB, "weights"),
            FileFact("pytorch_model.bin", 440 * MB, "weights"),
            FileFact("tf_model.h5", 536 * MB, "weights"),
        ),
        repository=repository(),
        datasets=(dataset("stanfordnlp/sst2"), dataset("nyu-mll/glue", downloads=180_000, likes=400)),
        parent_net_scores=(0.86,),
        last_modified=datetime(2025, 9, 1, tzinfo=UTC),
        observed_at=NOW,  # as the gatherer sets it: code_quality's "now"
    )
    return dataclasses.replace(base, **changes)


def bare_model(**changes: Any) -> ModelEvidence:
    """Nothing to go on: no card, no config, no repository, no datasets, no files."""
    base = ModelEvidence(
        name="someone/bare",
        url="https://huggingface.co/someone/bare",
        readme="",
        card={},
        card_error=None,
        license=None,
        downloads=0,
        likes=0,
        tags=(),
        pipeline_tag=None,
        library_name=None,
        config=None,
        adapter_config=None,
        files=(),
        repository=None,
        datasets=(),
    )
    return dataclasses.replace(base, **changes)


def weights(*specs: tuple[str, int]) -> tuple[FileFact, ...]:
    return tuple(FileFact(path, size, "weights") for path, size in specs)


# Random evidence for range properties: anything the sources could plausibly hand over, and worse.
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_CARD_KEYS = ["license", "language", "pipeline_tag", "tags", "datasets", "base_model", "model-index",
              "library_name", "task_categories", "size_categories", "dataset_info", "citation"]  # fmt: skip
_cards = st.dictionaries(st.sampled_from(_CARD_KEYS), _json, max_size=6) | st.just(GOOD_META)
_PIECES = [
    GOOD_BODY,
    "# Usage\n```python\nfrom_pretrained(\n",
    "| a | 1.5 |\n|---|---|\n| 93.2 | x |",
    "~~~\nunclosed",
    "**Limitations**\n",
    "arxiv.org/abs/1234.56789",
    "SQuAD 88.5 F1",
    "```",
    "",
]
_texts = st.lists(st.sampled_from(_PIECES) | st.text(max_size=60), max_size=5).map("\n".join)
_paths = st.sampled_from(
    [
        "model.safetensors",
        "model-00001-of-00002.safetensors",
        "pytorch_model.bin",
        "tf_model.h5",
        "onnx/model.onnx",
        "q4.gguf",
        "checkpoint-500/optimizer.pt",
        "unet/a.fp16.safetensors",
        "tests/test_a.py",
        "setup.py",
        ".github/workflows/ci.yml",
        "train.py",
        "data/x.parquet",
        "tokenizer.json",
    ]
)
_kinds = st.sampled_from(["weights", "config", "tokenizer", "docs", "code", "data", "other"])
_files = st.lists(st.builds(FileFact, _paths, st.integers(0, 10**12), _kinds), max_size=8).map(tuple)
_datetimes = st.none() | st.datetimes(timezones=st.just(UTC))
_repositories = st.builds(
    RepositoryEvidence,
    url=st.just("https://github.com/x/y"),
    full_name=st.just("x/y"),
    license=st.none() | st.sampled_from(["MIT", "NOASSERTION", ""]),
    readme=_texts,
    stars=st.integers(0, 10**6),
    forks=st.integers(0, 10**5),
    open_issues=st.integers(0, 10**4),
    archived=st.booleans(),
    pushed_at=_datetimes,
    contributors=st.lists(
        st.builds(Contributor, st.sampled_from(["a", "b", "c", "dependabot[bot]"]), st.integers(-3, 10**5)),
        max_size=12,
    ).map(tuple),
    files=_files,
    pulls=st.none()
    | st.lists(
        st.builds(PullRequest, st.integers(1, 999), st.booleans(), st.integers(-10, 10**6)), max_size=8
    ).map(tuple),
    direct_commit_lines=st.integers(-10, 10**6),
)
_datasets = st.builds(
    DatasetEvidence,
    name=st.text(min_size=1, max_size=20),
    url=st.none() | st.just("https://huggingface.co/datasets/x"),
    card=_cards,
    readme=_texts,
    license=st.none() | st.just("mit"),
    downloads=st.integers(0, 10**9),
    likes=st.integers(0, 10**6),
    files=_files,
    registered=st.booleans(),
)
random_evidence = st.builds(
    ModelEvidence,
    name=st.just("r/m"),
    url=st.just("https://huggingface.co/r/m"),
    readme=_texts,
    card=_cards,
    card_error=st.none() | st.just("card metadata is not valid YAML"),
    license=st.none() | st.just("mit"),
    downloads=st.integers(0, 10**9),
    likes=st.integers(0, 10**6),
    tags=st.lists(st.sampled_from(["fill-mask", "bert", "license:mit", "image-classification"])).map(tuple),
    pipeline_tag=st.none() | st.sampled_from(["text-generation", "image-classification", "weird-task"]),
    library_name=st.none() | st.sampled_from(["transformers", "timm", "unknown-lib"]),
    config=st.none() | st.dictionaries(st.sampled_from(["architectures", "model_type", "vocab_size"]), _json),
    adapter_config=st.none()
    | st.dictionaries(st.sampled_from(["task_type", "base_model_name_or_path"]), _json),
    files=_files,
    repository=st.none() | _repositories,
    datasets=st.lists(_datasets, max_size=3).map(tuple),
    parent_net_scores=st.lists(st.floats(-1, 2) | st.just(math.nan), max_size=4).map(tuple),
    last_modified=_datetimes,
    observed_at=_datetimes,
)
