"""Source URL parsing: which upstream a URL names, and which repository, revision and folder."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from tmr.errors import InvalidInput
from tmr.sources.models import SourceKind, SourceRef

MAX_URL_LENGTH = 2048
_HF_HOSTS = {"huggingface.co", "www.huggingface.co", "hf.co"}
_GITHUB_HOSTS = {"github.com", "www.github.com"}
# Hub pages that are not repositories.
_HF_RESERVED = {"api", "spaces", "docs", "blog", "models", "settings", "organizations", "papers"}


def parse_source_url(url: str, *, want_dataset: bool = False) -> SourceRef:
    """Parse a registration URL. Hugging Face and GitHub URLs name a repository (with an optional
    `/tree/<rev>/<sub>`); anything else over http(s) is a plain URL. `want_dataset` reads a Hub URL
    without `/datasets/` as a dataset, for clients that register datasets by their bare id."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("url must be a non-empty string")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"url is longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url must be an absolute http(s) URL")
    host = parts.hostname.lower()
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if host in _HF_HOSTS:
        return _parse_hf(url, host, segments, want_dataset)
    if host in _GITHUB_HOSTS:
        return _parse_github(url, host, segments)
    return SourceRef(kind=SourceKind.URL, url=url, host=host)


def _split_tree(rest: list[str]) -> tuple[str | None, str]:
    if len(rest) >= 2 and rest[0] in ("tree", "blob", "resolve"):
        return rest[1], "/".join(rest[2:])
    return None, ""


def _parse_hf(url: str, host: str, segments: list[str], want_dataset: bool) -> SourceRef:
    kind = SourceKind.HF_MODEL
    if segments and segments[0] == "datasets":
        kind = SourceKind.HF_DATASET
        segments = segments[1:]
    elif want_dataset:
        kind = SourceKind.HF_DATASET
    if not segments or segments[0] in _HF_RESERVED:
        raise InvalidInput(f"not a Hugging Face repository URL: {url}")
    # `owner/name`, or a legacy single-segment id such as `gpt2` followed by `/tree/...`.
    if len(segments) == 1 or segments[1] in ("tree", "blob", "resolve"):
        repo_id, rest = segments[0], segments[1:]
    else:
        repo_id, rest = f"{segments[0]}/{segments[1]}", segments[2:]
    revision, subpath = _split_tree(rest)
    return SourceRef(kind=kind, url=url, repo_id=repo_id, revision=revision, subpath=subpath, host=host)


def _parse_github(url: str, host: str, segments: list[str]) -> SourceRef:
    if len(segments) < 2:
        raise InvalidInput(f"not a GitHub repository URL: {url}")
    owner, name = segments[0], segments[1]
    if name.endswith(".git"):
        name = name[: -len(".git")]
    if not name:
        raise InvalidInput(f"not a GitHub repository URL: {url}")
    revision, subpath = _split_tree(segments[2:])
    return SourceRef(
        kind=SourceKind.GITHUB,
        url=url,
        repo_id=f"{owner}/{name}",
        revision=revision,
        subpath=subpath,
        host=host,
    )
