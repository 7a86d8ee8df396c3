"""Packages: parts parsing, dataset bundles, identities, and the package digest kept once."""

from __future__ import annotations

import hashlib
import io
import threading
import time
import zipfile
import zlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tmr.artifacts.bundles import folder_name, is_dataset_link, linked_datasets
from tmr.artifacts.models import (
    Artifact,
    ArtifactLink,
    ArtifactSummary,
    ArtifactType,
    FileEntry,
    FileKind,
)
from tmr.artifacts.packages import (
    KeyedLocks,
    Package,
    PackageDigests,
    PackageParts,
    build_package,
    parse_parts,
)
from tmr.errors import Conflict, IntegrityError, InvalidInput, NotFound
from tmr.storage.blobs.base import StoredBlob
from tmr.storage.blobs.filesystem import FilesystemBlobStore

# ------------------------------------------------------------------------------------------- parts


@pytest.mark.parametrize("raw", [None, "", " ", ",", " , "])
def test_no_parts_is_the_whole_artifact_without_datasets(raw: str | None) -> None:
    assert parse_parts(raw) == PackageParts(kinds=None, datasets=False)


@pytest.mark.parametrize(
    ("raw", "kinds", "datasets"),
    [
        ("weights", {FileKind.WEIGHTS}, False),
        ("weights, config ,", {FileKind.WEIGHTS, FileKind.CONFIG}, False),
        ("weights,config,datasets", {FileKind.WEIGHTS, FileKind.CONFIG}, True),
        ("datasets", set(), True),  # the datasets' files only
        ("datasets,datasets,data", {FileKind.DATA}, True),
    ],
)
def test_parts_are_file_kinds_and_datasets(raw: str, kinds: set[FileKind], datasets: bool) -> None:
    assert parse_parts(raw) == PackageParts(kinds=frozenset(kinds), datasets=datasets)


@pytest.mark.parametrize("raw", ["weights,bogus", "Datasets", "dataset", "all"])
def test_an_unknown_part_is_invalid_and_lists_the_valid_ones(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_parts(raw)
    assert "datasets" in caught.value.message
    assert all(kind.value in caught.value.message for kind in FileKind)
    assert caught.value.details["valid"][-1] == "datasets"


# ------------------------------------------------------------------------------------- build, layout


def blob_store(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs")


def artifact(
    ident: str, name: str, files: dict[str, bytes], store: FilesystemBlobStore, type_: ArtifactType
) -> Artifact:
    entries = []
    for path, data in files.items():
        stored = store.put_bytes(data)
        kind = FileKind.CONFIG if path.endswith(".json") else FileKind.DATA
        entries.append(FileEntry(path, len(data), kind, stored.sha256, crc32=zlib.crc32(data)))
    return Artifact(
        id=ident,
        type=type_,
        name=name,
        url=f"https://example.com/{ident}",
        source="huggingface",
        files=entries,
    )


def zip_of(package: Package, store: FilesystemBlobStore) -> dict[str, bytes]:
    data = b"".join(package.read(store, 0, package.length))
    assert len(data) == package.length
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_datasets_are_bundled_under_their_folders(tmp_path: Path) -> None:
    store = blob_store(tmp_path)
    model = artifact("1", "m", {"config.json": b"{}", "model.bin": b"w"}, store, ArtifactType.MODEL)
    data = artifact("2", "d", {"train.csv": b"a,b\n", "sub/test.csv": b"c\n"}, store, ArtifactType.DATASET)
    package = build_package(model, {FileKind.CONFIG}, [("squad", data)])
    assert zip_of(package, store) == {
        "config.json": b"{}",
        "datasets/squad/train.csv": b"a,b\n",
        "datasets/squad/sub/test.csv": b"c\n",
    }


def test_the_identity_follows_the_bundled_datasets(tmp_path: Path) -> None:
    store = blob_store(tmp_path)
    model = artifact("1", "m", {"config.json": b"{}"}, store, ArtifactType.MODEL)
    first = artifact("2", "d", {"train.csv": b"one"}, store, ArtifactType.DATASET)
    changed = artifact("2", "d", {"train.csv": b"two"}, store, ArtifactType.DATASET)
    other = artifact("3", "e", {"train.csv": b"one"}, store, ArtifactType.DATASET)
    alone = build_package(model).identity
    identities = {
        alone,
        build_package(model, None, [("d", first)]).identity,
        build_package(model, None, [("d", changed)]).identity,
        build_package(model, None, [("d", first), ("e", other)]).identity,
    }
    assert len(identities) == 4
    assert build_package(model, None, []).identity == alone
    assert (
        build_package(model, None, [("d", first)]).identity
        == build_package(model, None, [("d", first)]).identity
    )


def test_entries_of_one_name_are_refused(tmp_path: Path) -> None:
    store = blob_store(tmp_path)
    model = artifact("1", "m", {"datasets/d/train.csv": b"x"}, store, ArtifactType.MODEL)
    data = artifact("2", "d", {"train.csv": b"y"}, store, ArtifactType.DATASET)
    with pytest.raises(Conflict):
        build_package(model, None, [("d", data)])


def test_an_unmirrored_dataset_file_is_never_packaged(tmp_path: Path) -> None:
    store = blob_store(tmp_path)
    model = artifact("1", "m", {"config.json": b"{}"}, store, ArtifactType.MODEL)
    data = artifact("2", "d", {}, store, ArtifactType.DATASET)
    big = FileEntry("big.parquet", 10, FileKind.DATA, upstream_url="https://example.com/big")
    data = replace(data, files=[*data.files, big])
    with pytest.raises(IntegrityError, match=r"datasets/d/big\.parquet"):
        build_package(model, None, [("d", data)])


# ------------------------------------------------------------------------------------------ bundles


class Resolver:
    def __init__(self, answers: dict[str, list[ArtifactSummary]]) -> None:
        self.answers = answers

    def __call__(self, keys: Collection[str]) -> dict[str, list[ArtifactSummary]]:
        return {k: v for k, v in self.answers.items() if k in keys}


def dataset(ident: str, name: str) -> Artifact:
    return Artifact(id=ident, type=ArtifactType.DATASET, name=name, url=f"u{ident}", source="huggingface")


def test_linked_datasets_skip_what_is_not_registered_or_not_visible() -> None:
    model = Artifact(
        id="m",
        type=ArtifactType.MODEL,
        name="m",
        url="u",
        source="huggingface",
        links=[
            ArtifactLink("acme/base", "base_model", "model_card"),  # not a dataset link
            ArtifactLink("squad", "fine_tuning_dataset", "model_card"),
            ArtifactLink("unregistered", "fine_tuning_dataset", "model_card"),
            ArtifactLink("private", "fine_tuning_dataset", "model_card"),
            ArtifactLink("a-model", "fine_tuning_dataset", "model_card"),  # resolves to a model only
            ArtifactLink("rajpurkar/squad", "fine_tuning_dataset", "model_card"),  # same dataset again
            ArtifactLink("wiki", "fine_tuning_dataset", "model_card"),  # two datasets of one name
        ],
    )
    artifacts = {
        "1": dataset("1", "squad"),
        "2": dataset("2", "secret"),
        "4": dataset("4", "wiki"),
        "5": dataset("5", "wiki"),
    }
    summaries = {i: ArtifactSummary(a.id, a.name, a.type) for i, a in artifacts.items()}
    resolver = Resolver(
        {
            "acme/base": [ArtifactSummary("9", "base", ArtifactType.MODEL)],
            "squad": [summaries["1"]],
            "rajpurkar/squad": [summaries["1"]],
            "private": [summaries["2"]],
            "a-model": [ArtifactSummary("3", "a-model", ArtifactType.MODEL)],
            "wiki": [summaries["4"], summaries["5"]],
        }
    )
    fetched: list[str] = []

    def fetch(ident: str) -> Artifact:
        fetched.append(ident)
        if ident == "2":
            raise NotFound("not visible to this user")
        return artifacts[ident]

    bundled = linked_datasets(model, resolver, fetch)
    assert [(folder, d.id) for folder, d in bundled.included] == [
        ("squad", "1"),
        ("wiki", "4"),
        ("wiki-5", "5"),
    ]
    assert bundled.skipped == ["unregistered", "private", "a-model"]
    assert sorted(fetched) == ["1", "2", "4", "5"]  # models are never fetched; each dataset once


def test_a_model_without_dataset_links_bundles_nothing() -> None:
    model = Artifact(id="m", type=ArtifactType.MODEL, name="m", url="u", source="huggingface")
    bundled = linked_datasets(model, Resolver({}), lambda ident: pytest.fail("nothing to fetch"))
    assert bundled.included == []
    assert bundled.skipped == []


@pytest.mark.parametrize(
    ("relationship", "expected"),
    [("fine_tuning_dataset", True), ("training_dataset", True), ("dataset", True), ("base_model", False)],
)
def test_dataset_relationships(relationship: str, expected: bool) -> None:
    assert is_dataset_link(ArtifactLink("k", relationship, "model_card")) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("squad", "squad"),
        ("rajpurkar/squad", "rajpurkar_squad"),
        ("../../etc", "etc"),
        ("..", "id7"),
        ("", "id7"),
        ("données ☕", "donn_es"),
        (".hidden", "hidden"),
        ("x" * 300, "x" * 100),
    ],
)
def test_folder_names_are_one_safe_segment(name: str, expected: str) -> None:
    folder = folder_name(name, "id7")
    assert folder == expected
    assert "/" not in folder
    assert folder not in {".", ".."}


# ------------------------------------------------------------------------------------------ digests


class State:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.lock = threading.Lock()

    def peek_state(self, key: str) -> str | None:
        return self.values.get(key)

    def state(self, key: str, default: str) -> str:
        with self.lock:
            return self.values.setdefault(key, default)


class CountingStore(FilesystemBlobStore):
    """Counts blob reads (a hash of the package reads each blob once) and slows them down, so
    concurrent first requests overlap."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.opened = 0

    def open(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        self.opened += 1
        time.sleep(0.01)
        return super().open(sha256, start, end)


def small_package(store: FilesystemBlobStore) -> tuple[Package, str]:
    model = artifact("1", "m", {"config.json": b'{"a": 1}'}, store, ArtifactType.MODEL)
    package = build_package(model)
    whole = b"".join(package.read(store, 0, package.length))
    return package, hashlib.sha256(whole).hexdigest()


def test_a_small_package_is_hashed_once_by_concurrent_first_requests(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "blobs")
    package, expected = small_package(store)
    store.opened = 0
    locks = KeyedLocks()
    digests = PackageDigests(State(), eager_limit=package.length, locks=locks)
    results: list[str | None] = []
    barrier = threading.Barrier(8)

    def first_request() -> None:
        barrier.wait(timeout=10)
        results.append(digests.eager(package, store))

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [expected] * 8
    assert store.opened == 1  # one blob, read by one hash
    assert len(locks) == 0  # nothing kept once nobody waits


def test_a_package_over_the_eager_limit_waits_for_its_first_whole_download(tmp_path: Path) -> None:
    store = blob_store(tmp_path)
    package, expected = small_package(store)
    digests = PackageDigests(State(), eager_limit=package.length - 1)
    assert digests.eager(package, store) is None
    assert digests.record(package, expected) == expected
    assert digests.eager(package, store) == expected


def test_a_digest_that_contradicts_the_kept_one_is_an_integrity_error(tmp_path: Path) -> None:
    store = blob_store(tmp_path)
    package, expected = small_package(store)
    digests = PackageDigests(State(), eager_limit=0)
    digests.record(package, expected)
    with pytest.raises(IntegrityError):
        digests.record(package, "0" * 64)
    assert digests.known(package) == expected


class CountingState(State):
    def __init__(self) -> None:
        super().__init__()
        self.peeks = 0

    def peek_state(self, key: str) -> str | None:
        self.peeks += 1
        return super().peek_state(key)


def test_a_digest_read_once_is_remembered_and_the_oldest_forgotten_first(tmp_path: Path) -> None:
    store = blob_store(tmp_path)
    package, expected = small_package(store)
    other = build_package(artifact("2", "n", {"config.json": b'{"b": 2}'}, store, ArtifactType.MODEL))
    state = CountingState()
    state.values[package.digest_key] = expected
    state.values[other.digest_key] = "1" * 64
    digests = PackageDigests(state, eager_limit=0, remembered=1)
    assert [digests.known(package), digests.known(package)] == [expected, expected]
    assert state.peeks == 1  # the second from memory
    assert digests.known(other) == "1" * 64  # remembered in place of the first
    assert digests.known(package) == expected
    assert state.peeks == 3


def test_an_unknown_digest_is_asked_for_again_until_recorded(tmp_path: Path) -> None:
    store = blob_store(tmp_path)
    package, expected = small_package(store)
    state = CountingState()
    digests = PackageDigests(state, eager_limit=0)
    assert digests.known(package) is None
    assert digests.known(package) is None
    assert state.peeks == 2  # another worker may record it meanwhile
    digests.record(package, expected)
    assert digests.known(package) == expected
    assert state.peeks == 2


class FakePresigner:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.expected: list[str | None] = []

    def put_package(
        self,
        identity: str,
        chunks: Iterable[bytes],
        size: int | None = None,
        expected_sha256: str | None = None,
    ) -> StoredBlob:
        data = b"".join(chunks)
        self.expected.append(expected_sha256)
        self.objects[identity] = data
        return StoredBlob(hashlib.sha256(data).hexdigest(), len(data))

    def package_size(self, identity: str) -> int | None:
        data = self.objects.get(identity)
        return None if data is None else len(data)

    def presigned_url(self, identity: str, expires_s: int = 300, filename: str | None = None) -> str:
        return f"https://s3.example/{identity}"

    def delete_packages(self) -> int:
        count = len(self.objects)
        self.objects.clear()
        return count


def test_a_package_is_materialised_once_and_checked_against_a_known_digest(tmp_path: Path) -> None:
    store = blob_store(tmp_path)
    package, expected = small_package(store)
    target = FakePresigner()
    state = State()
    digests = PackageDigests(state, eager_limit=0)
    assert digests.materialise(package, store, target) == expected
    assert digests.materialise(package, store, target) == expected
    assert target.expected == [None]  # the second request reused the object
    target.delete_packages()  # e.g. a reset, or a lifecycle rule expiring it
    assert digests.materialise(package, store, target) == expected
    assert target.expected == [None, expected]  # rewritten, checked against what was announced
