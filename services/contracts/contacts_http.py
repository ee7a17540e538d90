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
from services.contracts.http import ADMINS, STORE, SUPPORT, CustomerNumber, Strict, _number, routes
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


class ContactIn(Strict):
    kind: Kind = "person"
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    phone: str | None = Field(None, max_length=32, description="E.164, e.g. +4930123456")
    organisation: str | None = Field(None, max_length=200)
    actions: UniqueList[Action] = Field(min_length=1)
    valid_from: date
    valid_until: date | None = None

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

    kind: Kind = _unset()
    name: str = _unset(min_length=1, max_length=200)
    email: EmailStr = _unset()
    phone: str | None = Field(None, max_length=32, description="E.164, e.g. +4930123456")
    organisation: str | None = Field(None, max_length=200)
    actions: UniqueList[Action] = _unset(min_length=1)
    valid_from: date = _unset()
    valid_until: date | None = None

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str | None) -> str | None:
        return _phone(value)


class Contact(BaseModel):
    contact_id: str
    customer_number: str
    kind: str
    name: str
    email: str
    phone: str | None = None
    organisation: str | None = None
    actions: list[str]
    valid_from: date
    valid_until: date | None = None


class ContactList(BaseModel):
    contacts: list[Contact]


class ContactChange(BaseModel):
    entry_id: str
    contact_id: str
    customer_number: str
    company_id: str
    action: Literal["added", "changed", "removed"]
    at: datetime
    by: str = Field(description="The user who made the change")
    contact: Contact = Field(description="The contact after the change (removed: before)")
    previous: dict[str, Any] | None = Field(
        None, description="changed: what each changed field was before")


class ContactHistory(BaseModel):
    items: list[ContactChange] = Field(description="Newest first")
    next_cursor: str | None


class HistoryQuery(BaseModel):
    limit: int = Field(50, ge=1, le=100)
    cursor: str | None = Field(None, max_length=200)


class AuthorisationQuery(Strict):
    customer_number: str = CustomerNumber
    email: EmailStr
    action: Action
    on: date | None = None


class AuthorisationAnswer(BaseModel):
    customer_number: str
    email: str
    action: str
    on: date
    allowed: bool
    reason_code: str
    reason: str
    contact: Contact | None = None


PATH = "/v1/customer-numbers/{customer_number}/authorised-contacts"


def _contact_id(request: web.Request) -> str:
    contact_id = request.match_info["contact_id"]
    if not 1 <= len(contact_id) <= 64:
        raise InvalidInput([{"field": "contact_id", "rule": "length",
                             "message": "A contact id has 1 to 64 characters."}])
    return contact_id


@routes.post(PATH, body=ContactIn, response=Contact, status=201, access=ADMINS,
             tags=("authorised contacts",), problems=(404, 409))
async def add_contact(request: web.Request, body: ContactIn, principal: Principal) -> Contact:
    """Name a person or agency authorised to give instructions for this customer."""
    return Contact(**await contacts.add_contact(
        request.app[STORE], company_id=principal.company_id, user_id=principal.subject,
        number=_number(request), contact=body.model_dump(mode="json")))


@routes.get(PATH, response=ContactList, access=ADMINS, tags=("authorised contacts",),
            problems=(404,))
async def list_contacts(request: web.Request, principal: Principal) -> ContactList:
    """The authorised contacts of one of your customer numbers."""
    return ContactList(contacts=await contacts.list_contacts(
        request.app[STORE], company_id=principal.company_id, number=_number(request)))


@routes.get(PATH + "/history", query=HistoryQuery, response=ContactHistory, access=ADMINS,
            tags=("authorised contacts",), problems=(404,))
async def company_contact_history(request: web.Request, query: HistoryQuery,
                                  principal: Principal) -> ContactHistory:
    """Every change your company made to this number's authorised contacts, newest first."""
    items, cursor = await contacts.contact_history(
        request.app[STORE], number=_number(request), company_id=principal.company_id,
        limit=query.limit, cursor=query.cursor)
    return ContactHistory(items=items, next_cursor=cursor)


@routes.patch(PATH + "/{contact_id}", body=ContactChanges, response=Contact, access=ADMINS,
              tags=("authorised contacts",), problems=(404, 409))
async def change_contact(request: web.Request, body: ContactChanges,
                         principal: Principal) -> Contact:
    """Edit an authorised contact: name, email, phone, actions, period, kind, organisation
    (send only what changes); the change is kept in the history."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    if not changes:
        raise InvalidInput([{"field": "body", "rule": "min_properties",
                             "message": "Send at least one field to change."}])
    return Contact(**await contacts.update_contact(
        request.app[STORE], company_id=principal.company_id, user_id=principal.subject,
        number=_number(request), contact_id=_contact_id(request), changes=changes))


@routes.delete(PATH + "/{contact_id}", access=ADMINS, tags=("authorised contacts",),
               problems=(404,))
async def delete_contact(request: web.Request, principal: Principal) -> None:
    """Withdraw an authorisation (kept in the history)."""
    await contacts.delete_contact(request.app[STORE], company_id=principal.company_id,
                                  user_id=principal.subject, number=_number(request),
                                  contact_id=_contact_id(request))


@routes.get("/v1/support/authorisations", query=AuthorisationQuery,
            response=AuthorisationAnswer, access=SUPPORT, tags=("support",))
async def may_act(request: web.Request, query: AuthorisationQuery,
                  principal: Principal) -> AuthorisationAnswer:
    """May this person do this for this customer? Yes or no, with the reason (seed 004)."""
    return AuthorisationAnswer(**await contacts.may_act(
        request.app[STORE], number=query.customer_number, email=query.email,
        action=query.action, on=query.on))


@routes.get("/v1/support/customer-numbers/{customer_number}/authorised-contacts/history",
            query=HistoryQuery, response=ContactHistory, access=SUPPORT, tags=("support",))
async def support_contact_history(request: web.Request, query: HistoryQuery,
                                  principal: Principal) -> ContactHistory:
    """Every change of this customer's authorised contacts, newest first, by whichever company
    named them: who added, edited or withdrew whom, when, and what was there before."""
    items, cursor = await contacts.contact_history(
        request.app[STORE], number=_number(request), company_id=None, limit=query.limit,
        cursor=query.cursor)
    return ContactHistory(items=items, next_cursor=cursor)
