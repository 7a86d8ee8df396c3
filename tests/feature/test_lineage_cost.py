import dataclasses
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.feature.conftest import HF, register
from tmr.accounts.models import SYSTEM

BASE = f"{HF}/acme/base-lm"
FINETUNED = f"{HF}/acme/base-lm-finetuned"
LORA = f"{HF}/acme/base-lm-finetuned-lora"
MB = 1024 * 1024


def graph(
    client: TestClient, auth: dict[str, str], artifact_id: str
) -> tuple[set[str], set[tuple[str, str, str]]]:
    response = client.get(f"/artifact/model/{artifact_id}/lineage", headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    return {n["artifact_id"] for n in body["nodes"]}, {
        (e["from_node_artifact_id"], e["to_node_artifact_id"], e["relationship"]) for e in body["edges"]
    }


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_three_model_chain_is_the_same_graph_from_each_member(
    client: TestClient, auth: dict[str, str], order: tuple[int, ...]
) -> None:
    urls = [BASE, FINETUNED, LORA]
    ids: dict[int, str] = {}
    for index in order:  # parents may be registered after their children
        ids[index] = register(client, auth, "model", urls[index])["metadata"]["id"]
    base, fine, lora = ids[0], ids[1], ids[2]
    expected_edges = {(base, fine, "fine_tune"), (fine, lora, "adapter")}
    for member in (base, fine, lora):
        nodes, edges = graph(client, auth, member)
        assert nodes == {base, fine, lora}
        assert expected_edges <= edges
        assert all(e[0] != e[1] for e in edges)


def test_datasets_and_code_join_the_graph_when_registered(client: TestClient, auth: dict[str, str]) -> None:
    fine = register(client, auth, "model", FINETUNED)["metadata"]["id"]
    data = register(client, auth, "dataset", f"{HF}/datasets/acme/instruct-data")["metadata"]["id"]
    nodes, edges = graph(client, auth, fine)
    assert data in nodes
    assert (data, fine, "fine_tuning_dataset") in edges


def test_a_lone_model_is_its_own_graph_and_self_references_are_ignored(
    client: TestClient, auth: dict[str, str]
) -> None:
    alone = register(client, auth, "model", f"{HF}/bare/self-parent")["metadata"]["id"]
    assert graph(client, auth, alone) == ({alone}, set())


def test_cycles_terminate(client: TestClient, auth: dict[str, str]) -> None:
    a = register(client, auth, "model", f"{HF}/bare/cycle-a")["metadata"]["id"]
    b = register(client, auth, "model", f"{HF}/bare/cycle-b")["metadata"]["id"]
    nodes, edges = graph(client, auth, a)
    assert nodes == {a, b}
    assert {(b, a), (a, b)} == {(e[0], e[1]) for e in edges}
    cost = client.get(f"/artifact/model/{a}/cost", params={"dependency": "true"}, headers=auth).json()
    assert set(cost) == {a, b}
    assert cost[a]["total_cost"] == pytest.approx(cost[a]["standalone_cost"] + cost[b]["standalone_cost"])


def test_lineage_errors(client: TestClient, auth: dict[str, str]) -> None:
    code = register(client, auth, "code", "https://github.com/psf/requests")["metadata"]["id"]
    assert client.get(f"/artifact/model/{code}/lineage", headers=auth).status_code == 404
    assert client.get("/artifact/model/12345/lineage", headers=auth).status_code == 404
    assert client.get("/artifact/model/bad_id!/lineage", headers=auth).status_code == 400


def test_cost_without_and_with_dependencies(client: TestClient, auth: dict[str, str], registry: Any) -> None:
    base = register(client, auth, "model", BASE)["metadata"]["id"]
    fine = register(client, auth, "model", FINETUNED)["metadata"]["id"]
    lora = register(client, auth, "model", LORA)["metadata"]["id"]
    data = register(client, auth, "dataset", f"{HF}/datasets/acme/instruct-data")["metadata"]["id"]
    size = {i: registry.artifacts.get_any(SYSTEM, i).size_bytes / MB for i in (base, fine, lora, data)}
    alone = client.get(f"/artifact/model/{lora}/cost", headers=auth).json()
    assert alone == {lora: {"total_cost": pytest.approx(size[lora])}}
    full = client.get(f"/artifact/model/{lora}/cost", params={"dependency": "true"}, headers=auth).json()
    assert set(full) == {lora, fine, base, data}
    assert full[lora]["standalone_cost"] == pytest.approx(size[lora])
    assert full[lora]["total_cost"] == pytest.approx(sum(size.values()))
    assert full[fine]["total_cost"] == pytest.approx(size[fine] + size[base] + size[data])
    assert full[base]["total_cost"] == pytest.approx(size[base])
    dataset_cost = client.get(f"/artifact/dataset/{data}/cost", headers=auth).json()
    assert dataset_cost[data]["total_cost"] == pytest.approx(size[data])
    assert client.get(f"/artifact/model/{data}/cost", headers=auth).status_code == 404
    assert (
        client.get(f"/artifact/model/{lora}/cost", params={"dependency": "maybe"}, headers=auth).status_code
        == 400
    )


def test_malformed_lineage_metadata_is_400(
    client: TestClient, auth: dict[str, str], registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tmr.sources.huggingface import HuggingFaceSource

    real = HuggingFaceSource.inspect

    def broken_base_model(self: HuggingFaceSource, ref: Any) -> Any:
        snapshot = real(self, ref)
        return dataclasses.replace(
            snapshot, card={**snapshot.card, "base_model": {"name": "not a list of names"}}
        )

    monkeypatch.setattr(HuggingFaceSource, "inspect", broken_base_model)
    artifact_id = register(client, auth, "model", f"{HF}/nomic/tiny-mit-model")["metadata"]["id"]
    assert any("malformed" in note for note in registry.artifacts.get_any(SYSTEM, artifact_id).notes)
    response = client.get(f"/artifact/model/{artifact_id}/lineage", headers=auth)
    assert response.status_code == 400
    assert "malformed" in response.json()["detail"]


def test_every_lineage_node_carries_the_node_the_contract_requires(
    client: TestClient, auth: dict[str, str]
) -> None:
    """ArtifactLineageNode requires `node` (found by tests/e2e/test_schemathesis.py): the node's id."""
    base = register(client, auth, "model", BASE)["metadata"]["id"]
    fine = register(client, auth, "model", FINETUNED)["metadata"]["id"]
    nodes = client.get(f"/artifact/model/{fine}/lineage", headers=auth).json()["nodes"]
    assert {n["artifact_id"] for n in nodes} == {base, fine}
    assert all(n["node"] == n["artifact_id"] for n in nodes)
