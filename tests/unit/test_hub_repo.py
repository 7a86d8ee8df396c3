"""An artifact seen as a Hub repository: commits, revisions, descriptions, trees and headers."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from tmr.artifacts.models import Artifact, ArtifactType, FileEntry, FileKind, Visibility
from tmr.hub.git import manifest_commit
from tmr.hub.repo import HubRepo, hub_date, repo_commit, revision_names
from tmr.sources.digests import git_blob_sha1, git_digest, sha256_digest

HUB_COMMIT = "59aa11b6c15b1ac9630a10c1254e35108b6044aa"
WEIGHTS = "9" * 64


def _oid(file: FileEntry) -> str:
    return git_blob_sha1(file.path.encode())  # a stand-in for hashing the stored bytes


def hub_model() -> Artifact:
    return Artifact(
        id="1",
        type=ArtifactType.MODEL,
        name="bert",
        url="https://huggingface.co/google-bert/bert-base-uncased",
        source="huggingface_model",
        card={"license": "apache-2.0"},
        upstream={
            "repo_id": "google-bert/bert-base-uncased",
            "revision": HUB_COMMIT,
            "tags": ["transformers", "bert"],
            "library_name": "transformers",
            "lastModified": "2024-02-19T11:06:12.000Z",
            "config": {"architectures": ["BertForMaskedLM"], "model_type": "bert", "hidden_size": 768},
            "downloads": 5,
        },
        version="1.0.0",
        files=[
            FileEntry(
                "config.json", 3, FileKind.CONFIG, sha256="1" * 64, upstream_digest=git_digest("c" * 40)
            ),
            FileEntry("model.safetensors", 100, FileKind.WEIGHTS, upstream_digest=sha256_digest(WEIGHTS)),
            FileEntry("onnx/model.onnx", 50, FileKind.WEIGHTS, upstream_digest=sha256_digest("8" * 64)),
        ],
    )


def upload() -> Artifact:
    return Artifact(
        id="2",
        type=ArtifactType.MODEL,
        name="acme/secret",
        url="upload://acme/secret",
        source="upload",
        card={"tags": ["internal"], "library_name": "transformers"},
        license="mit",
        visibility=Visibility.PRIVATE,
        created_by="alice",
        created_at=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        updated_at=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        files=[FileEntry("config.json", 3, FileKind.CONFIG, sha256="1" * 64)],
    )


def test_commits() -> None:
    assert repo_commit(hub_model()) == HUB_COMMIT
    assert repo_commit(upload()) == manifest_commit(upload().files)
    broken = hub_model()
    broken.upstream["revision"] = "main"  # not a commit: fall back to the manifest
    assert repo_commit(broken) == manifest_commit(broken.files)


def test_revisions() -> None:
    repo = HubRepo.of(hub_model(), _oid)
    assert revision_names(repo.artifact, repo.commit) == {
        "main",
        "refs/heads/main",
        HUB_COMMIT,
        "1.0.0",
        "refs/tags/1.0.0",
    }
    assert not repo.accepts("v2")
    assert revision_names(upload(), "f" * 40) == {"main", "refs/heads/main", "f" * 40}


def test_hub_dates() -> None:
    assert hub_date(datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)) == "2025-01-02T03:04:05.678Z"
    assert (
        hub_date(datetime(2025, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))))
        == "2025-01-02T03:04:05.000Z"
    )
    assert hub_date(None) is None


def test_description_of_a_hub_model() -> None:
    repo = HubRepo.of(hub_model(), _oid)
    info = repo.info(blobs=True)
    assert info["id"] == info["modelId"] == "google-bert/bert-base-uncased"
    assert info["author"] == "google-bert"
    assert (info["sha"], info["private"], info["gated"]) == (HUB_COMMIT, False, False)
    assert info["tags"] == ["transformers", "bert"]
    assert info["config"] == {"architectures": ["BertForMaskedLM"], "model_type": "bert"}
    assert info["lastModified"] == "2024-02-19T11:06:12.000Z"
    assert info["downloads"] == 5
    assert info["siblings"][0] == {"rfilename": "config.json", "size": 3, "blobId": "c" * 40}
    weights = info["siblings"][1]
    assert weights["lfs"] == {"sha256": WEIGHTS, "size": 100, "pointerSize": 128}
    assert repo.info(blobs=False)["siblings"][1] == {"rfilename": "model.safetensors"}
    assert set(repo.info(blobs=False, expand=["sha"])) == {"_id", "id", "sha"}


def test_description_of_an_upload() -> None:
    info = HubRepo.of(upload(), _oid).info(blobs=False)
    assert info["id"] == "acme/secret"
    assert info["author"] == "acme"
    assert info["private"] is True
    assert info["tags"] == ["transformers", "internal", "license:mit"]
    assert info["lastModified"] == info["createdAt"] == "2025-01-02T03:04:05.678Z"
    assert "downloads" not in info


def test_description_of_a_dataset() -> None:
    artifact = replace(upload(), type=ArtifactType.DATASET)
    info = HubRepo.of(artifact, _oid).info(blobs=False)
    assert "modelId" not in info
    assert info["description"] == info["citation"] == ""


def test_tree() -> None:
    repo = HubRepo.of(hub_model(), _oid)
    root = repo.tree("", recursive=False, expand=False)
    assert root is not None
    assert [(e["type"], e["path"]) for e in root] == [
        ("directory", "onnx"),
        ("file", "config.json"),
        ("file", "model.safetensors"),
    ]
    assert root[2]["lfs"] == {"oid": WEIGHTS, "size": 100, "pointerSize": 128}
    everything = repo.tree("", recursive=True, expand=True)
    assert everything is not None
    assert [e["path"] for e in everything] == ["config.json", "model.safetensors", "onnx", "onnx/model.onnx"]
    assert everything[0]["lastCommit"] == {
        "id": HUB_COMMIT,
        "title": "bert 1.0.0",
        "date": "2024-02-19T11:06:12.000Z",
    }
    assert [e["path"] for e in repo.tree("onnx/", recursive=False, expand=False) or []] == ["onnx/model.onnx"]
    assert repo.tree("config.json", recursive=False, expand=False) is None
    assert repo.tree("missing", recursive=False, expand=False) is None
    infos = repo.paths_info(["onnx", "config.json", "nope", "config.json"], expand=False)
    assert [(e["type"], e["path"]) for e in infos] == [("directory", "onnx"), ("file", "config.json")]


def test_file_headers() -> None:
    repo = HubRepo.of(hub_model(), _oid)
    weights = repo.file("model.safetensors")
    assert weights is not None
    headers = repo.file_headers(weights)
    assert headers["X-Repo-Commit"] == HUB_COMMIT
    assert headers["ETag"] == headers["X-Linked-Etag"] == f'"{WEIGHTS}"'
    assert headers["X-Linked-Size"] == "100"
    assert headers["Accept-Ranges"] == "bytes"
    assert not any(k.lower().startswith("x-xet") for k in headers)
    config = repo.file("config.json")
    assert config is not None
    plain = repo.file_headers(config)
    assert plain["ETag"] == f'"{"c" * 40}"'
    assert "X-Linked-Etag" not in plain


def test_file_names_in_headers_stay_ascii() -> None:
    artifact = replace(upload(), files=[FileEntry('docs/résumé "v2".md', 1, FileKind.DOCS, sha256="1" * 64)])
    repo = HubRepo.of(artifact, _oid)
    headers = repo.file_headers(artifact.files[0])
    disposition = headers["Content-Disposition"]
    disposition.encode("ascii")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.md" in disposition
    assert 'filename="r_sum_ _v2_.md"' in disposition


def test_refs() -> None:
    refs = HubRepo.of(hub_model(), _oid).refs(include_prs=True)
    assert refs["branches"] == [{"name": "main", "ref": "refs/heads/main", "targetCommit": HUB_COMMIT}]
    assert refs["tags"] == [{"name": "1.0.0", "ref": "refs/tags/1.0.0", "targetCommit": HUB_COMMIT}]
    assert refs["pullRequests"] == []
    assert "pullRequests" not in HubRepo.of(upload(), _oid).refs(include_prs=False)
