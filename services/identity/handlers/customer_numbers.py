"""Customer numbers as login ids of their contract holder's account (seed 004, ID-14): "Als
Benutzername verwenden Sie bitte Ihre Kunden-Nummer."

identity keeps a projection of each number, fed by events and never by contracts' database:

- the CRM's ``crm.customer_number.issued.v1`` / ``.changed.v1``: holder name, reference
  email address, language, segment (the newest CRM event wins per field);
- contracts' ``contracts.customer_number.linked.v1`` / ``.unlinked.v1``: which company holds
  the number as contract holder and which user's account made the link (newest event wins);
- a company administrator's designation of another user of the holder company;
- the account identity opened for a holder who set a password through the reference address
  (``claim_*``), until contracts' own holder link arrives.

Document::

    _id = customer_number, holder_name, contact_email, language, segment, crm_as_of,
    holder_company_id ("" when none), holder_linked_by, holder_as_of,
    login_user_id (designated; "" when none), claim_company_id, claim_user_id
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.identity.handlers import Identity
from shared.errors import InvalidInput, NotFound
from shared.mongo import ConcurrencyConflict, is_duplicate

CRM_FIELDS = ("holder_name", "contact_email", "language", "segment", "kind")


def _blank(number: str) -> dict[str, Any]:
    return {"_id": number, "holder_name": "", "contact_email": "", "language": "de",
            "segment": "", "kind": "", "crm_as_of": 0.0, "holder_company_id": "",
            "holder_linked_by": "", "holder_as_of": 0.0, "login_user_id": "",
            "claim_company_id": "", "claim_user_id": ""}


async def _upsert(ctx: Identity, number: str, mutate: Callable[[dict[str, Any]], None], *,
                  event_id: str | None = None) -> dict[str, Any]:
    """Change the number's projection, creating it first when it is missing; an event
    delivered twice has one effect (``event_id`` recorded in the write that applies it)."""
    def apply(doc: dict[str, Any]) -> list[dict]:
        mutate(doc)
        return []

    for _ in range(5):
        saved = await ctx.store.customer_numbers.change({"_id": number}, apply,
                                                        applied_event=event_id)
        if saved is not None:
            return saved
        doc = _blank(number)
        mutate(doc)
        try:
            return await ctx.store.customer_numbers.create(doc, applied_event=event_id)
        except Exception as e:
            if not is_duplicate(e):
                raise
    raise ConcurrencyConflict()


# -- the projection ------------------------------------------------------------------------
async def crm_reference(ctx: Identity, data: dict[str, Any], *, event_id: str,
                        as_of: float) -> None:
    """The CRM issued a number, or changed its holder name or reference address."""
    def apply(doc: dict[str, Any]) -> None:
        if as_of < doc["crm_as_of"]:
            return  # an older CRM event arriving late (a retry) does not undo a newer one
        for key in CRM_FIELDS:
            if data.get(key):
                doc[key] = str(data[key]).lower() if key == "contact_email" else data[key]
        doc["crm_as_of"] = as_of

    await _upsert(ctx, data["customer_number"], apply, event_id=event_id)


async def holder_linked(ctx: Identity, *, number: str, company_id: str, link_type: str,
                        linked_by: str | None, event_id: str, as_of: float) -> None:
    """contracts linked the number (or re-announced a link after a contract changed)."""
    def apply(doc: dict[str, Any]) -> None:
        if as_of < doc["holder_as_of"]:
            return
        if link_type == "holder":
            if doc["holder_company_id"] != company_id:
                doc["login_user_id"] = ""  # a designation belongs to the company that made it
            doc["holder_company_id"] = company_id
            if linked_by:
                doc["holder_linked_by"] = linked_by
            doc["holder_as_of"] = as_of
        elif doc["holder_company_id"] == company_id:
            _drop_holder(doc, as_of)

    await _upsert(ctx, number, apply, event_id=event_id)


async def holder_unlinked(ctx: Identity, *, number: str, company_id: str, event_id: str,
                          as_of: float) -> None:
    def apply(doc: dict[str, Any]) -> None:
        if as_of >= doc["holder_as_of"] and doc["holder_company_id"] == company_id:
            _drop_holder(doc, as_of)
        if doc["claim_company_id"] == company_id:
            # The company identity opened for the holder let go of the number.
            doc["claim_company_id"] = doc["claim_user_id"] = ""

    await _upsert(ctx, number, apply, event_id=event_id)


def _drop_holder(doc: dict[str, Any], as_of: float) -> None:
    doc.update(holder_company_id="", holder_linked_by="", login_user_id="",
               holder_as_of=as_of)


async def record_claim(ctx: Identity, *, number: str, company_id: str, user_id: str) -> None:
    """identity opened an account for the number's holder; it logs in with the number from
    now on, and contracts' holder link follows (through ``identity.customer_number.claimed``)."""
    def apply(doc: dict[str, Any]) -> None:
        doc["claim_company_id"], doc["claim_user_id"] = company_id, user_id

    await _upsert(ctx, number, apply)


# -- logging in with the number --------------------------------------------------------------
async def login_user_id(ctx: Identity, number: str) -> str | None:
    """The account a customer number logs in: the holder company's designated user, else the
    user who linked the number as holder; with no holder yet, the account identity opened
    for the holder. Only active users of the holder company count."""
    doc = await ctx.store.customer_numbers.get({"_id": number})
    if doc is None:
        return None
    company = doc["holder_company_id"] or doc["claim_company_id"]
    if not company:
        return None
    if doc["holder_company_id"]:
        candidates = [doc["login_user_id"], doc["holder_linked_by"]]
    else:
        candidates = [doc["claim_user_id"]]
    for user_id in filter(None, candidates):
        user = await ctx.store.users.get({"_id": user_id, "company_id": company})
        if user is not None and user["status"] == "active":
            return user_id
    return None


async def has_holder_account(ctx: Identity, number: str) -> bool:
    """Whether some company holds (or is about to hold) the number: then no new account is
    opened for it, whatever the state of that company's users."""
    doc = await ctx.store.customer_numbers.get({"_id": number})
    return bool(doc and (doc["holder_company_id"] or doc["claim_company_id"]))


# -- the company administrator's designation ---------------------------------------------------
def _view(doc: dict[str, Any], login: str | None) -> dict[str, Any]:
    return {"customer_number": doc["_id"], "holder_name": doc["holder_name"],
            "login_user_id": login, "designated": bool(doc["login_user_id"])}


async def held_numbers(ctx: Identity, company_id: str) -> list[dict[str, Any]]:
    """The company's numbers held as contract holder, each with the account that logs in
    with it (None when no active one does)."""
    docs = await ctx.store.customer_numbers.collection.find(
        {"holder_company_id": {"$eq": company_id}}).sort("_id", 1).to_list(1000)
    return [_view(d, await login_user_id(ctx, d["_id"])) for d in docs]


async def designate_login_user(ctx: Identity, *, company_id: str, number: str,
                               user_id: str) -> dict[str, Any]:
    """A company administrator names the user of the company who logs in with the number."""
    doc = await ctx.store.customer_numbers.get(
        {"_id": number, "holder_company_id": company_id})
    if doc is None:
        raise NotFound(
            f"Your company does not hold customer number {number} as contract holder (a link "
            "made a moment ago may take a few seconds to show here).",
            slug="customer-number-not-held")
    user = await ctx.store.users.get({"_id": user_id, "company_id": company_id})
    if user is None or user["status"] != "active":
        raise InvalidInput([{"field": "user_id", "rule": "active_user_of_company",
                             "message": "name an active user of your company"}])

    def apply(d: dict[str, Any]) -> list[dict]:
        if d["holder_company_id"] != company_id:
            raise NotFound(f"Your company no longer holds customer number {number}.",
                           slug="customer-number-not-held")
        d["login_user_id"] = user_id
        return []

    saved = await ctx.store.customer_numbers.change({"_id": number}, apply)
    return _view(saved, user_id)
