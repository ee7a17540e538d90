"""Authorised contacts (CON-7, seed 004): who may give which instructions for a customer, every
change of them kept as a history entry, and the answer support gets to "may this person do
this for this customer?"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import Field

from services.contracts.domain import errors
from services.contracts.domain.customer_numbers import CustomerNumber
from services.contracts.domain.model import Aggregate, Record
from shared.errors import InvalidInput

Action = Literal["order", "cancel", "technical_change", "billing_question"]
ACTIONS: tuple[str, ...] = ("order", "cancel", "technical_change", "billing_question")
# What a contact is made of: the fields an edit may change, in the order shown.
FIELDS = ("kind", "name", "email", "phone", "organisation", "actions", "valid_from",
          "valid_until")
FieldValue = str | list[str] | None


class ContactDetails(Record):
    """A contact as shown, and as kept in each history entry."""

    contact_id: str
    customer_number: str
    kind: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    organisation: str | None = None
    actions: list[str] | None = None
    valid_from: str | None = None
    valid_until: str | None = None


class ContactChange(Record):
    """One history entry: who added, edited or withdrew a contact, when, and what was there."""

    entry_id: str
    contact_id: str
    company_id: str
    customer_number: str
    action: Literal["added", "changed", "removed"]
    at: datetime
    by: str
    contact: ContactDetails
    previous: dict[str, FieldValue] | None = None
    # Digits first: the emulator compares date-looking strings wrongly.
    sort_key: str


class AuthorisedContact(Aggregate):
    """A person or agency the contract holder's company authorised for a customer number;
    unique per company, number and email address. Dates are kept as ISO strings."""

    id: str = Field(alias="_id")
    company_id: str
    customer_number: str
    kind: str = "person"
    name: str = ""
    email: str = ""
    phone: str | None = None
    organisation: str | None = None
    actions: list[str] = Field(default_factory=list)
    valid_from: str = ""
    valid_until: str | None = None
    created_at: datetime | None = None
    created_by: str | None = None
    revision: int = 1
    # The newest history entry, written with the change itself (the history collection gets
    # it right after; a process stopping in between loses nothing).
    last_change: ContactChange | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None

    @classmethod
    def add(cls, *, contact_id: str, company_id: str, customer_number: str,
            fields: Mapping[str, FieldValue], by: str, now: datetime) -> AuthorisedContact:
        values = {k: fields.get(k) for k in FIELDS}
        values["email"] = str(values["email"]).lower()
        contact = cls.model_validate({"_id": contact_id, "company_id": company_id,
                                      "customer_number": customer_number, **values,
                                      "created_at": now, "created_by": by, "revision": 1})
        contact.last_change = contact._entry("added", by=by, now=now, revision=1)
        return contact

    def details(self) -> ContactDetails:
        return ContactDetails(contact_id=self.id, customer_number=self.customer_number,
                              kind=self.kind, name=self.name, email=self.email,
                              phone=self.phone, organisation=self.organisation,
                              actions=self.actions, valid_from=self.valid_from,
                              valid_until=self.valid_until)

    def _value(self, key: str) -> FieldValue:
        value: FieldValue = getattr(self, key)
        return value

    def change(self, changes: Mapping[str, FieldValue], *, by: str, now: datetime) -> bool:
        """Change some fields; the history entry keeps what each changed field was before.
        False when nothing changes (no entry then)."""
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise ValueError(f"not a contact field: {sorted(unknown)}")
        if "email" in changes:
            changes = {**changes, "email": str(changes["email"]).lower()}
        previous = {k: self._value(k) for k, v in changes.items() if self._value(k) != v}
        until = changes.get("valid_until", self.valid_until)
        since = changes.get("valid_from", self.valid_from)
        if until and isinstance(until, str) and isinstance(since, str) and until < since:
            raise InvalidInput([{"field": "valid_until", "rule": "period",
                                 "message": "valid_until must not be before valid_from."}])
        if not previous:
            return False
        for key, value in changes.items():
            setattr(self, key, value)
        self.revision += 1
        self.updated_at, self.updated_by = now, by
        self.last_change = self._entry("changed", by=by, now=now, revision=self.revision,
                                       previous=previous)
        return True

    def withdrawal(self, *, by: str, now: datetime) -> ContactChange:
        """The history entry of withdrawing the contact (written before it is deleted)."""
        return self._entry("removed", by=by, now=now, revision=self.revision + 1)

    def _entry(self, action: Literal["added", "changed", "removed"], *, by: str, now: datetime,
               revision: int, previous: dict[str, FieldValue] | None = None) -> ContactChange:
        return ContactChange(
            entry_id=f"{self.id}:{revision}", contact_id=self.id, company_id=self.company_id,
            customer_number=self.customer_number, action=action, at=now, by=by,
            contact=self.details(), previous=previous,
            sort_key=f"{now.strftime('%Y%m%d%H%M%S%f')}|{revision:06d}|{self.id}")


def check_names_contacts(number: CustomerNumber | None, *, customer_number: str,
                         company_id: str) -> CustomerNumber:
    """Only the company linked as contract holder names a number's authorised contacts."""
    if number is None or number.holder_company_id != company_id:
        raise errors.LinkNotFound(
            f"Your company is not linked to customer number {customer_number} as contract "
            "holder; only the contract holder names authorised contacts.")
    return number


def not_found(customer_number: str, contact_id: str) -> errors.ContactNotFound:
    return errors.ContactNotFound(
        f"Customer number {customer_number} of your company has no authorised contact "
        f"{contact_id}.")


def exists(email: str, customer_number: str) -> errors.ContactExists:
    return errors.ContactExists(
        f"{email} is already an authorised contact of customer number {customer_number}; "
        "edit that entry instead.")


@dataclass(frozen=True)
class Answer:
    allowed: bool
    reason_code: str
    reason: str


def answer(*, customer_number: str, known: bool, holder_company_id: str, action: str,
           on: date, is_master_admin: bool, contact: AuthorisedContact | None) -> Answer:
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
    who = "agency" if contact.kind == "agency" else "person"
    if contact.valid_from > on.isoformat():
        return Answer(False, "not-yet-valid",
                      f"The {who} is authorised only from {contact.valid_from}.")
    if contact.valid_until and contact.valid_until < on.isoformat():
        return Answer(False, "authorisation-ended",
                      f"The {who}'s authorisation ended on {contact.valid_until}.")
    if action not in contact.actions:
        return Answer(False, "action-not-authorised",
                      f"The {who} is authorised only for: {', '.join(contact.actions)}.")
    until = f" until {contact.valid_until}" if contact.valid_until else ""
    return Answer(True, "authorised-contact",
                  f"The {who} is an authorised contact for {action.replace('_', ' ')} since "
                  f"{contact.valid_from}{until}.")
