import pytest

from tmr.errors import InvalidInput
from tmr.sources.models import SourceKind
from tmr.sources.urls import parse_source_url


@pytest.mark.parametrize(
    ("url", "kind", "repo", "revision", "subpath", "name"),
    [
        (
            "https://huggingface.co/google-bert/bert-base-uncased",
            SourceKind.HF_MODEL,
            "google-bert/bert-base-uncased",
            None,
            "",
            "bert-base-uncased",
        ),
        (
            "https://huggingface.co/openai/whisper-tiny/tree/main",
            SourceKind.HF_MODEL,
            "openai/whisper-tiny",
            "main",
            "",
            "whisper-tiny",
        ),
        (
            "https://huggingface.co/org/m/tree/v1.0/sub/dir",
            SourceKind.HF_MODEL,
            "org/m",
            "v1.0",
            "sub/dir",
            "m",
        ),
        (
            "https://huggingface.co/datasets/bookcorpus/bookcorpus",
            SourceKind.HF_DATASET,
            "bookcorpus/bookcorpus",
            None,
            "",
            "bookcorpus",
        ),
        ("https://huggingface.co/datasets/squad", SourceKind.HF_DATASET, "squad", None, "", "squad"),
        ("https://huggingface.co/gpt2", SourceKind.HF_MODEL, "gpt2", None, "", "gpt2"),
        ("https://github.com/openai/whisper", SourceKind.GITHUB, "openai/whisper", None, "", "whisper"),
        ("https://github.com/openai/whisper.git", SourceKind.GITHUB, "openai/whisper", None, "", "whisper"),
        (
            "https://github.com/karpathy/nanoGPT/tree/master/data",
            SourceKind.GITHUB,
            "karpathy/nanoGPT",
            "master",
            "data",
            "nanoGPT",
        ),
        ("https://www.kaggle.com/datasets/owner/some-data", SourceKind.URL, "", None, "", "some-data"),
    ],
)
def test_parse_known_urls(
    url: str, kind: SourceKind, repo: str, revision: str | None, subpath: str, name: str
) -> None:
    ref = parse_source_url(url)
    assert (ref.kind, ref.repo_id, ref.revision, ref.subpath, ref.default_name) == (
        kind,
        repo,
        revision,
        subpath,
        name,
    )
    assert ref.url == url  # echoed verbatim, suffixes included


def test_dataset_type_reads_bare_hub_ids_as_datasets() -> None:
    assert (
        parse_source_url("https://huggingface.co/rajpurkar/squad", want_dataset=True).kind
        is SourceKind.HF_DATASET
    )


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "not a url",
        "ftp://huggingface.co/x/y",
        "https://huggingface.co/",
        "https://huggingface.co/spaces/a/b",
        "https://github.com/onlyowner",
        "https://" + "a" * 3000 + ".com",
        "/relative/path",
    ],
)
def test_bad_urls_are_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInput):
        parse_source_url(url)
