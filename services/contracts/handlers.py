"""contracts' use cases."""

from __future__ import annotations

from datetime import UTC, datetime

from services.contracts.store import ContractsStore
from shared.errors import NotFound
from shared.mongo import is_duplicate


async def open_contract_space(store: ContractsStore, *, company_id: str, company_name: str,
                              event_id: str) -> bool:
    """The company's contract space (its linked customer numbers), opened once."""
    try:
        await store.spaces.create({
            "_id": company_id, "company_id": company_id, "company_name": company_name,
            "customer_numbers": [], "opened_at": datetime.now(UTC), "opened_by_event": event_id,
        })
        return True
    except Exception as e:
        if is_duplicate(e):
            return False
        raise


async def contract_space(store: ContractsStore, company_id: str) -> dict:
    space = await store.spaces.get({"_id": company_id, "company_id": company_id})
    if space is None:
        raise NotFound("This company has no contract space yet.")
    return space
