"""Seed 004 ("Als Benutzername verwenden Sie bitte Ihre Kunden-Nummer"): what contracts does
for a contract holder who logs in with the customer number.

- The CRM's changes to a number's holder name and reference email address are kept, so the
  next one-time-password email goes to the current address (issue 11, part 5).
- identity opened an account (and a company) for a holder who proved the reference address
  through "forgot password" with the customer number: that company becomes the number's
  contract holder, announced with ``contracts.customer_number.linked.v1`` like any link.
"""

from __future__ import annotations

from typing import Any

from services.contracts.domain import customer_numbers as cn
from services.contracts.domain import errors
from services.contracts.handlers import _linked_event, _now
from services.contracts.store import ContractsStore
from shared.logging import get_logger

log = get_logger("contracts.holder_accounts")


async def customer_number_changed(store: ContractsStore, data: dict[str, Any], *,
                                  event_id: str, as_of: float) -> None:
    """The CRM changed a number's holder name, reference email address or language."""
    number = data["customer_number"]

    def apply(doc: dict[str, Any]) -> list[dict]:
        cn.change_reference(doc, data, as_of)
        return []

    if await store.numbers.change({"_id": number}, apply, applied_event=event_id) is None:
        # Possibly ahead of the number's own event: retried with back-off, then parked.
        raise LookupError(f"customer number {number} is not known (yet)")


async def link_holder_account(store: ContractsStore, *, company_id: str, user_id: str,
                              number: str, event_id: str) -> bool:
    """Link the number as holder to the company identity opened for its holder. A number
    that can not be linked so (mixed, private only, held by another company meanwhile) stays
    as it is: the account exists, but holds no contracts; the refusal is logged for
    support. True if the link was made now."""
    made: list[bool] = []

    def apply(doc: dict[str, Any]) -> list[dict]:
        try:
            link = cn.link_holder_account(doc, company_id=company_id, user_id=user_id,
                                          now=_now())
        except errors.AlreadyLinked:
            return []  # this company holds it already: nothing to do
        except (errors.LinkedElsewhere, errors.MixedCustomerNumber,
                errors.PrivateCustomerNumber) as e:
            log.warning("customer number not linked to the holder's new account",
                        customer_number=number, company_id=company_id, reason=e.slug)
            return []
        made.append(True)
        return [_linked_event(doc, link)]

    if await store.numbers.change({"_id": number}, apply, applied_event=event_id) is None:
        raise LookupError(f"customer number {number} is not known (yet)")
    return bool(made)
