"""The register page in process: by URL and by ingest, the gate's verdict in words, each refusal
on the form tied to its field, forms without this session's key refused, nothing stored half-way."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.emulator.server import EmulatorServer
from tests.feature.conftest import BERT, HF, register
from tests.feature.web_support import listed, ui_sign_in
from tmr.accounts.models import User
from tmr.accounts.passwords import hash_password
from tmr.app import create_app
from tmr.container import Registry

POOR = f"{HF}/bare/no-card"  # no card, no config: far below the gate
EVIL = f"{HF}/evil/pickle-model"  # its weights import os.system


def post(
    client: TestClient, key: str, url: str, *, type_: str = "model", mode: str = "register", name: str = ""
) -> Any:
    return client.post(
        "/ui/register",
        data={"form_key": key, "url": url, "type": type_, "mode": mode, "name": name},
        follow_redirects=False,
    )


def tied_error(html: str, field: str) -> str:
    """The error message tied to `field`'s control (its aria-describedby names it)."""
    control = re.search(rf'<input id="f-{field}"[^>]*>', html)
    assert control is not None, f"no control f-{field}"
    assert f"f-{field}-error" in control.group(0)
    assert 'aria-invalid="true"' in control.group(0)
    message = re.search(rf'<p class="field-error" id="f-{field}-error">(.*?)</p>', html, re.S)
    assert message is not None
    return re.sub(r"<[^>]+>", "", message.group(1))


def test_the_form_needs_a_session(client: TestClient) -> None:
    response = client.get("/ui/register", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/sign-in?notice=signed-in-needed")


def test_the_empty_form_has_labelled_fields(client: TestClient) -> None:
    ui_sign_in(client)
    page = client.get("/ui/register")
    assert page.status_code == 200
    assert '<label for="f-url">Source URL</label>' in page.text
    assert '<label for="f-name">Name</label>' in page.text
    assert "<legend>Type</legend>" in page.text
    assert "Ingest (rated first; kept out unless it passes the trust gate)" in page.text
    assert page.text.count("<h1>") == 1


def test_register_by_url_goes_to_the_artifact_page(client: TestClient, auth: dict[str, str]) -> None:
    key = ui_sign_in(client)
    response = post(client, key, BERT, name="my bert")
    assert response.status_code == 303, response.text
    [artifact] = listed(client, auth)
    assert artifact["name"] == "my bert"
    assert response.headers["location"] == f"/ui/artifacts/{artifact['id']}?notice=registered"
    code = post(client, key, "https://github.com/psf/requests", type_="code")
    assert code.status_code == 303
    assert {a["type"] for a in listed(client, auth)} == {"model", "code"}


def test_an_ingested_model_shows_the_gate_s_verdict(client: TestClient, auth: dict[str, str]) -> None:
    key = ui_sign_in(client)
    response = post(client, key, BERT, mode="ingest")
    assert response.status_code == 303, response.text
    [artifact] = listed(client, auth)
    assert response.headers["location"] == f"/ui/register/{artifact['id']}/verdict"
    verdict = client.get(response.headers["location"])
    assert verdict.status_code == 200
    text = verdict.text
    assert "Trust gate verdict: bert-base-uncased" in text
    assert "✓</span> Passed" in text
    rating = client.get(f"/artifact/model/{artifact['id']}/rate", headers=auth).json()
    net = f"{rating['net_score']:.2f}"
    assert re.search(rf"<dt>Net score</dt><dd>{net}</dd>", text)
    for label in ("Ramp-up time", "Bus factor", "License", "Size score", "Weights safety"):
        assert f'<th scope="row">{label}</th>' in text
    assert "✗</span> Fails" not in text  # every metric passes, in words, with its threshold
    assert text.count("at least 0.50") >= 10
    assert f'href="/ui/artifacts/{artifact["id"]}"' in text


def test_a_model_below_the_gate_is_refused_with_its_failing_metrics(
    client: TestClient, auth: dict[str, str]
) -> None:
    key = ui_sign_in(client)
    response = post(client, key, POOR, mode="ingest")
    assert response.status_code == 424
    text = response.text
    assert "does not pass the trust gate" in text
    assert "Nothing was stored." in text
    assert "<caption>Metrics that keep the model out</caption>" in text
    row = re.search(
        r'<th scope="row">Ramp-up time</th>\s*<td>\s*([0-9.]+)\s*</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>',
        text,
    )
    assert row is not None
    assert float(row.group(1)) < 0.5
    assert row.group(2) == "at least 0.50"
    assert "Fails" in row.group(3)
    assert 'value="https://huggingface.co/bare/no-card"' in text  # the form comes back as sent
    assert listed(client, auth) == []  # nothing stored


def test_a_model_whose_weights_run_code_is_refused_naming_the_file(
    client: TestClient, auth: dict[str, str]
) -> None:
    key = ui_sign_in(client)
    response = post(client, key, EVIL, mode="ingest")
    assert response.status_code == 424
    assert '<th scope="row">Weights safety</th>' in response.text
    assert "1 unsafe file" in response.text
    assert "pytorch_model.bin:" in response.text
    assert listed(client, auth) == []


def test_the_gate_on_the_register_route_refuses_the_same_way(make_registry: Any) -> None:
    registry = make_registry(ingest_gate="enforce")
    with TestClient(create_app(registry=registry)) as client:
        key = ui_sign_in(client)
        response = post(client, key, POOR)
        assert response.status_code == 424
        assert "Metrics that keep the model out" in response.text


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("not a url", "absolute http(s) URL"),
        ("", "non-empty"),
        (f"{HF}/nobody/nothing-here", "names no repository upstream"),
    ],
)
def test_an_invalid_url_is_said_at_the_url_field(
    client: TestClient, auth: dict[str, str], url: str, words: str
) -> None:
    key = ui_sign_in(client)
    response = post(client, key, url)
    assert response.status_code == 400
    assert words in tied_error(response.text, "url")
    assert "<title>Error: Register an artifact · tmr</title>" in response.text
    assert '<a href="#f-url">' in response.text  # the summary leads to the field
    assert listed(client, auth) == []


def test_a_reserved_name_is_said_at_the_name_field(client: TestClient, auth: dict[str, str]) -> None:
    key = ui_sign_in(client)
    response = post(client, key, BERT, name="*")
    assert response.status_code == 400
    assert "reserved" in tied_error(response.text, "name")
    assert listed(client, auth) == []


def test_only_models_can_be_ingested(client: TestClient, auth: dict[str, str]) -> None:
    key = ui_sign_in(client)
    response = post(client, key, "https://github.com/psf/requests", type_="code", mode="ingest")
    assert response.status_code == 400
    assert 'id="f-mode-error"' in response.text
    assert "only models can be ingested" in response.text
    forged = post(client, key, BERT, type_="widget")
    assert forged.status_code == 400
    assert 'id="f-type-error"' in forged.text
    assert listed(client, auth) == []


def test_a_duplicate_is_409(client: TestClient, auth: dict[str, str]) -> None:
    register(client, auth, "model", BERT)
    key = ui_sign_in(client)
    response = post(client, key, BERT)
    assert response.status_code == 409
    assert "already registered" in tied_error(response.text, "url")
    assert len(listed(client, auth)) == 1


def test_an_upstream_outage_is_503_and_stores_nothing(
    client: TestClient, auth: dict[str, str], emulator: EmulatorServer
) -> None:
    key = ui_sign_in(client)
    emulator.faults.add(r"/api/models/openai/whisper-tiny", status=500)
    response = post(client, key, f"{HF}/openai/whisper-tiny")
    assert response.status_code == 503
    assert "The source could not be read, so nothing was stored." in response.text
    assert 'role="alert"' in response.text
    assert listed(client, auth) == []


def test_html_in_what_was_typed_is_escaped(client: TestClient) -> None:
    key = ui_sign_in(client)
    response = post(client, key, "<script>alert(1)</script>", name="<b>x</b>")
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_a_form_without_this_session_s_key_stores_nothing(
    client: TestClient, auth: dict[str, str], registry: Registry
) -> None:
    ui_sign_in(client)
    registry.store.put_user(User("alice", False, hash_password("alice-password-1")))
    with TestClient(create_app(registry=registry)) as other:
        other_key = ui_sign_in(other, "alice", "alice-password-1")
    for key in (None, "0" * 64, other_key):
        data = {"url": BERT, "type": "model", "mode": "register"}
        if key is not None:
            data["form_key"] = key
        response = client.post("/ui/register", data=data, follow_redirects=False)
        assert response.status_code == 403, key
        assert "This form has expired or was not sent from this session" in response.text
    assert listed(client, auth) == []
