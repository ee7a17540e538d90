"""Authorised contacts (CON-7, seed 004 "neue Ansprechpartner hinterlegen"): the contract
holder's company names, edits and withdraws who may give which instructions for a customer;
every change is kept in a history support can read (its read side: views.py).

A change and its history entry are two documents (the emulator has no transactions), so the
contact document carries its newest entry (``last_change``) in the same write as the change,
and the history collection receives it right after; the next change of the contact, and every
read of the history, take ``last_change`` into account, so a process that stops between the
two writes loses no entry. A withdrawal writes its entry first and then deletes the contact:
an entry "removed" whose contact still exists (stopped in between) is not shown.
"""

from __future__ import annotations

import uuid

from pymongo.errors import DuplicateKeyError

from services.contracts.domain.commands import AddContact, ChangeContact, WithdrawContact
from services.contracts.domain.contacts import (
    AuthorisedContact,
    check_names_contacts,
    exists,
    not_found,
)
from services.contracts.handlers import Contracts


async def _check_holder(uow: Contracts, company_id: str, number: str) -> None:
    check_names_contacts(
        await uow.store.numbers.get({"_id": number, "linked_companies": company_id}),
        customer_number=number, company_id=company_id)


async def add_contact(cmd: AddContact, uow: Contracts) -> AuthorisedContact:
    await _check_holder(uow, cmd.company_id, cmd.customer_number)
    contact = AuthorisedContact.add(
        contact_id=str(uuid.uuid4()), company_id=cmd.company_id,
        customer_number=cmd.customer_number, fields=cmd.fields, by=cmd.user_id, now=uow.now())
    try:
        saved = await uow.store.contacts.create(contact)
    except DuplicateKeyError:
        raise exists(str(cmd.fields.get("email")), cmd.customer_number) from None
    await uow.store.keep_change(saved.last_change)
    return saved


async def change_contact(cmd: ChangeContact, uow: Contracts) -> AuthorisedContact:
    """Change some of a contact's fields (name, email, phone, actions, period, ...); the
    history keeps what each changed field was before."""
    await _check_holder(uow, cmd.company_id, cmd.customer_number)

    async def change(contact: AuthorisedContact) -> None:
        await uow.store.keep_change(contact.last_change)  # the previous one, if not yet kept
        contact.change(cmd.changes, by=cmd.user_id, now=uow.now())

    try:
        saved = await uow.store.contacts.change(
            {"_id": cmd.contact_id, "company_id": cmd.company_id,
             "customer_number": cmd.customer_number}, change)
    except DuplicateKeyError:
        raise exists(str(cmd.changes.get("email")).lower(), cmd.customer_number) from None
    if saved is None:
        raise not_found(cmd.customer_number, cmd.contact_id)
    await uow.store.keep_change(saved.last_change)
    return saved


async def withdraw_contact(cmd: WithdrawContact, uow: Contracts) -> None:
    contact = await uow.store.contacts.get(
        {"_id": cmd.contact_id, "company_id": cmd.company_id,
         "customer_number": cmd.customer_number})
    if contact is None:
        raise not_found(cmd.customer_number, cmd.contact_id)
    await uow.store.keep_change(contact.last_change)
    await uow.store.keep_change(contact.withdrawal(by=cmd.user_id, now=uow.now()))
    if not await uow.store.delete_contact(contact):
        raise not_found(cmd.customer_number, cmd.contact_id)
