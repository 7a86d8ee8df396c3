"""Source URL parsing: which upstream a URL names, and which repository, revision and folder."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from tmr.errors import InvalidInput
from tmr.sources.models import SourceKind, SourceRef

MAX_URL_LENGTH = 2048
_HF_HOSTS = {"huggingface.co", "www.huggingface.co", "hf.co"}
_GITHUB_HOSTS = {"github.com", "www.github.com"}
# Hub pages that are not repositories.
_HF_RESERVED = {"api", "spaces", "docs", "blog", "models", "settings", "organizations", "papers"}
# Repository ids as the upstreams allow them. Every part later becomes a path segment of an API
# call made with the server's own token, so anything else is refused before a request is made.
_HF_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?")
HF_REPO_ID_MAX = 96
_GH_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,38})")
_GH_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
_MAX_DECODINGS = 4


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
        return _checked(_parse_hf(url, host, segments, want_dataset))
    if host in _GITHUB_HOSTS:
        return _checked(_parse_github(url, host, segments))
    return SourceRef(kind=SourceKind.URL, url=url, host=host)


def check_hf_repo_id(repo_id: str) -> str:
    """A Hub repository id, `owner/name` or a legacy `name`, by the Hub's own rules (parts of
    letters, digits, `.`, `_`, `-`, starting with a letter or digit; no `--` or `..`; at most 96
    characters)."""
    parts = repo_id.split("/")
    if (
        not 1 <= len(parts) <= 2
        or len(repo_id) > HF_REPO_ID_MAX
        or "--" in repo_id
        or ".." in repo_id
        or not all(_HF_PART.fullmatch(part) for part in parts)
    ):
        raise InvalidInput(f"not a valid Hugging Face repository id: {repo_id!r}")
    return repo_id


def check_github_repo_id(repo_id: str) -> str:
    """A GitHub `owner/name`: an account name (letters, digits, `-`, `_`; at most 39) and a
    repository name (letters, digits, `.`, `_`, `-`; at most 100; never `.` or `..`)."""
    owner, _, name = repo_id.partition("/")
    if not _GH_OWNER.fullmatch(owner) or not _GH_NAME.fullmatch(name) or name in (".", ".."):
        raise InvalidInput(f"not a valid GitHub repository: {repo_id!r}")
    return repo_id


def check_path(value: str, what: str) -> str:
    """A revision or a folder inside a repository: `/`-separated segments, none empty-dotted
    (`.`, `..`), none holding a backslash or a control character, and none turning into such a
    segment or into a `/` when percent-decoded again (an upstream decodes what it receives)."""
    for segment in value.split("/"):
        layer = segment
        for depth in range(_MAX_DECODINGS + 1):
            if (
                layer in (".", "..")
                or "\\" in layer
                or (depth and "/" in layer)
                or any(ord(c) < 32 or ord(c) == 127 for c in layer)
            ):
                raise InvalidInput(f"{what} {value!r} is not a plain path inside the repository")
            decoded = unquote(layer)
            if decoded == layer:
                break
            layer = decoded
        else:
            raise InvalidInput(f"{what} {value!r} is percent-encoded too many times")
    return value


def quote_path(*parts: str) -> str:
    """`parts` (each possibly `/`-separated) as one URL path, every segment quoted whole, so no
    part can add, climb or re-encode a level of the upstream's API path."""
    return "/".join(
        quote(segment, safe="") for part in parts for segment in check_path(part, "path").split("/")
    )


def quote_segment(value: str, what: str) -> str:
    """`value` (a revision such as `refs/pr/1`) as one quoted path segment."""
    return quote(check_path(value, what), safe="")


def _checked(ref: SourceRef) -> SourceRef:
    """A repository reference whose every part is safe to put in an upstream API path."""
    if ref.kind is SourceKind.GITHUB:
        check_github_repo_id(ref.repo_id)
    else:
        check_hf_repo_id(ref.repo_id)
    if ref.revision is not None:
        if not ref.revision:
            raise InvalidInput(f"{ref.url} names an empty revision")
        check_path(ref.revision, "revision")
    if ref.subpath:
        check_path(ref.subpath.strip("/"), "folder")
    return ref


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
