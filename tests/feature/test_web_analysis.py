"""The artifact page's analyses in process: lineage, cost and the license check, against the
JSON API's answers for the same artifacts, and their failure paths."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from tests.emulator.server import EmulatorServer
from tests.feature.conftest import GH, HF, register
from tests.feature.web_support import ui_sign_in
from tmr.accounts.models import Principal
from tmr.container import Registry
from tmr.errors import StorageUnavailable
from tmr.web.pages.artifact_analysis import analysis_sections, mb
from tmr.web.templating import render

BASE = f"{HF}/acme/base-lm"
FINETUNED = f"{HF}/acme/base-lm-finetuned"
LORA = f"{HF}/acme/base-lm-finetuned-lora"
DATA = f"{HF}/datasets/acme/instruct-data"


def page_request(client: TestClient, root_path: str = "") -> Request:
    """A request as the artifact page receives it: the app (for its registry) and a base path."""
    scope = {
        "type": "http",
        "app": client.app,
        "method": "GET",
        "path": f"{root_path}/ui/artifacts/x",
        "root_path": root_path,
        "headers": [],
        "query_string": b"",
    }
    return Request(scope)


def principal(registry: Registry, auth: dict[str, str]) -> Principal:
    return registry.accounts.check(auth["X-Authorization"])


def sections(
    client: TestClient, registry: Registry, auth: dict[str, str], artifact_id: str, root_path: str = ""
) -> tuple[dict[str, Any], str]:
    """The partial's data for one artifact, and the partial rendered with it."""
    who = principal(registry, auth)
    artifact = registry.artifacts.get_any(who, artifact_id)
    request = page_request(client, root_path)
    data = analysis_sections(request, who, artifact)
    html = bytes(render(request, "artifact/_analysis.html", {"analysis": data, "artifact": artifact}).body)
    return data, html.decode()


def api(client: TestClient, auth: dict[str, str], path: str, **params: str) -> Any:
    response = client.get(path, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def chain(client: TestClient, auth: dict[str, str]) -> dict[str, str]:
    return {
        name: register(client, auth, kind, url)["metadata"]["id"]
        for name, kind, url in [
            ("base", "model", BASE),
            ("fine", "model", FINETUNED),
            ("lora", "model", LORA),
            ("data", "dataset", DATA),
        ]
    }


def test_the_lineage_of_the_acme_chain_is_drawn_and_tabled_as_the_api_answers(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    ids = chain(client, auth)
    data, html = sections(client, registry, auth, ids["fine"])
    graph = api(client, auth, f"/artifact/model/{ids['fine']}/lineage")
    expected = {
        (e["from_node_artifact_id"], e["relationship"], e["to_node_artifact_id"]) for e in graph["edges"]
    }
    lineage = data["lineage"]
    assert lineage["error"] is None
    assert {(r["parent"].id, r["relation"], r["child"].id) for r in lineage["rows"]} == expected
    assert {(ids["base"], "fine_tune", ids["fine"]), (ids["fine"], "adapter", ids["lora"])} <= expected
    assert (ids["data"], "fine_tuning_dataset", ids["fine"]) in expected
    assert lineage["count"] == len(graph["nodes"])

    svg = str(lineage["svg"])
    for node in graph["nodes"]:
        assert node["name"] in svg
        if node["artifact_id"] != ids["fine"]:
            assert f'href="/ui/artifacts/{node["artifact_id"]}"' in svg
    assert f'href="/ui/artifacts/{ids["fine"]}"' not in svg  # the page's own box is no link
    assert "this artifact" in svg
    assert 'aria-labelledby="lineage-graph-title"' in svg
    assert "Lineage of base-lm-finetuned" in svg

    for heading in ("Lineage", "Cost", "License check"):
        assert re.search(
            rf'<section[^>]*aria-labelledby="(analysis-[a-z]+)">\s*<h2 id="\1">{heading}</h2>', html
        )
    table = html[html.index('<table class="lineage-table">') : html.index("</table>")]
    assert table.count("<tr>") == len(expected) + 1
    assert '<th scope="col">Relation</th>' in table
    assert "<code>fine_tune</code>" in table
    assert "<code>fine_tuning_dataset</code>" in table


def test_the_cost_section_shows_the_api_numbers_with_and_without_dependencies(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    ids = chain(client, auth)
    data, html = sections(client, registry, auth, ids["lora"])
    alone = api(client, auth, f"/artifact/model/{ids['lora']}/cost")
    full = api(client, auth, f"/artifact/model/{ids['lora']}/cost", dependency="true")
    cost = data["cost"]
    assert cost["error"] is None
    assert cost["own"] == pytest.approx(alone[ids["lora"]]["total_cost"])
    assert cost["total"] == pytest.approx(full[ids["lora"]]["total_cost"])
    assert {row.artifact.id: row.mb for row in cost["rows"]} == pytest.approx(
        {ident: figures["standalone_cost"] for ident, figures in full.items()}
    )
    assert cost["dependencies"] == len(full) - 1 == 3
    assert sum(row.percent for row in cost["rows"]) == pytest.approx(100)
    assert cost["rows"][0].artifact.current
    assert mb(cost["own"]) in html
    assert mb(cost["total"]) in html
    assert "(3 dependencies)" in html
    for row in cost["rows"]:
        assert row.artifact.name in html
        assert f'<data value="{row.mb}">{mb(row.mb)}</data>' in html


def test_datasets_get_their_cost_and_are_told_lineage_and_license_checks_are_for_models(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    ids = chain(client, auth)
    data, html = sections(client, registry, auth, ids["data"])
    assert data["lineage"]["applies"] is False
    assert data["license"]["applies"] is False
    assert "Lineage applies to models" in html
    assert "The license check applies to models" in html
    assert "<form" not in html
    alone = api(client, auth, f"/artifact/dataset/{ids['data']}/cost")
    assert data["cost"]["own"] == pytest.approx(alone[ids["data"]]["total_cost"])


def test_links_keep_the_deployments_base_path(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    ids = chain(client, auth)
    data, html = sections(client, registry, auth, ids["fine"], root_path="/prod")
    assert f'href="/prod/ui/artifacts/{ids["base"]}"' in str(data["lineage"]["svg"])
    assert f'action="/prod/ui/artifacts/{ids["fine"]}/license-check"' in html


def test_cycles_and_a_self_parent_render_without_trouble(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    a = register(client, auth, "model", f"{HF}/bare/cycle-a")["metadata"]["id"]
    b = register(client, auth, "model", f"{HF}/bare/cycle-b")["metadata"]["id"]
    alone = register(client, auth, "model", f"{HF}/bare/self-parent")["metadata"]["id"]
    data, html = sections(client, registry, auth, a)
    assert {(r["parent"].id, r["child"].id) for r in data["lineage"]["rows"]} == {(a, b), (b, a)}
    assert "lineage-graph__edge--upward" in str(data["lineage"]["svg"])
    assert data["cost"]["total"] == pytest.approx(
        api(client, auth, f"/artifact/model/{a}/cost", dependency="true")[a]["total_cost"]
    )
    data, html = sections(client, registry, auth, alone)
    assert data["lineage"]["rows"] == []
    assert data["lineage"]["svg"] is None
    assert "alone in its lineage" in html


def test_names_with_markup_are_shown_as_text(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    evil = '<script>alert("base")</script>'
    register(client, auth, "model", BASE, name=evil)
    fine = register(client, auth, "model", FINETUNED)["metadata"]["id"]
    data, html = sections(client, registry, auth, fine)
    assert evil not in html
    assert evil not in str(data["lineage"]["svg"])
    assert "&lt;script&gt;" in html
    assert "&lt;script&gt;" in str(data["lineage"]["svg"])


def test_a_failing_section_leaves_the_others_and_the_page_standing(
    client: TestClient, registry: Registry, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from tmr.sources.huggingface import HuggingFaceSource

    real = HuggingFaceSource.inspect

    def broken_base_model(self: HuggingFaceSource, ref: Any) -> Any:
        snapshot = real(self, ref)
        return dataclasses.replace(snapshot, card={**snapshot.card, "base_model": {"name": "not a list"}})

    monkeypatch.setattr(HuggingFaceSource, "inspect", broken_base_model)
    broken = register(client, auth, "model", f"{HF}/nomic/tiny-mit-model")["metadata"]["id"]
    data, html = sections(client, registry, auth, broken)
    assert "malformed" in data["lineage"]["error"]
    assert "The lineage cannot be shown" in html
    assert data["cost"]["error"] is None
    assert data["license"]["applies"] is True

    def storage_down(*_args: Any, **_kwargs: Any) -> Any:
        raise StorageUnavailable("the metadata store did not answer")

    monkeypatch.setattr(registry.analysis, "cost", storage_down)
    data, html = sections(client, registry, auth, broken)
    assert data["cost"]["error"] == "the metadata store did not answer"
    assert "The download cost cannot be shown: the metadata store did not answer" in html
    ui_sign_in(client)
    page = client.get(f"/ui/artifacts/{broken}")
    assert page.status_code == 200, page.text
    assert "The lineage cannot be shown" in page.text
    assert "The download cost cannot be shown" in page.text


# -- the license-check page ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "github"),
    [
        (f"{HF}/google-bert/bert-base-uncased", f"{GH}/google-research/bert"),
        (f"{HF}/someone/nc-model", f"{GH}/psf/requests"),
        (f"{HF}/google-bert/bert-base-uncased", f"{GH}/nolicense/mystery"),
        (FINETUNED, f"{GH}/gpl/copyleft-tool"),
    ],
)
def test_the_license_check_page_gives_the_apis_verdict_in_words_and_symbols(
    client: TestClient, auth: dict[str, str], model: str, github: str
) -> None:
    model_id = register(client, auth, "model", model)["metadata"]["id"]
    expected = client.post(
        f"/artifact/model/{model_id}/license-check", json={"github_url": github}, headers=auth
    )
    assert expected.status_code == 200, expected.text
    ui_sign_in(client)
    page = client.get(f"/ui/artifacts/{model_id}/license-check", params={"github_url": github})
    assert page.status_code == 200, page.text
    text = page.text
    assert text.count("<h1") == 1
    if expected.json() is True:
        assert '<span aria-hidden="true">✓</span> Compatible</span>' in text
        assert "Not compatible" not in text
    else:
        assert '<span aria-hidden="true">✗</span> Not compatible</span>' in text
    assert "<h3>The two licenses</h3>" in text
    assert f"Code: {github}" in text
    assert "<h3>Why</h3>" in text
    assert f'value="{github}"' in text  # the form keeps what was asked


def test_the_license_check_names_both_licenses(client: TestClient, auth: dict[str, str]) -> None:
    fine = register(client, auth, "model", FINETUNED)["metadata"]["id"]
    ui_sign_in(client)
    text = client.get(
        f"/ui/artifacts/{fine}/license-check", params={"github_url": f"{GH}/gpl/copyleft-tool"}
    ).text
    assert "<strong>Apache-2.0</strong>, permissive" in text
    assert "<strong>GPL-3.0-only</strong>, copyleft" in text
    assert "distributed copies of the program" in text  # the reason the GPL code does not bind weights


def test_license_check_errors_are_tied_to_the_field(
    client: TestClient, auth: dict[str, str], emulator: EmulatorServer
) -> None:
    fine = register(client, auth, "model", FINETUNED)["metadata"]["id"]
    data = register(client, auth, "dataset", DATA)["metadata"]["id"]
    url = f"/ui/artifacts/{fine}/license-check"
    signed_out = client.get(url, params={"github_url": f"{GH}/psf/requests"}, follow_redirects=False)
    assert signed_out.status_code == 303
    assert "/ui/sign-in" in signed_out.headers["location"]
    ui_sign_in(client)

    blank = client.get(url)
    assert blank.status_code == 200
    assert "GitHub repository URL" in blank.text
    assert 'aria-invalid="true"' not in blank.text
    assert "Verdict" not in blank.text

    cases = [
        ("   ", 400, "Enter the URL of a GitHub repository"),
        ("https://gitlab.com/a/b", 400, "Enter the URL of a GitHub repository"),
        ("not a url", 400, "Enter the URL of a GitHub repository"),
        (f"{GH}/" + "a" * 5000, 400, "Enter the URL of a GitHub repository"),
        (f"{GH}/nobody/nothing", 404, "GitHub has no repository at this address"),
    ]
    for sent, status, message in cases:
        response = client.get(url, params={"github_url": sent})
        assert response.status_code == status, (sent, response.text)
        field = re.search(r"<input id=\"f-github_url\"[^>]*>", response.text)
        assert field is not None
        assert 'aria-invalid="true"' in field.group(0)
        assert "f-github_url-error" in field.group(0)
        assert re.search(rf'<p class="field-error" id="f-github_url-error">.*{message}', response.text)
        assert '<a href="#f-github_url">' in response.text  # the error summary leads to the field
        assert "Verdict" not in response.text

    emulator.faults.add(r"/github/repos/weird/custom-license", status=500)
    outage = client.get(url, params={"github_url": f"{GH}/weird/custom-license"})
    assert outage.status_code == 502
    assert "GitHub could not be asked for the project" in outage.text
    assert 'aria-invalid="true"' in outage.text

    assert (
        client.get(
            "/ui/artifacts/424242/license-check", params={"github_url": f"{GH}/psf/requests"}
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"/ui/artifacts/{data}/license-check", params={"github_url": f"{GH}/psf/requests"}
        ).status_code
        == 404
    )
