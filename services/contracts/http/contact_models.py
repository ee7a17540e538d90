"""The request and response models of contracts' authorised-contacts API (CON-7, seed 004);
the routes are in contacts.py. Every property is described with an example valid for its
rules: the OpenAPI document composes its request and response examples from them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, EmailStr, Field, field_validator, model_validator

from services.contracts.domain.contacts import Action
from services.contracts.http.models import (
    CUSTOMER_NUMBER_EXAMPLE,
    USER_ID_EXAMPLE,
    Strict,
    customer_number_field,
)
from shared.parsing import UniqueList
from shared.phones import InvalidPhoneNumber, UnassignedPhoneNumber, normalize_phone

Kind = Literal["person", "agency"]
def _phone(value: str | None) -> str | None:
    """E.164 (``+4930123456``): support calls back on it, so it must be a valid number."""
    if value is None:
        return None
    try:
        return normalize_phone(value, None, valid=True)  # international format only
    except UnassignedPhoneNumber:
        raise ValueError("not a valid phone number") from None
    except InvalidPhoneNumber:
        raise ValueError("a phone number in international format, e.g. +4930123456") from None


CONTACT_ID_EXAMPLE = "3d6f8b2a-9c4e-4f1a-b7d2-6e8c0a4f1b95"
# A real next_cursor (it encodes the last change's time, revision and contact).
HISTORY_CURSOR_EXAMPLE = ("WyIyMDI2MDUwNDExMjAwMDAwMDAwMHwwMDAwMDJ8M2Q2ZjhiMmEtOWM0ZS00ZjFh"
                          "LWI3ZDItNmU4YzBhNGYxYjk1Il0")
PHONE = "Phone number in international format (E.164), e.g. +4930123456"
ACTIONS = ("What the contact may instruct: order, cancel, technical_change, "
           "billing_question")


class ContactIn(Strict):
    """A person or agency authorised to give instructions for the customer."""

    kind: Kind = Field("person", description="person or agency", examples=["person"])
    name: str = Field(min_length=1, max_length=200, description="The person's or agency's "
                                                                "name",
                      examples=["Jonas Becker"])
    email: EmailStr = Field(description="Email address; one contact per address and number",
                            examples=["jonas.becker@muster.example"])
    phone: str | None = Field(None, max_length=32, description=PHONE,
                              examples=["+4930123456"])
    organisation: str | None = Field(None, max_length=200,
                                     description="The organisation the contact acts for",
                                     examples=["Muster IT-Service GmbH"])
    actions: UniqueList[Action] = Field(min_length=1, description=ACTIONS,
                                        examples=[["order", "technical_change"]])
    valid_from: date = Field(description="First day of the authorisation",
                             examples=["2026-04-01"])
    valid_until: date | None = Field(None, description="Last day of the authorisation; "
                                                       "null: open-ended",
                                     examples=["2026-12-31"])

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str | None) -> str | None:
        return _phone(value)

    @model_validator(mode="after")
    def _period(self) -> ContactIn:
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("valid_until must not be before valid_from")
        self.actions = list(dict.fromkeys(self.actions))
        return self


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _unset(**kw: Any) -> Any:
    """A field that may be left out but not sent as null: absent means "unchanged"; the
    document shows no (null) default for it."""
    return Field(None, json_schema_extra=_drop_default, **kw)


class ContactChanges(Strict):
    """The fields to change; the others stay. ``phone``, ``organisation`` and ``valid_until``
    are cleared with null."""

    kind: Kind = _unset(description="person or agency", examples=["agency"])
    name: str = _unset(min_length=1, max_length=200, description="The new name",
                       examples=["Jonas Becker"])
    email: EmailStr = _unset(description="The new email address",
                             examples=["j.becker@muster.example"])
    phone: str | None = Field(None, max_length=32, description=PHONE + "; null clears it",
                              examples=["+4989123456"])
    organisation: str | None = Field(None, max_length=200,
                                     description="The organisation; null clears it",
                                     examples=["Muster IT-Service GmbH"])
    actions: UniqueList[Action] = _unset(min_length=1, description=ACTIONS,
                                         examples=[["order", "cancel", "technical_change"]])
    valid_from: date = _unset(description="First day of the authorisation",
                              examples=["2026-04-01"])
    valid_until: date | None = Field(None, description="Last day of the authorisation; null "
                                                       "makes it open-ended",
                                     examples=["2027-03-31"])

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str | None) -> str | None:
        return _phone(value)


class Contact(BaseModel):
    """An authorised contact of a customer number."""

    contact_id: str = Field(description="The contact's id",
                            examples=[CONTACT_ID_EXAMPLE])
    customer_number: str = Field(description="The customer number",
                                 examples=[CUSTOMER_NUMBER_EXAMPLE])
    kind: str = Field(description="person or agency", examples=["person"])
    name: str = Field(description="The person's or agency's name", examples=["Jonas Becker"])
    email: str = Field(description="Email address", examples=["jonas.becker@muster.example"])
    phone: str | None = Field(None, description="Phone number (E.164)",
                              examples=["+4930123456"])
    organisation: str | None = Field(None, description="The organisation the contact acts for",
                                     examples=["Muster IT-Service GmbH"])
    actions: list[str] = Field(description=ACTIONS, examples=[["order", "technical_change"]])
    valid_from: date = Field(description="First day of the authorisation",
                             examples=["2026-04-01"])
    valid_until: date | None = Field(None, description="Last day of the authorisation; null: "
                                                       "open-ended", examples=["2026-12-31"])


class ContactList(BaseModel):
    """The authorised contacts of a customer number."""

    contacts: list[Contact] = Field(description="Every current authorised contact")


class ContactChange(BaseModel):
    """One change of an authorised contact: who added, edited or withdrew it, and when."""

    entry_id: str = Field(description="The history entry's id",
                          examples=[CONTACT_ID_EXAMPLE + ":2"])
    contact_id: str = Field(description="The contact changed", examples=[CONTACT_ID_EXAMPLE])
    customer_number: str = Field(description="The customer number",
                                 examples=[CUSTOMER_NUMBER_EXAMPLE])
    company_id: str = Field(description="The company that made the change",
                            examples=["0f3a6c2e-1d4b-4e8a-9b7c-2a5d8e1f3c40"])
    action: Literal["added", "changed", "removed"] = Field(description="What was done",
                                                           examples=["changed"])
    at: datetime = Field(description="When", examples=["2026-05-04T11:20:00Z"])
    by: str = Field(description="The user who made the change", examples=[USER_ID_EXAMPLE])
    contact: Contact = Field(description="The contact after the change (removed: before)")
    previous: dict[str, Any] | None = Field(
        None, description="changed: what each changed field was before",
        examples=[{"phone": None, "actions": ["order"]}])


class ContactHistory(BaseModel):
    """A page of authorised-contact changes."""

    items: list[ContactChange] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on "
                                                "the last", examples=[HISTORY_CURSOR_EXAMPLE])


class HistoryQuery(BaseModel):
    """Which page of the history to read."""

    limit: int = Field(50, ge=1, le=100, description="Changes per page", examples=[50])
    cursor: str | None = Field(None, max_length=200,
                               description="The `next_cursor` of the previous page, as is",
                               examples=[HISTORY_CURSOR_EXAMPLE])


class AuthorisationQuery(Strict):
    """Support's question: may this person do this for this customer (on this day)?"""

    customer_number: str = customer_number_field()
    email: EmailStr = Field(description="The person's email address",
                            examples=["jonas.becker@muster.example"])
    action: Action = Field(description="What the person wants to do", examples=["order"])
    on: date | None = Field(None, description="The day asked about; omitted: today",
                            examples=["2026-05-04"])


class AuthorisationAnswer(BaseModel):
    """Yes or no, with the reason."""

    customer_number: str = Field(description="The customer number asked about",
                                 examples=[CUSTOMER_NUMBER_EXAMPLE])
    email: str = Field(description="The email address asked about (lower case)",
                       examples=["jonas.becker@muster.example"])
    action: str = Field(description="The action asked about", examples=["order"])
    on: date = Field(description="The day asked about", examples=["2026-05-04"])
    allowed: bool = Field(description="Whether the person may do it", examples=[True])
    reason_code: str = Field(
        description="Why: master-administrator, authorised-contact, not-authorised, "
                    "not-yet-valid, authorisation-ended, action-not-authorised, "
                    "unknown-customer-number, no-contract-holder-account",
        examples=["authorised-contact"])
    reason: str = Field(description="The reason in words, to read out", examples=[
        ("The person is an authorised contact for order since 2026-04-01 until "
         "2026-12-31.")])
    contact: Contact | None = Field(None, description="The authorised contact, when the "
                                                      "person is one")


class ContactPath(BaseModel):
    """The customer number and authorised contact a path names."""

    customer_number: str = customer_number_field()
    contact_id: str = Field(min_length=1, max_length=64,
                            description="The contact's id, from the list or the answer that "
                                        "added it", examples=[CONTACT_ID_EXAMPLE])
