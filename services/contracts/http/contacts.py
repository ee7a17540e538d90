"""contracts' routes of authorised contacts (CON-7, seed 004): the contract holder's master
administrator names, edits and withdraws them; support asks whether a person may act and
reads every change."""

from __future__ import annotations

from aiohttp import web

from services.contracts import views
from services.contracts.domain.commands import AddContact, ChangeContact, WithdrawContact
from services.contracts.handlers import contacts
from services.contracts.http.access import ADMINS, SUPPORT, company, customer_number
from services.contracts.http.access import contracts as unit
from services.contracts.http.contact_models import (
    AuthorisationAnswer,
    AuthorisationQuery,
    Contact,
    ContactChanges,
    ContactHistory,
    ContactIn,
    ContactList,
    ContactPath,
    HistoryQuery,
)
from services.contracts.http.models import CustomerNumberPath
from shared.auth import Principal
from shared.errors import InvalidInput
from shared.http import Routes

routes = Routes()

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
    added = await contacts.add_contact(AddContact(
        company_id=company(principal), user_id=principal.subject,
        customer_number=customer_number(request), fields=body.model_dump(mode="json")),
        unit(request))
    return views.contact_view(added)


@routes.get(PATH, response=ContactList, path_params=CustomerNumberPath, access=ADMINS,
            tags=("authorised contacts",), problems=(404,))
async def list_contacts(request: web.Request, principal: Principal) -> ContactList:
    """List the authorised contacts

    The authorised contacts of one of your customer numbers. Master administrators of the
    company linked as contract holder only (404 `link-not-found` otherwise)."""
    return await views.list_contacts(unit(request).store, company_id=company(principal),
                                     number=customer_number(request))


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
    return await views.contact_history(
        unit(request).store, number=customer_number(request),
        company_id=company(principal), limit=query.limit, cursor=query.cursor)


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
    changed = await contacts.change_contact(ChangeContact(
        company_id=company(principal), user_id=principal.subject,
        customer_number=customer_number(request), contact_id=_contact_id(request),
        changes=changes), unit(request))
    return views.contact_view(changed)


@routes.delete(PATH + "/{contact_id}", path_params=ContactPath, access=ADMINS,
               tags=("authorised contacts",), problems=(404, 422))
async def delete_contact(request: web.Request, principal: Principal) -> None:
    """Withdraw an authorised contact

    Ends a contact's authorisation at once; the withdrawal is kept in the history. Master
    administrators of the company linked as contract holder only. 404
    `authorised-contact-not-found`."""
    await contacts.withdraw_contact(WithdrawContact(
        company_id=company(principal), user_id=principal.subject,
        customer_number=customer_number(request), contact_id=_contact_id(request)),
        unit(request))


@routes.get("/v1/support/authorisations", query=AuthorisationQuery,
            response=AuthorisationAnswer, access=SUPPORT, tags=("support",))
async def may_act(request: web.Request, query: AuthorisationQuery,
                  principal: Principal) -> AuthorisationAnswer:
    """Ask whether a person may act for a customer (support)

    May this person (by email address) do this for this customer number on this day? Yes
    or no, with a reason code and the reason in words: master administrators of the
    contract holder's company may do everything, authorised contacts what they were named
    for within their period. Support clients (`contracts:support`) only."""
    return await views.may_act(unit(request).store, number=query.customer_number,
                               email=query.email, action=query.action, on=query.on)


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
    return await views.contact_history(
        unit(request).store, number=customer_number(request), company_id=None,
        limit=query.limit, cursor=query.cursor)
