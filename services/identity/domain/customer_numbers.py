"""identity's projection of a customer number (seed 004, ID-14): who holds it as contract
holder, the CRM's reference address, and which account logs in with it. Fed by events (the
CRM's, contracts') and never by another service's database. No I/O.

The newest CRM event wins per field; the newest holder event wins for the holder; an event
older than what the projection holds (a late retry) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.identity.domain.aggregate import Aggregate
from shared.errors import NotFound

CRM_FIELDS = ("holder_name", "contact_email", "language", "segment", "kind")


@dataclass(frozen=True)
class NumberLogin:
    """A number the company holds and the account that logs in with it (None: no active
    one); ``designated`` when an administrator chose it."""

    customer_number: str
    holder_name: str
    login_user_id: str | None
    designated: bool


class CustomerNumber(Aggregate):
    """A customer number (stored in ``customer_numbers``, ``_id`` the number); ``""`` stands
    for "none" in every id field."""

    holder_name: str = ""
    contact_email: str = ""
    language: str = "de"
    segment: str = ""
    kind: str = ""
    crm_as_of: float = 0.0
    holder_company_id: str = ""
    holder_linked_by: str = ""
    holder_as_of: float = 0.0
    # The user the holder company's administrator designated to log in with the number.
    login_user_id: str = ""
    # The account identity opened for a holder, until contracts' own holder link arrives.
    claim_company_id: str = ""
    claim_user_id: str = ""

    @classmethod
    def blank(cls, number: str) -> CustomerNumber:
        return cls.model_validate({
            "_id": number, "holder_name": "", "contact_email": "", "language": "de",
            "segment": "", "kind": "", "crm_as_of": 0.0, "holder_company_id": "",
            "holder_linked_by": "", "holder_as_of": 0.0, "login_user_id": "",
            "claim_company_id": "", "claim_user_id": ""})

    def crm_reference(self, data: dict[str, Any], as_of: float) -> None:
        """The CRM issued the number, or changed its holder name or reference address (only
        the fields sent)."""
        if as_of < self.crm_as_of:
            return  # an older CRM event arriving late (a retry) does not undo a newer one
        for key in CRM_FIELDS:
            if data.get(key):
                value = str(data[key])
                setattr(self, key, value.lower() if key == "contact_email" else value)
        self.crm_as_of = as_of

    def holder_linked(self, company_id: str, link_type: str, linked_by: str | None,
                      as_of: float) -> None:
        """contracts linked the number (or re-announced a link after a contract changed)."""
        if as_of < self.holder_as_of:
            return
        if link_type == "holder":
            if self.holder_company_id != company_id:
                self.login_user_id = ""  # a designation belongs to the company that made it
            self.holder_company_id = company_id
            if linked_by:
                self.holder_linked_by = linked_by
            self.holder_as_of = as_of
        elif self.holder_company_id == company_id:
            self._drop_holder(as_of)

    def holder_unlinked(self, company_id: str, as_of: float) -> None:
        if as_of >= self.holder_as_of and self.holder_company_id == company_id:
            self._drop_holder(as_of)
        if self.claim_company_id == company_id:
            # The company identity opened for the holder let go of the number.
            self.claim_company_id = self.claim_user_id = ""

    def _drop_holder(self, as_of: float) -> None:
        self.holder_company_id = self.holder_linked_by = self.login_user_id = ""
        self.holder_as_of = as_of

    def record_claim(self, company_id: str, user_id: str) -> None:
        """identity opened an account for the number's holder."""
        self.claim_company_id, self.claim_user_id = company_id, user_id

    def designate(self, company_id: str, user_id: str) -> None:
        """The holder company's administrator names who logs in with the number."""
        if self.holder_company_id != company_id:
            raise NotFound(f"Your company no longer holds customer number {self.id}.",
                           slug="customer-number-not-held")
        self.login_user_id = user_id

    @property
    def company(self) -> str:
        """The company whose account logs in with the number ("" when none)."""
        return self.holder_company_id or self.claim_company_id

    @property
    def login_candidates(self) -> list[str]:
        """The accounts that may log in with it, first choice first: the holder company's
        designated user, else the user who linked it; with no holder yet, the account
        identity opened for the holder."""
        if self.holder_company_id:
            return [u for u in (self.login_user_id, self.holder_linked_by) if u]
        return [u for u in (self.claim_user_id,) if u]

    def login_by(self, user_id: str | None) -> NumberLogin:
        """Who logs in with the number, ``user_id`` found among ``login_candidates``."""
        return NumberLogin(self.id, self.holder_name, user_id, bool(self.login_user_id))

    @property
    def has_holder_account(self) -> bool:
        """Whether some company holds (or is about to hold) the number."""
        return bool(self.holder_company_id or self.claim_company_id)
