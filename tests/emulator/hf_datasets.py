"""Hugging Face dataset fixtures: cards with license/task/size metadata and a few small data files."""

from __future__ import annotations

from typing import Any

from tests.emulator.blobs import stable_int
from tests.emulator.content import csv_rows, jsonl_rows, parquet_like
from tests.emulator.hf_builders import hf_dataset
from tests.emulator.repos import HfRepo


def _dataset_info(config: str, features: list[str], rows: int, size: int) -> dict[str, Any]:
    return {
        "config_name": config,
        "features": [{"name": f, "dtype": "string"} for f in features],
        "splits": [{"name": "train", "num_bytes": size, "num_examples": rows}],
        "download_size": size // 2,
        "dataset_size": size,
    }


def _ds_meta(lic: str | list[str], tasks: list[str], size_cat: str, info: dict[str, Any]) -> dict[str, Any]:
    return {
        "license": lic,
        "language": ["en"],
        "task_categories": tasks,
        "size_categories": [size_cat],
        "dataset_info": info,
    }


def hf_datasets() -> list[HfRepo]:
    """All dataset fixtures."""

    def seed(name: str) -> int:
        return stable_int("dataset", name)

    return [
        hf_dataset(
            "bookcorpus/bookcorpus",
            meta=_ds_meta(
                "unknown",
                ["text-generation", "fill-mask"],
                "10M<n<100M",
                _dataset_info("plain_text", ["text"], 74_004_228, 4_853_859_824),
            ),
            files={"plain_text/train-00000-of-00001.parquet": parquet_like(seed("bookcorpus"))},
            downloads=25_000,
            likes=65,
            aliases=("bookcorpus",),
            description="Books are a rich source of both fine-grained information and high-level structure.",
            citation="@InProceedings{Zhu_2015_ICCV, title = {Aligning Books and Movies}, year = {2015}}",
        ),
        hf_dataset(
            "wikimedia/wikipedia",
            meta=_ds_meta(
                ["cc-by-sa-3.0", "gfdl"],
                ["text-generation", "fill-mask"],
                "1M<n<10M",
                _dataset_info("20231101.en", ["id", "url", "title", "text"], 6_407_814, 20_277_183_000),
            ),
            files={"20231101.en/train-00000-of-00041.parquet": parquet_like(seed("wiki"), 8192)},
            downloads=120_000,
            likes=700,
            aliases=("wikipedia",),
            description="Wikipedia dataset containing cleaned articles of all languages.",
        ),
        hf_dataset(
            "rajpurkar/squad",
            meta={
                **_ds_meta(
                    "cc-by-sa-4.0",
                    ["question-answering"],
                    "10K<n<100K",
                    _dataset_info("plain_text", ["id", "title", "context", "question"], 87_599, 79_317_110),
                ),
                "paperswithcode_id": "squad",
            },
            files={
                "plain_text/train-00000-of-00001.parquet": parquet_like(seed("squad")),
                "plain_text/validation-00000-of-00001.parquet": parquet_like(seed("squad-val")),
            },
            downloads=90_000,
            likes=280,
            aliases=("squad",),
            head_tags=("v1.9", "v1.10"),  # two versions of one commit: 1.10.0 wins (not by spelling)
            citation="@article{2016arXiv160605250R, title = {SQuAD: 100,000+ Questions}, year = {2016}}",
        ),
        hf_dataset(
            "acme/instruct-data",
            meta=_ds_meta(
                "apache-2.0",
                ["text-generation"],
                "1K<n<10K",
                _dataset_info("default", ["instruction", "response"], 5_000, 2_400_000),
            ),
            body="# acme/instruct-data\n\nInstruction pairs. Built with https://github.com/acme/training-code",
            files={"data/train.jsonl": jsonl_rows(["instruction", "response"], 40, seed("instruct"))},
            downloads=800,
            likes=9,
        ),
        hf_dataset(
            "stanfordnlp/imdb",
            meta=_ds_meta(
                "other",
                ["text-classification"],
                "10K<n<100K",
                _dataset_info("plain_text", ["text", "label"], 25_000, 33_432_823),
            ),
            files={"plain_text/train.csv": csv_rows(["id", "text", "label"], 50, seed("imdb"))},
            downloads=150_000,
            likes=260,
            aliases=("imdb",),
        ),
        hf_dataset(
            "openai/gsm8k",
            meta=_ds_meta(
                "mit",
                ["text2text-generation"],
                "1K<n<10K",
                _dataset_info("main", ["question", "answer"], 7_473, 3_963_202),
            ),
            files={"main/train.jsonl": jsonl_rows(["question", "answer"], 30, seed("gsm8k"))},
            downloads=300_000,
            likes=500,
            aliases=("gsm8k",),
        ),
        hf_dataset(
            "nyu-mll/glue",
            meta=_ds_meta(
                "other",
                ["text-classification"],
                "10K<n<100K",
                _dataset_info("sst2", ["sentence", "label"], 67_349, 4_681_603),
            ),
            files={"sst2/train-00000-of-00001.parquet": parquet_like(seed("glue-sst2"))},
            downloads=200_000,
            likes=350,
            aliases=("glue",),
        ),
        hf_dataset(
            "bare/empty-dataset",
            files={"data.csv": csv_rows(["id", "x"], 5, seed("empty"))},
            downloads=1,
        ),
    ]
