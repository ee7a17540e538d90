"""The delivery log (NOT-3) as support and company administrators read it: search, one
delivery with its attempts, and asking for a resend (carried out by ``handlers.resend``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import DESCENDING

from services.notifications.domain.recipients import (
    InvalidRecipient,
    normalize,
    normalize_email,
    recipient_key,
)
from services.notifications.events import RESEND_REQUESTED, SOURCE, ResendRequested
from services.notifications.handlers import Notifications
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import make_event

# -- the delivery log -------------------------------------------------------------------------

def _visible_company(principal: Principal, company_id: str | None) -> str | None:
    """Support clients see every company; a company administrator only their own."""
    if principal.is_client:
        return company_id
    if company_id and company_id != principal.company_id:
        raise Forbidden("Company administrators see only their own company's messages.",
                        slug="other-company")
    return principal.company_id


async def search(ctx: Notifications, principal: Principal, *, recipient: str | None,
                 company_id: str | None, kind: str | None, channel: str | None,
                 status: str | None, since: datetime | None, until: datetime | None,
                 cursor: str | None, limit: int) -> dict[str, Any]:
    query: dict[str, Any] = {}
    company = _visible_company(principal, company_id)
    if company is not None:
        query["company_id"] = company
    if recipient:
        query["recipient_key"] = _recipient_search_key(ctx, recipient)
    for name, value in (("kind", kind), ("channel", channel), ("status", status)):
        if value:
            query[name] = value
    if since or until:
        query["created_ts"] = {**({"$gte": since.timestamp()} if since else {}),
                               **({"$lt": until.timestamp()} if until else {})}
    if cursor:
        query["sort_key"] = {"$lt": cursor}
    docs = await ctx.store.deliveries.collection.find(query).sort(
        "sort_key", DESCENDING).limit(limit + 1).to_list()
    more = len(docs) > limit
    docs = docs[:limit]
    return {"items": [view(d) for d in docs],
            "next_cursor": docs[-1]["sort_key"] if more and docs else None}


def _recipient_search_key(ctx: Notifications, recipient: str) -> str:
    text = recipient.strip()
    if "@" in text:
        return recipient_key(normalize_email(text))
    try:
        return recipient_key(normalize("sms", text, ctx.settings.sms_default_region))
    except InvalidRecipient:
        return recipient_key(text)


async def delivery(ctx: Notifications, principal: Principal, delivery_id: str) -> dict:
    doc = await ctx.store.deliveries.get({"_id": delivery_id})
    if doc is None or (not principal.is_client and doc["company_id"] != principal.company_id):
        raise NotFound("No such message in your delivery log.", slug="delivery-not-found")
    return view(doc)


def view(doc: dict[str, Any]) -> dict[str, Any]:
    """A delivery as the log API shows it: masked recipient, no address, no values."""
    return {
        "id": doc["_id"], "event_id": doc["event_id"], "event_type": doc["event_type"],
        "kind": doc["kind"], "channel": doc["channel"], "recipient": doc["recipient"],
        "language": doc["language"], "company_id": doc["company_id"] or None,
        "status": doc["status"], "failure": doc["failure"] or None,
        "attempts": [{"at": a["at"], "outcome": a["outcome"], "provider": a["provider"],
                      "error": a["error"] or None} for a in doc["attempts"]],
        "provider": doc["provider"] or None,
        "provider_message_id": doc["provider_message_id"] or None,
        "created_at": doc["created_at"], "sent_at": doc.get("sent_at"),
        "resend_of": doc["resend_of"] or None,
        "resendable": not doc["secret"] and doc["status"] in ("sent", "failed"),
    }


async def request_resend(ctx: Notifications, principal: Principal, delivery_id: str) -> dict:
    """Queue the same message again (NOT-3); refused for a message that carried a secret."""
    await delivery(ctx, principal, delivery_id)  # 404 unless visible to the caller
    resend: dict[str, str] = {}

    def apply(doc: dict) -> list:
        if doc["secret"]:
            raise Conflict(
                "This message carried a one-time code or link, which is never kept and can "
                "not be sent again. Ask for a new one instead: the user requests a new code, "
                "password reset link or invitation in the portal.",
                slug="message-carried-a-secret", title="A new code must be requested")
        if doc["status"] == "suppressed":
            raise Conflict("The recipient opted out of this kind of message.",
                           slug="recipient-opted-out", title="Recipient opted out")
        if doc["status"] == "queued":
            raise Conflict("The message is still being delivered; wait for its outcome.",
                           slug="delivery-in-progress", title="Delivery in progress")
        doc["resends"] = doc.get("resends", 0) + 1
        resend["id"] = f"{doc['_id']}-r{doc['resends']}"
        data = ResendRequested(delivery_id=doc["_id"], resend_id=resend["id"],
                               company_id=doc["company_id"] or None,
                               requested_by=principal.subject)
        return [make_event(RESEND_REQUESTED, data, source=SOURCE, subject=doc["_id"],
                           company_id=doc["company_id"] or None)]
    await ctx.store.deliveries.change({"_id": delivery_id}, apply)
    return {"id": resend["id"], "resend_of": delivery_id, "status": "queued"}
