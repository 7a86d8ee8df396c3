"""Lineage, size cost and the license check through the API and the artifact page, over a registry
in memory: a model whose card names a registered parent model and dataset."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.unit.memory_app import ADMIN_HEADERS, TOKEN, memory_client, seed
from tmr.artifacts.models import Artifact, ArtifactType
from tmr.web.session import SESSION_COOKIE

MB = 1024 * 1024


@dataclass
class Family:
    client: TestClient
    base: Artifact
    data: Artifact
    child: Artifact


@pytest.fixture
def family() -> Iterator[Family]:
    with memory_client() as (client, registry):
        base = seed(
            registry,
            "acme/base",
            {"config.json": b"{}", "model.safetensors": b"w" * 2000},
            card={"license": "apache-2.0"},
        )
        data = seed(registry, "acme/data", {"data.csv": b"a,b\n" * 100}, type_=ArtifactType.DATASET)
        child = seed(
            registry,
            "acme/child",
            {"config.json": b"{}"},
            card={"license": "mit", "base_model": "acme/base", "datasets": ["acme/data"]},
        )
        yield Family(client, base, data, child)


def test_any_member_of_a_lineage_yields_the_same_graph(family: Family) -> None:
    graph = family.client.get(f"/artifact/model/{family.child.id}/lineage", headers=ADMIN_HEADERS).json()
    assert {n["artifact_id"]: n["name"] for n in graph["nodes"]} == {
        family.child.id: "acme/child",
        family.base.id: "acme/base",
        family.data.id: "acme/data",
    }
    edges = {
        (e["from_node_artifact_id"], e["to_node_artifact_id"], e["relationship"]) for e in graph["edges"]
    }
    assert edges == {
        (family.base.id, family.child.id, "base_model"),
        (family.data.id, family.child.id, "fine_tuning_dataset"),
    }
    from_parent = family.client.get(f"/artifact/model/{family.base.id}/lineage", headers=ADMIN_HEADERS).json()
    assert {n["artifact_id"] for n in from_parent["nodes"]} == {n["artifact_id"] for n in graph["nodes"]}
    dataset = family.client.get(f"/artifact/model/{family.data.id}/lineage", headers=ADMIN_HEADERS)
    assert dataset.status_code == 404  # lineage is a model's: no model has this id


def test_cost_counts_dependencies_once_in_mb(family: Family) -> None:
    alone = family.client.get(f"/artifact/model/{family.child.id}/cost", headers=ADMIN_HEADERS).json()
    assert alone == {family.child.id: {"total_cost": pytest.approx(2 / MB)}}
    full = family.client.get(
        f"/artifact/model/{family.child.id}/cost", params={"dependency": "true"}, headers=ADMIN_HEADERS
    ).json()
    assert set(full) == {family.child.id, family.base.id, family.data.id}
    assert full[family.base.id]["standalone_cost"] == pytest.approx(2002 / MB)
    assert full[family.data.id]["standalone_cost"] == pytest.approx(400 / MB)
    assert full[family.child.id]["total_cost"] == pytest.approx((2 + 2002 + 400) / MB)
    assert (
        family.client.get(f"/artifact/dataset/{family.data.id}/cost", headers=ADMIN_HEADERS).status_code
        == 200
    )
    assert (
        family.client.get(f"/artifact/code/{family.data.id}/cost", headers=ADMIN_HEADERS).status_code == 404
    )


def test_the_page_shows_the_lineage_the_shares_and_a_package_with_datasets(family: Family) -> None:
    client = family.client
    client.cookies.set(SESSION_COOKIE, TOKEN)
    page = client.get(f"/ui/artifacts/{family.child.id}")
    assert page.status_code == 200
    assert f'href="/ui/artifacts/{family.base.id}"' in page.text
    assert f'href="/ui/artifacts/{family.data.id}"' in page.text
    assert "0.002 MB" in page.text  # the whole with its dependencies
    # Everything with the linked datasets is offered as one package.
    assert "parts=weights,config,tokenizer,docs,code,data,other,datasets" in page.text.replace("%2C", ",")
    package = client.get(f"/ui/artifacts/{family.child.id}/download", params={"parts": "config,datasets"})
    assert package.status_code == 200
    assert package.content[:2] == b"PK"
    dataset_page = client.get(f"/ui/artifacts/{family.data.id}")
    assert dataset_page.status_code == 200
    assert "acme/data" in dataset_page.text


def test_the_license_check_page_refuses_what_is_not_a_github_repository(family: Family) -> None:
    client = family.client
    client.cookies.set(SESSION_COOKIE, TOKEN)
    form = client.get(f"/ui/artifacts/{family.child.id}/license-check")
    assert form.status_code == 200
    assert "mit" in form.text.lower()
    empty = client.get(f"/ui/artifacts/{family.child.id}/license-check", params={"github_url": " "})
    assert empty.status_code == 400
    assert "Enter the URL of a GitHub repository" in empty.text
    elsewhere = client.get(
        f"/ui/artifacts/{family.child.id}/license-check", params={"github_url": "https://example.org/x"}
    )
    assert elsewhere.status_code == 400
    assert client.get(f"/ui/artifacts/{family.data.id}/license-check").status_code == 404
    api = client.post(
        f"/artifact/model/{family.child.id}/license-check",
        json={"github_url": "https://example.org/x"},
        headers=ADMIN_HEADERS,
    )
    assert api.status_code == 400
