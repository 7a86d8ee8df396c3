import pytest

from tmr.errors import InvalidInput
from tmr.sources.models import SourceKind
from tmr.sources.urls import parse_source_url, quote_path, quote_segment


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


# Issue 11: a registered URL is turned into upstream API paths called with the server's own
# token. Each of these once reached another API path (a `..` climbing out of the repository, an
# encoded `/` or `.` the upstream decodes) and its answer was stored as a README.
@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/openai/whisper/tree/main/../../../../user",
        "https://github.com/openai/whisper/tree/main/docs/..",
        "https://github.com/openai/whisper/tree/main/%2e%2e/%2E%2E",
        "https://github.com/openai/whisper/tree/main/a%2F..%2F..%2F..",
        "https://github.com/openai/whisper/tree/main/%252e%252e",
        "https://github.com/openai/whisper/tree/main/a%252F..",
        "https://github.com/openai/whisper/tree/main/a%5C..%5Cb",
        "https://github.com/openai/whisper/tree/main/a\\b",
        "https://github.com/openai/whisper/tree/main/a%00b",
        "https://github.com/openai/whisper/tree/main/a%0Ab",
        "https://github.com/openai/whisper/tree/../x",
        "https://github.com/openai/whisper/tree/%2e%2e",
        "https://github.com/openai/..",
        "https://github.com/%2e%2e/whisper",
        "https://github.com/openai%2F..%2F..%2Fuser/whisper",
        "https://github.com/open%20ai/whisper",
        "https://github.com/-openai/whisper",
        "https://github.com/openai/whis%3Fper",
        "https://github.com/" + "a" * 40 + "/whisper",
        "https://huggingface.co/google-bert%2F..%2F..%2Fwhoami-v2/x",
        "https://huggingface.co/google-bert/bert%2F..%2F..",
        "https://huggingface.co/google-bert/..",
        "https://huggingface.co/%2e%2e/bert-base-uncased",
        "https://huggingface.co/datasets/..%2F..%2Fapi%2Fwhoami-v2",
        "https://huggingface.co/google--bert/bert",
        "https://huggingface.co/google-bert/bert..base",
        "https://huggingface.co/google-bert/-bert",
        "https://huggingface.co/google-bert/bert-",
        "https://huggingface.co/google-bert/bert%3Fx",
        "https://huggingface.co/a/" + "b" * 95,
        "https://huggingface.co/google-bert/bert-base-uncased/tree/..",
        "https://huggingface.co/google-bert/bert-base-uncased/tree/refs%2F..%2F..",
        "https://huggingface.co/google-bert/bert-base-uncased/tree/main/..%2F..%2F..",
        "https://huggingface.co/google-bert/bert-base-uncased/tree/main/sub/%252e%252e",
    ],
)
def test_urls_leaving_their_repository_are_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInput):
        parse_source_url(url)


@pytest.mark.parametrize(
    ("url", "repo", "revision", "subpath"),
    [
        ("https://huggingface.co/a.b_c-d/e.f_g-h", "a.b_c-d/e.f_g-h", None, ""),
        ("https://huggingface.co/gpt2/tree/refs%2Fpr%2F1", "gpt2", "refs/pr/1", ""),
        ("https://huggingface.co/org/m/tree/v1.0/a.b/c..d", "org/m", "v1.0", "a.b/c..d"),
        ("https://huggingface.co/org/m/tree/main/100%25", "org/m", "main", "100%"),
        (
            "https://github.com/some_user/repo.name-x/tree/feature%2Fx/src",
            "some_user/repo.name-x",
            "feature/x",
            "src",
        ),
        ("https://github.com/a/.github", "a/.github", None, ""),
    ],
)
def test_plain_ids_revisions_and_folders_still_parse(
    url: str, repo: str, revision: str | None, subpath: str
) -> None:
    ref = parse_source_url(url)
    assert (ref.repo_id, ref.revision, ref.subpath) == (repo, revision, subpath)


def test_path_parts_are_quoted_whole() -> None:
    assert quote_path("org/m", "a b/c?d#e") == "org/m/a%20b/c%3Fd%23e"
    assert quote_segment("refs/pr/1", "revision") == "refs%2Fpr%2F1"
    for bad in ("..", "a/../b", "a/./b", "%2e%2e", "a\\b"):
        with pytest.raises(InvalidInput):
            quote_path(bad)
