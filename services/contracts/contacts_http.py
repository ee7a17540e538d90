"""contracts' HTTP API for authorised contacts (CON-7, seed 004): the contract holder's master
administrator names, edits and withdraws them; support asks whether a person may act and
reads every change."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import phonenumbers
from aiohttp import web
from pydantic import BaseModel, EmailStr, Field, field_validator, model_validator

from services.contracts import contacts
from services.contracts.domain.contacts import Action
from services.contracts.http import ADMINS, STORE, SUPPORT, _number, routes
from services.contracts.http_models import (
    CUSTOMER_NUMBER_EXAMPLE,
    USER_ID_EXAMPLE,
    CustomerNumberPath,
    Strict,
    customer_number_field,
)
from shared.auth import Principal
from shared.errors import InvalidInput
from shared.parsing import UniqueList

Kind = Literal["person", "agency"]


def _phone(value: str | None) -> str | None:
    """E.164 (``+4930123456``): support calls back on it, so it must be a valid number."""
    if value is None:
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("a phone number in international format, e.g. +4930123456") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


CONTACT_ID_EXAMPLE = "3d6f8b2a-9c4e-4f1a-b7d2-6e8c0a4f1b95"
# A real next_cursor (it encodes the last change's time, revision and contact).
HISTORY_CURSOR_EXAMPLE = ("MjAyNjA1MDQxMTIwMDAwMDAwMDB8MDAwMDAyfDNkNmY4YjJhLTljNGUtNGYx"
                          "YS1iN2QyLTZlOGMwYTRmMWI5NQ")
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


PATH = "/v1/customer-numbers/{customer_number}/authorised-contacts"


def _contact_id(request: web.Request) -> str:
    contact_id = request.match_info["contact_id"]
    if not 1 <= len(contact_id) <= 64:
        raise InvalidInput([{"field": "contact_id", "rule": "length",
                             "message": "A contact id has 1 to 64 characters."}])
    return contact_id


@routes.post(PATH, body=ContactIn, response=Contact, status=201,
             path_params=CustomerNumberPath, access=ADMINS,
             tags=("authorised contacts",), problems=(404, 409))
async def add_contact(request: web.Request, body: ContactIn, principal: Principal) -> Contact:
    """Add an authorised contact

    Names a person or agency authorised to give instructions for one of your customer
    numbers (order, cancel, technical changes, billing questions) from a day, optionally
    until a day. Master administrators of the company linked as contract holder only (404
    `link-not-found` otherwise). 409 `authorised-contact-exists` when the email address is
    already a contact of the number. The addition is kept in the history."""
    return Contact(**await contacts.add_contact(
        request.app[STORE], company_id=principal.company_id, user_id=principal.subject,
        number=_number(request), contact=body.model_dump(mode="json")))


@routes.get(PATH, response=ContactList, path_params=CustomerNumberPath, access=ADMINS,
            tags=("authorised contacts",), problems=(404,))
async def list_contacts(request: web.Request, principal: Principal) -> ContactList:
    """List the authorised contacts

    The authorised contacts of one of your customer numbers. Master administrators of the
    company linked as contract holder only (404 `link-not-found` otherwise)."""
    return ContactList(contacts=await contacts.list_contacts(
        request.app[STORE], company_id=principal.company_id, number=_number(request)))


@routes.get(PATH + "/history", query=HistoryQuery, response=ContactHistory,
            path_params=CustomerNumberPath, access=ADMINS,
            tags=("authorised contacts",), problems=(404,))
async def company_contact_history(request: web.Request, query: HistoryQuery,
                                  principal: Principal) -> ContactHistory:
    """Read the authorised contacts' history

    Every change your company made to this number's authorised contacts, newest first:
    who added, edited or withdrew whom, when, and what each changed field was before. Pass
    `next_cursor` as `cursor` for older changes. Master administrators of the company linked
    as contract holder only (404 `link-not-found` otherwise)."""
    items, cursor = await contacts.contact_history(
        request.app[STORE], number=_number(request), company_id=principal.company_id,
        limit=query.limit, cursor=query.cursor)
    return ContactHistory(items=items, next_cursor=cursor)


@routes.patch(PATH + "/{contact_id}", body=ContactChanges, response=Contact,
              path_params=ContactPath, access=ADMINS,
              tags=("authorised contacts",), problems=(404, 409, 422))
async def change_contact(request: web.Request, body: ContactChanges,
                         principal: Principal) -> Contact:
    """Edit an authorised contact

    Changes an authorised contact's name, email, phone, actions, period, kind or
    organisation: send only what changes (at least one field; `phone`, `organisation` and
    `valid_until` are cleared with null). The change is kept in the history with what each
    field was before. Master administrators of the company linked as contract holder only.
    404 `authorised-contact-not-found`; 409 `authorised-contact-exists` for an email address
    another contact of the number has."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    if not changes:
        raise InvalidInput([{"field": "body", "rule": "min_properties",
                             "message": "Send at least one field to change."}])
    return Contact(**await contacts.update_contact(
        request.app[STORE], company_id=principal.company_id, user_id=principal.subject,
        number=_number(request), contact_id=_contact_id(request), changes=changes))


@routes.delete(PATH + "/{contact_id}", path_params=ContactPath, access=ADMINS,
               tags=("authorised contacts",), problems=(404, 422))
async def delete_contact(request: web.Request, principal: Principal) -> None:
    """Withdraw an authorised contact

    Ends a contact's authorisation at once; the withdrawal is kept in the history. Master
    administrators of the company linked as contract holder only. 404
    `authorised-contact-not-found`."""
    await contacts.delete_contact(request.app[STORE], company_id=principal.company_id,
                                  user_id=principal.subject, number=_number(request),
                                  contact_id=_contact_id(request))


@routes.get("/v1/support/authorisations", query=AuthorisationQuery,
            response=AuthorisationAnswer, access=SUPPORT, tags=("support",))
async def may_act(request: web.Request, query: AuthorisationQuery,
                  principal: Principal) -> AuthorisationAnswer:
    """Ask whether a person may act for a customer (support)

    May this person (by email address) do this for this customer number on this day? Yes
    or no, with a reason code and the reason in words: master administrators of the
    contract holder's company may do everything, authorised contacts what they were named
    for within their period. Support clients (`contracts:support`) only."""
    return AuthorisationAnswer(**await contacts.may_act(
        request.app[STORE], number=query.customer_number, email=query.email,
        action=query.action, on=query.on))


@routes.get("/v1/support/customer-numbers/{customer_number}/authorised-contacts/history",
            query=HistoryQuery, response=ContactHistory, path_params=CustomerNumberPath,
            access=SUPPORT, tags=("support",))
async def support_contact_history(request: web.Request, query: HistoryQuery,
                                  principal: Principal) -> ContactHistory:
    """Read a customer's authorised-contact history (support)

    Every change of this customer number's authorised contacts, newest first, by whichever
    company named them: who added, edited or withdrew whom, when, and what was there before.
    Pass `next_cursor` as `cursor` for older changes. Support clients (`contracts:support`)
    only."""
    items, cursor = await contacts.contact_history(
        request.app[STORE], number=_number(request), company_id=None, limit=query.limit,
        cursor=query.cursor)
    return ContactHistory(items=items, next_cursor=cursor)
