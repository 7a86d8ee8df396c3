"""Transactions in the browser: the signed-in user's list (an admin's: everyone's), newest first,
and one transaction's page with its state, expiry and each command's result or the error that
failed it. Both read `TransactionService`, as `GET /transactions[/{id}]` do, so ownership and
expiry read the same through either door (someone else's transaction is a 404 page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tmr.web.routing import PageRoute
from tmr.web.session import SignedInDep, registry_of
from tmr.web.templating import render

router = APIRouter(route_class=PageRoute)

STATES = {
    "open": "Open: not applied yet",
    "committed": "Committed: every change applied at once",
    "failed": "Failed: nothing was changed",
    "abandoned": "Abandoned: nothing was changed",
}


@router.get("/ui/transactions")
def transactions_page(request: Request, principal: SignedInDep) -> Response:
    transactions = registry_of(request).transactions.listing(principal)
    return render(request, "transactions.html", {"transactions": transactions, "states": STATES})


@router.get("/ui/transactions/{transaction_id}")
def transaction_page(request: Request, principal: SignedInDep, transaction_id: str) -> Response:
    transaction = registry_of(request).transactions.get(principal, transaction_id)
    return render(request, "transaction.html", {"transaction": transaction, "states": STATES})
