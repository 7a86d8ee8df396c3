"""Fixture data itself: coverage of the required repositories, determinism and valid file formats."""

from __future__ import annotations

import json
import pickletools
import struct

from tests.emulator.fixtures import (
    DEFAULT_FIXTURES,
    Fixtures,
    all_urls,
    default_fixtures,
    github_repos,
    hf_datasets,
    hf_model,
    hf_models,
)


def test_required_fixtures_present() -> None:
    models = {r.repo_id for r in hf_models()}
    assert len(models) >= 16
    assert len(hf_datasets()) >= 8
    assert len(github_repos()) >= 10
    for repo_id in (
        "google-bert/bert-base-uncased",
        "acme/base-lm-finetuned-lora",
        "meta-llama/Llama-3.2-1B",
        "bare/cycle-a",
        "big/large-weights",
        "evil/pickle-model",
        "safe/pickle-model",
    ):
        assert repo_id in models
    urls = all_urls()
    assert "https://huggingface.co/google-bert/bert-base-uncased" in urls
    assert "https://huggingface.co/datasets/rajpurkar/squad" in urls
    assert "https://github.com/karpathy/nanoGPT" in urls
    assert any(r.default_branch == "master" for r in github_repos())


def test_fixtures_are_deterministic() -> None:
    again = default_fixtures()
    assert [(r.repo_id, r.sha, r.tree_ids[""]) for r in again.hf] == [
        (r.repo_id, r.sha, r.tree_ids[""]) for r in DEFAULT_FIXTURES.hf
    ]
    assert [(r.head_sha, len(r.pulls)) for r in again.github] == [
        (r.head_sha, len(r.pulls)) for r in DEFAULT_FIXTURES.github
    ]


def test_every_safetensors_header_is_valid() -> None:
    for repo in hf_models():
        for path, entry in repo.entries.items():
            if path.endswith(".safetensors"):
                head = b"".join(entry.blob.iter_range(0, 8))
                (length,) = struct.unpack("<Q", head)
                meta = json.loads(b"".join(entry.blob.iter_range(8, 8 + length)))
                end = max(v["data_offsets"][1] for k, v in meta.items() if k != "__metadata__")
                assert 8 + length + end == entry.size, (repo.repo_id, path)


def test_pickles_are_real() -> None:
    def globals_of(data: bytes) -> list[str]:
        return [str(arg) for op, arg, _ in pickletools.genops(data) if op.name in ("GLOBAL", "STACK_GLOBAL")]

    evil = DEFAULT_FIXTURES.hf_repo("model", "evil/pickle-model")
    safe = DEFAULT_FIXTURES.hf_repo("model", "safe/pickle-model")
    assert evil is not None
    assert safe is not None
    assert any("system" in g for g in globals_of(evil.files["pytorch_model.bin"].read()))
    assert globals_of(safe.files["pytorch_model.bin"].read()) == []


def test_lineage_cards() -> None:
    cards = {r.repo_id: r.card_data or {} for r in hf_models()}
    assert cards["acme/base-lm-finetuned"]["base_model"] == "acme/base-lm"
    assert cards["acme/base-lm-finetuned-lora"]["base_model"] == "acme/base-lm-finetuned"
    assert cards["bare/self-parent"]["base_model"] == "bare/self-parent"
    assert cards["bare/cycle-a"]["base_model"] == "bare/cycle-b"
    assert cards["bare/cycle-b"]["base_model"] == "bare/cycle-a"


def test_merged_adds_repositories() -> None:
    extra = Fixtures(hf=[hf_model("me/tiny", meta={"license": "mit"})])
    merged = DEFAULT_FIXTURES.merged(extra)
    assert merged.hf_repo("model", "me/tiny") is extra.hf[0]
    assert DEFAULT_FIXTURES.hf_repo("model", "me/tiny") is None  # merged into a copy, not the defaults
    assert len(merged.hf) == len(DEFAULT_FIXTURES.hf) + 1
