"""Authorised contacts (CON-7, seed 004 "neue Ansprechpartner hinterlegen"): the contract
holder's company names, edits and withdraws who may give which instructions for a customer,
every change is kept in a history support can read, and support asks "may this person do
this for this customer?".

A change and its history entry are two documents (the emulator has no transactions), so the
contact document carries its newest entry (``last_change``) in the same write as the change,
and the history collection receives it right after; the next change of the contact, and every
read of the history, take ``last_change`` into account, so a process that stops between the
two writes loses no entry. A withdrawal writes its entry first and then deletes the contact:
an entry "removed" whose contact still exists (stopped in between) is not shown.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from services.contracts.domain import contacts as contact_rules
from services.contracts.domain import errors
from services.contracts.store import ContractsStore
from shared.auth import COMPANY_ADMIN
from shared.errors import InvalidInput
from shared.mongo import is_duplicate
from shared.pagination import decode_cursor, encode_cursor

Doc = dict[str, Any]
# What a contact is made of: the fields an edit may change, in the order shown.
FIELDS = ("kind", "name", "email", "phone", "organisation", "actions", "valid_from",
          "valid_until")


def _now() -> datetime:
    return datetime.now(UTC)


async def held_number(store: ContractsStore, company_id: str, number: str) -> Doc:
    doc = await store.numbers.get({"_id": number, "linked_companies": company_id})
    if doc is None or doc["holder_company_id"] != company_id:
        raise errors.LinkNotFound(
            f"Your company is not linked to customer number {number} as contract holder; "
            "only the contract holder names authorised contacts.")
    return doc


def contact_view(doc: Doc) -> Doc:
    return {"contact_id": doc["_id"], "customer_number": doc["customer_number"],
            **{k: doc.get(k) for k in FIELDS}}


def _entry(doc: Doc, action: str, *, by: str, now: datetime, revision: int,
           previous: Doc | None = None) -> Doc:
    return {"entry_id": f"{doc['_id']}:{revision}", "contact_id": doc["_id"],
            "company_id": doc["company_id"], "customer_number": doc["customer_number"],
            "action": action, "at": now, "by": by, "contact": contact_view(doc),
            "previous": previous,
            # Digits first: the emulator compares date-looking strings wrongly.
            "sort_key": f"{now.strftime('%Y%m%d%H%M%S%f')}|{revision:06d}|{doc['_id']}"}


async def _keep(store: ContractsStore, entry: Doc | None) -> None:
    """Put an entry into the history collection (once, however often it is kept)."""
    if not entry:
        return
    try:
        await store.contact_history.insert_one({**entry, "_id": entry["entry_id"]})
    except Exception as e:
        if not is_duplicate(e):
            raise


def _exists(email: str, number: str) -> errors.ContactExists:
    return errors.ContactExists(
        f"{email} is already an authorised contact of customer number {number}; edit that "
        "entry instead.")


async def add_contact(store: ContractsStore, *, company_id: str, user_id: str, number: str,
                      contact: Doc) -> Doc:
    await held_number(store, company_id, number)
    now = _now()
    doc = {"_id": str(uuid.uuid4()), "company_id": company_id, "customer_number": number,
           **{k: contact.get(k) for k in FIELDS}, "email": contact["email"].lower(),
           "created_at": now, "created_by": user_id, "revision": 1}
    doc["last_change"] = _entry(doc, "added", by=user_id, now=now, revision=1)
    try:
        await store.contacts.create(doc)
    except Exception as e:
        if is_duplicate(e):
            raise _exists(contact["email"], number) from None
        raise
    await _keep(store, doc["last_change"])
    return contact_view(doc)


async def update_contact(store: ContractsStore, *, company_id: str, user_id: str, number: str,
                         contact_id: str, changes: Doc) -> Doc:
    """Change some of a contact's fields (name, email, phone, actions, period, ...); the
    history keeps what each changed field was before."""
    await held_number(store, company_id, number)
    if "email" in changes:
        changes = {**changes, "email": changes["email"].lower()}

    async def mutate(doc: Doc) -> list[dict]:
        await _keep(store, doc.get("last_change"))  # the previous entry, if it was not yet
        previous = {k: doc.get(k) for k, v in changes.items() if doc.get(k) != v}
        merged = {**doc, **changes}
        if merged.get("valid_until") and merged["valid_until"] < merged["valid_from"]:
            raise InvalidInput([{"field": "valid_until", "rule": "period",
                                 "message": "valid_until must not be before valid_from."}])
        if not previous:
            return []  # nothing changes: no new entry
        doc.update(changes)
        now = _now()
        doc["revision"] = doc.get("revision", 1) + 1
        doc["updated_at"], doc["updated_by"] = now, user_id
        doc["last_change"] = _entry(doc, "changed", by=user_id, now=now,
                                    revision=doc["revision"], previous=previous)
        return []

    try:
        saved = await store.contacts.change(
            {"_id": contact_id, "company_id": company_id, "customer_number": number}, mutate)
    except Exception as e:
        if is_duplicate(e):
            raise _exists(changes["email"], number) from None
        raise
    if saved is None:
        raise _not_found(number, contact_id)
    await _keep(store, saved.get("last_change"))
    return contact_view(saved)


def _not_found(number: str, contact_id: str) -> errors.ContactNotFound:
    return errors.ContactNotFound(
        f"Customer number {number} of your company has no authorised contact {contact_id}.")


async def list_contacts(store: ContractsStore, *, company_id: str, number: str) -> list[Doc]:
    await held_number(store, company_id, number)
    docs = await store.contacts.collection.find(
        {"company_id": company_id, "customer_number": number}).sort("email", 1).to_list(None)
    return [contact_view(d) for d in docs]


async def delete_contact(store: ContractsStore, *, company_id: str, user_id: str, number: str,
                         contact_id: str) -> None:
    doc = await store.contacts.get(
        {"_id": contact_id, "company_id": company_id, "customer_number": number})
    if doc is None:
        raise _not_found(number, contact_id)
    await _keep(store, doc.get("last_change"))
    revision = doc.get("revision", 1) + 1
    await _keep(store, _entry(doc, "removed", by=user_id, now=_now(), revision=revision))
    result = await store.contacts.collection.delete_one(
        {"_id": contact_id, "company_id": company_id, "customer_number": number})
    if result.deleted_count != 1:
        raise _not_found(number, contact_id)


# -- the history (support, and the holder's administrators) --------------------------------------



async def contact_history(store: ContractsStore, *, number: str, company_id: str | None,
                          limit: int, cursor: str | None) -> tuple[list[Doc], str | None]:
    """Every change of the number's authorised contacts, newest first; ``company_id`` None
    (support): of every company that named contacts for the number."""
    scope: Doc = {"customer_number": number}
    if company_id is not None:
        await held_number(store, company_id, number)
        scope["company_id"] = company_id
    below = decode_cursor(cursor) if cursor else None
    query = {**scope, **({"sort_key": {"$lt": below}} if below else {})}
    stored = await store.contact_history.find(query).sort("sort_key", -1).limit(
        limit + 1).to_list()
    live = await store.contacts.collection.find(scope).to_list(None)
    live_ids = {d["_id"] for d in live}
    entries = {e["entry_id"]: e for e in stored}
    for d in live:  # entries whose second write has not happened (yet)
        e = d.get("last_change")
        if e and (below is None or e["sort_key"] < below):
            entries.setdefault(e["entry_id"], e)
    shown = sorted((e for e in entries.values()
                    if not (e["action"] == "removed" and e["contact_id"] in live_ids)),
                   key=lambda e: e["sort_key"], reverse=True)
    page = shown[:limit]
    more = len(shown) > limit
    return page, encode_cursor(page[-1]["sort_key"]) if more and page else None


# -- support's question --------------------------------------------------------------------------

async def may_act(store: ContractsStore, *, number: str, email: str, action: str,
                  on: date | None = None) -> Doc:
    """Support's question: may this person do this for this customer? Yes or no, and why."""
    on = on or _now().date()
    email = email.strip().lower()
    doc = await store.numbers.get({"_id": number})
    holder = doc["holder_company_id"] if doc else ""
    is_admin, contact = False, None
    if holder:
        users = await store.users.collection.find(
            {"email": email, "company_id": holder}).to_list(20)
        is_admin = any(u.get("active") and COMPANY_ADMIN in u.get("roles", []) for u in users)
        contact = await store.contacts.get(
            {"company_id": holder, "customer_number": number, "email": email})
    a = contact_rules.answer(customer_number=number, known=doc is not None,
                             holder_company_id=holder, action=action, on=on,
                             is_master_admin=is_admin, contact=contact)
    return {"customer_number": number, "email": email, "action": action, "on": on,
            "allowed": a.allowed, "reason_code": a.reason_code, "reason": a.reason,
            "contact": contact_view(contact) if contact and a.reason_code != "master-administrator"
            else None}
