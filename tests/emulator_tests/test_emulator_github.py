"""GitHub REST v3 routes of the emulator, driven with plain httpx like a registry would."""

from __future__ import annotations

import base64
import io
import tarfile
import zipfile

import httpx

from tests.emulator.server import EmulatorServer

RAW = {"Accept": "application/vnd.github.raw+json"}


def test_repo_metadata(gh: httpx.Client) -> None:
    response = gh.get("/repos/google-research/bert")
    repo = response.json()
    assert response.headers["x-ratelimit-limit"] == "5000"
    assert int(response.headers["x-ratelimit-remaining"]) < 5000
    assert repo["full_name"] == "google-research/bert"
    assert repo["default_branch"] == "master"
    assert repo["license"]["spdx_id"] == "Apache-2.0"
    assert repo["stargazers_count"] > 10_000
    for key in (
        "id",
        "html_url",
        "forks_count",
        "open_issues_count",
        "subscribers_count",
        "topics",
        "pushed_at",
    ):
        assert key in repo
    assert gh.get("/repos/weird/custom-license").json()["license"]["spdx_id"] == "NOASSERTION"
    assert gh.get("/repos/nolicense/mystery").json()["license"] is None
    assert gh.get("/no/such/endpoint").json()["message"] == "Not Found"
    missing = gh.get("/repos/nobody/nothing")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found"


def test_readme_raw_and_base64(gh: httpx.Client) -> None:
    raw = gh.get("/repos/google-research/bert/readme", headers=RAW)
    assert raw.text.startswith("# BERT")
    encoded = gh.get("/repos/google-research/bert/readme").json()
    assert encoded["encoding"] == "base64"
    assert encoded["path"] == "README.md"
    assert base64.b64decode(encoded["content"]).decode() == raw.text
    sub = gh.get("/repos/karpathy/nanoGPT/readme/data/shakespeare_char", params={"ref": "master"})
    assert sub.json()["path"] == "data/shakespeare_char/readme.md"
    assert gh.get("/repos/karpathy/nanoGPT/readme/config").status_code == 404


def test_license_endpoint(gh: httpx.Client) -> None:
    lic = gh.get("/repos/gpl/copyleft-tool/license").json()
    assert lic["license"]["spdx_id"] == "GPL-3.0"
    assert b"GNU GENERAL PUBLIC LICENSE" in base64.b64decode(lic["content"])
    assert gh.get("/repos/nolicense/mystery/license").status_code == 404


def test_contributors_pagination(gh: httpx.Client) -> None:
    first = gh.get("/repos/huggingface/transformers/contributors", params={"per_page": 100})
    assert len(first.json()) == 100
    assert "next" in first.links
    assert "last" in first.links
    logins = [c["login"] for c in first.json()]
    url: str | None = first.links["next"]["url"]
    while url:
        page = gh.get(url)
        logins += [c["login"] for c in page.json()]
        url = page.links.get("next", {}).get("url")
    assert len(logins) == len(set(logins)) == 250
    counts = [c["contributions"] for c in first.json()]
    assert counts == sorted(counts, reverse=True)
    assert first.json()[0]["type"] == "User"
    solo = gh.get("/repos/solo/one-person/contributors").json()
    assert [c["login"] for c in solo] == ["solo"]
    assert "link" not in gh.get("/repos/solo/one-person/contributors").headers
    anon = gh.get("/repos/google-research/bert/contributors", params={"anon": "1", "per_page": 100}).json()
    assert any(c["type"] == "Anonymous" for c in anon)


def test_commits(gh: httpx.Client) -> None:
    page = gh.get("/repos/openai/whisper/commits", params={"per_page": 10})
    commits = page.json()
    assert len(commits) == 10
    assert "next" in page.links
    assert commits[0]["parents"][0]["sha"] == commits[1]["sha"]
    assert {"name", "email", "date"} <= set(commits[0]["commit"]["author"])
    tags = gh.get("/repos/openai/whisper/tags").json()
    older = gh.get("/repos/openai/whisper/commits", params={"sha": tags[-1]["commit"]["sha"]}).json()
    assert older[0]["sha"] == tags[-1]["commit"]["sha"]
    since = gh.get("/repos/openai/whisper/commits", params={"since": commits[3]["commit"]["author"]["date"]})
    assert len(since.json()) == 4


def test_pulls_reviews_and_files(gh: httpx.Client) -> None:
    pulls = gh.get("/repos/google-research/bert/pulls", params={"state": "closed", "per_page": 100}).json()
    merged = [p for p in pulls if p["merged_at"]]
    assert merged
    assert all(p["merge_commit_sha"] for p in merged)
    approved = 0
    for pr in merged:
        reviews = gh.get(f"/repos/google-research/bert/pulls/{pr['number']}/reviews").json()
        approved += any(r["state"] == "APPROVED" for r in reviews)
        files = gh.get(f"/repos/google-research/bert/pulls/{pr['number']}/files").json()
        assert files
        assert all(not f["filename"].endswith((".bin", ".safetensors")) for f in files)
        assert all(f["changes"] == f["additions"] + f["deletions"] for f in files)
    assert approved / len(merged) > 0.6
    assert gh.get("/repos/solo/one-person/pulls", params={"state": "all"}).json() == []
    open_prs = gh.get("/repos/google-research/bert/pulls").json()
    assert open_prs
    assert all(p["state"] == "open" for p in open_prs)


def test_tree_and_contents(gh: httpx.Client) -> None:
    tree = gh.get("/repos/karpathy/nanoGPT/git/trees/master", params={"recursive": "1"}).json()
    paths = {e["path"]: e["type"] for e in tree["tree"]}
    assert paths["data/shakespeare_char"] == "tree"
    assert paths["data/shakespeare_char/prepare.py"] == "blob"
    assert tree["truncated"] is False
    top = gh.get("/repos/karpathy/nanoGPT/git/trees/master").json()
    assert all("/" not in e["path"] for e in top["tree"])
    listing = gh.get("/repos/karpathy/nanoGPT/contents/data/shakespeare_char").json()
    assert {e["name"] for e in listing} == {"prepare.py", "readme.md"}
    file = gh.get("/repos/acme/training-code/contents/pyproject.toml").json()
    assert b"[project]" in base64.b64decode(file["content"])
    assert gh.get(file["download_url"]).content == base64.b64decode(file["content"])
    assert gh.get("/repos/acme/training-code/contents/nope.py").status_code == 404


def test_zipball_and_tarball(gh: httpx.Client) -> None:
    head = gh.get("/repos/karpathy/nanoGPT/commits", params={"per_page": 1}).json()[0]["sha"]
    root = f"karpathy-nanoGPT-{head[:7]}/"
    archive = zipfile.ZipFile(io.BytesIO(gh.get("/repos/karpathy/nanoGPT/zipball").content))
    assert archive.testzip() is None
    assert all(n.startswith(root) for n in archive.namelist())
    assert root + "data/shakespeare_char/prepare.py" in archive.namelist()
    tarball = gh.get("/repos/psf/requests/tarball/v2.32.3")
    with tarfile.open(fileobj=io.BytesIO(tarball.content), mode="r:gz") as tar:
        assert any(name.endswith("/pyproject.toml") for name in tar.getnames())
    assert gh.get("/repos/psf/requests/zipball/no-such-ref").status_code == 404


def test_github_rate_limits(faults_cleared: EmulatorServer, gh: httpx.Client) -> None:
    faults_cleared.faults.rate_limit("^/github/repos/psf/requests$", times=1)
    limited = gh.get("/repos/psf/requests")
    assert limited.status_code == 403
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert gh.get("/repos/psf/requests").status_code == 200
    faults_cleared.faults.add("^/github/", status=429, headers={"retry-after": "1"}, times=1)
    assert gh.get("/repos/psf/requests").headers["retry-after"] == "1"
    faults_cleared.faults.clear()
    faults_cleared.faults.set_github_rate_limit(2)
    try:
        assert [gh.get("/repos/psf/requests").status_code for _ in range(3)] == [200, 200, 403]
    finally:
        faults_cleared.faults.set_github_rate_limit(5000)
    assert faults_cleared.faults.requests_seen("^/github/") == 3


def test_github_auth_recorded(faults_cleared: EmulatorServer, gh: httpx.Client) -> None:
    gh.get("/repos/psf/requests", headers={"Authorization": "Bearer ghp_test"})
    assert faults_cleared.faults.last_authorization("github") == "Bearer ghp_test"
    assert faults_cleared.faults.last_authorization("hf") is None
