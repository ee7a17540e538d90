"""Authorised contacts (CON-7, seed 004): who may give which instructions for a customer, and
the answer support gets to "may this person do this for this customer?"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

Action = Literal["order", "cancel", "technical_change", "billing_question"]
ACTIONS: tuple[str, ...] = ("order", "cancel", "technical_change", "billing_question")


@dataclass(frozen=True)
class Answer:
    allowed: bool
    reason_code: str
    reason: str


def answer(*, customer_number: str, known: bool, holder_company_id: str, action: str,
           on: date, is_master_admin: bool, contact: dict[str, Any] | None) -> Answer:
    """Yes or no with the reason, from what is known about the number and the person."""
    if not known:
        return Answer(False, "unknown-customer-number",
                      f"Customer number {customer_number} is not known.")
    if not holder_company_id:
        return Answer(False, "no-contract-holder-account",
                      f"No company account is linked to customer number {customer_number} as "
                      "contract holder, so nobody is authorised through the portal.")
    if is_master_admin:
        return Answer(True, "master-administrator",
                      "The person is a master administrator of the company linked as contract "
                      "holder; they may do everything.")
    if contact is None:
        return Answer(False, "not-authorised",
                      "The person is not an authorised contact of this customer.")
    who = "agency" if contact["kind"] == "agency" else "person"
    if contact["valid_from"] > on.isoformat():
        return Answer(False, "not-yet-valid",
                      f"The {who} is authorised only from {contact['valid_from']}.")
    if contact.get("valid_until") and contact["valid_until"] < on.isoformat():
        return Answer(False, "authorisation-ended",
                      f"The {who}'s authorisation ended on {contact['valid_until']}.")
    if action not in contact["actions"]:
        return Answer(False, "action-not-authorised",
                      f"The {who} is authorised only for: {', '.join(contact['actions'])}.")
    until = f" until {contact['valid_until']}" if contact.get("valid_until") else ""
    return Answer(True, "authorised-contact",
                  f"The {who} is an authorised contact for {action.replace('_', ' ')} since "
                  f"{contact['valid_from']}{until}.")
