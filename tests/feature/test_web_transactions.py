"""The transactions pages: the list and one transaction, read from the same service as
`GET /transactions`; linked from the navigation; someone else's transaction is a 404 page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.feature.conftest import BERT, HF
from tests.feature.web_support import ui_sign_in
from tmr.accounts.models import User
from tmr.accounts.passwords import hash_password
from tmr.container import Registry


def test_the_list_and_a_committed_transaction(client: TestClient, auth: dict[str, str]) -> None:
    tid = client.post("/transactions", headers=auth).json()["id"]
    for command in (
        {"op": "register", "type": "model", "url": BERT},
        {"op": "register", "type": "dataset", "url": f"{HF}/datasets/stanfordnlp/imdb"},
    ):
        assert client.post(f"/transactions/{tid}/commands", json=command, headers=auth).status_code == 201
    ui_sign_in(client)
    listing = client.get("/ui/transactions")
    assert listing.status_code == 200
    assert 'href="/ui/transactions" aria-current="page"' in listing.text  # in the navigation
    assert f'href="/ui/transactions/{tid}"' in listing.text
    assert "Open: not applied yet" in client.get(f"/ui/transactions/{tid}").text

    executed = client.post(f"/transactions/{tid}/execute", headers=auth).json()
    page = client.get(f"/ui/transactions/{tid}")
    assert page.status_code == 200
    assert "Committed: every change applied at once" in page.text
    model_id = executed["results"][0]["metadata"]["id"]
    assert f'href="/ui/artifacts/{model_id}"' in page.text


def test_a_failed_transaction_says_why_and_others_do_not_see_it(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    tid = client.post("/transactions", headers=auth).json()["id"]
    command = {"op": "ingest", "url": f"{HF}/bare/no-card"}
    assert client.post(f"/transactions/{tid}/commands", json=command, headers=auth).status_code == 201
    assert client.post(f"/transactions/{tid}/execute", headers=auth).status_code == 424
    ui_sign_in(client)
    page = client.get(f"/ui/transactions/{tid}")
    assert "Failed: nothing was changed" in page.text
    assert "command 0 (ingest) failed" in page.text
    assert "<strong>failed</strong> (424)" in page.text

    registry.store.put_user(User("eve", False, hash_password("pw-eve-long-enough")))
    with TestClient(client.app) as other:
        ui_sign_in(other, "eve", "pw-eve-long-enough")
        assert other.get(f"/ui/transactions/{tid}").status_code == 404
        assert "No transactions yet." in other.get("/ui/transactions").text
