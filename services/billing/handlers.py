"""billing's use cases."""

from __future__ import annotations

from datetime import UTC, datetime

from services.billing.store import BillingStore
from shared.errors import NotFound
from shared.mongo import is_duplicate


async def open_billing_account(store: BillingStore, *, company_id: str, company_name: str,
                               event_id: str) -> bool:
    """A company's billing account, opened once however often the event arrives."""
    try:
        await store.accounts.create({
            "_id": company_id, "company_id": company_id, "company_name": company_name,
            "status": "open", "opened_at": datetime.now(UTC), "opened_by_event": event_id,
        })
        return True
    except Exception as e:
        if is_duplicate(e):
            return False
        raise


async def billing_account(store: BillingStore, company_id: str) -> dict:
    account = await store.accounts.get({"_id": company_id, "company_id": company_id})
    if account is None:
        raise NotFound("This company has no billing account yet.")
    return account
