"""What a mobile-number login reads of billing (ID-6, seed 002): the invoices of the customer
numbers its number runs under, as contracts' link events tell (``access_numbers`` of the
active contracts each of the company's links covers). Never another company's: every query is
scoped by the token's company, and the number comes from the token alone.
"""

from __future__ import annotations

from typing import Any

from services.billing import handlers
from services.billing.domain.errors import CustomerNumberNotLinked, field_problem
from services.billing.store import BillingStore
from shared.auth import Principal

Doc = dict[str, Any]


async def customer_numbers_of_phone(store: BillingStore, company_id: str,
                                    phone: str) -> list[str]:
    """The company's linked customer numbers with an active contract on ``phone`` (E.164)."""
    docs = await store.customer_numbers.find(
        {"company_id": company_id, "linked": True}).to_list()
    # Matched in Python: equality on an array member through an index fails on the emulator.
    return sorted(d["customer_number"] for d in docs if phone in d.get("access_numbers", []))


async def phone_invoices(store: BillingStore, principal: Principal, *, limit: int,
                         cursor: str | None, customer_number: str | None = None
                         ) -> tuple[list[Doc], str | None, list[str]]:
    """The invoices of the login's number: newest first, paged like every invoice list."""
    assert principal.phone is not None
    numbers = await customer_numbers_of_phone(store, principal.company_id, principal.phone)
    if customer_number is not None:
        if customer_number not in numbers:
            raise field_problem(CustomerNumberNotLinked, "query.customer_number", "own_number",
                                "Your mobile number does not run under this customer number.")
        numbers = [customer_number]
    items, next_cursor = await handlers.invoice_page(store, principal.company_id, limit=limit,
                                                     cursor=cursor, customer_numbers=numbers)
    return items, next_cursor, numbers
