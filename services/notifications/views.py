"""The delivery log (NOT-3) as support and company administrators read it, and a user's
preferences: read straight from MongoDB into the response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.notifications.domain.errors import DeliveryNotFound, OtherCompany
from services.notifications.domain.recipients import (
    InvalidRecipient,
    normalize,
    normalize_email,
    recipient_key,
)
from services.notifications.handlers import Notifications
from shared.auth import Principal
from shared.pagination import paginate

DELIVERY_ID_EXAMPLE = "d-fa6683c3a4c4d790fefa8eb1"
COMPANY_ID_EXAMPLE = "0f3a6c2e-1d4b-4e8a-9b7c-2a5d8e1f3c40"
# A real next_cursor (it encodes the last message's creation time and id).
CURSOR_EXAMPLE = "WyIxNzcyNDQzODAwLjAwMDAwMHxkLWZhNjY4M2MzYTRjNGQ3OTBmZWZhOGViMSJd"


class Attempt(BaseModel):
    """One attempt to hand the message to a provider."""

    at: datetime = Field(description="When the attempt was made",
                         examples=["2026-03-02T09:15:02Z"])
    # unconfirmed: the worker stopped before the provider's answer was recorded (the message
    # may have gone out; the next attempt carries the same Message-ID / idempotency key)
    outcome: Literal["sent", "error", "unconfirmed"] = Field(
        description="sent; error; unconfirmed: the worker stopped before the provider's "
                    "answer was recorded (it may have gone out; a retry carries the same "
                    "Message-ID or idempotency key)", examples=["sent"])
    provider: str = Field(description="The provider tried: smtp, smtp-secondary, "
                                      "sms-gateway, sms-gateway-secondary",
                          examples=["smtp"])
    error: str | None = Field(None, description="error: the provider's reason, without "
                                                "recipient or content",
                              examples=[None, "SMTP 451 recipient deferred"])


class Delivery(BaseModel):
    """A message of the delivery log: what was sent to whom (masked), how and when; never
    the content, and never a code or link it carried."""

    id: str = Field(description="The delivery's id", examples=[DELIVERY_ID_EXAMPLE])
    event_id: str = Field(description="The event that caused the message",
                          examples=["7d1c2b3a-4e5f-4a6b-8c9d-0e1f2a3b4c5d"])
    event_type: str = Field(description="That event's type",
                            examples=["billing.payment_method.activated.v1"])
    kind: str = Field(description="The kind of message", examples=["payment_method_activated"])
    channel: str = Field(description="email or sms", examples=["email"])
    recipient: str = Field(description="masked", examples=["i***@muster.example"])
    language: str = Field(description="The language it was written in (de, en, hu)",
                          examples=["de"])
    company_id: str | None = Field(description="The company it concerns; null for none",
                                   examples=[COMPANY_ID_EXAMPLE])
    status: str = Field(description="queued, sent, failed or suppressed (the recipient opted "
                                    "out)", examples=["sent"])
    failure: str | None = Field(None, description="failed: permanent (the provider refused "
                                                  "it) or exhausted (every retry failed)",
                                examples=[None, "exhausted"])
    attempts: list[Attempt] = Field(description="Every attempt, oldest first")
    provider: str | None = Field(None, description="The provider that took the message",
                                 examples=["smtp"])
    provider_message_id: str | None = Field(
        None, description="The provider's id for it (email: the Message-ID)",
        examples=[f"<{DELIVERY_ID_EXAMPLE}@bap.example>"])
    created_at: datetime = Field(description="When the message was queued",
                                 examples=["2026-03-02T09:15:01Z"])
    sent_at: datetime | None = Field(None, description="When the provider took it",
                                     examples=["2026-03-02T09:15:02Z"])
    resend_of: str | None = Field(None, description="A resend: the delivery it repeats",
                                  examples=[None, "d-3b9e1f7c2a4d6e8f0a1b2c3d"])
    resendable: bool = Field(description="Whether it may be sent again: sent or failed, and "
                                         "carrying no code or link", examples=[True])


class DeliveryPage(BaseModel):
    """A page of the delivery log, newest first."""

    items: list[Delivery] = Field(description="The messages of this page, newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on "
                                                "the last", examples=[CURSOR_EXAMPLE])


class Preferences(BaseModel):
    """Whether the user receives non-essential messages per channel; security messages
    (codes, links, password and email changes) are always sent."""

    model_config = ConfigDict(extra="forbid")

    email: bool = Field(True, description="Non-essential emails (payment method and invoice "
                                          "notices, permission transfers)", examples=[True])
    sms: bool = Field(True, description="Non-essential text messages", examples=[False])



def _visible_company(principal: Principal, company_id: str | None) -> str | None:
    """Support clients see every company; a company administrator only their own."""
    if principal.is_client:
        return company_id
    if company_id and company_id != principal.company_id:
        raise OtherCompany()
    return principal.company_id


async def search(uow: Notifications, principal: Principal, *, recipient: str | None,
                 company_id: str | None, kind: str | None, channel: str | None,
                 status: str | None, since: datetime | None, until: datetime | None,
                 cursor: str | None, limit: int) -> DeliveryPage:
    query: dict[str, Any] = {}
    company = _visible_company(principal, company_id)
    if company is not None:
        query["company_id"] = company
    if recipient:
        query["recipient_key"] = _recipient_search_key(uow, recipient)
    for name, value in (("kind", kind), ("channel", channel), ("status", status)):
        if value:
            query[name] = value
    if since or until:
        query["created_ts"] = {**({"$gte": since.timestamp()} if since else {}),
                               **({"$lt": until.timestamp()} if until else {})}
    # sort_key ends with the delivery's id, so it orders alone and the indexes on
    # (filter field, sort_key) serve the search.
    page = await paginate(uow.store.deliveries.collection, query, sort="sort_key",
                          descending=True, tie_break=False, limit=limit, cursor=cursor,
                          convert=_entry)
    return DeliveryPage(items=page.items, next_cursor=page.next_cursor)


def _recipient_search_key(uow: Notifications, recipient: str) -> str:
    text = recipient.strip()
    if "@" in text:
        return recipient_key(normalize_email(text))
    try:
        return recipient_key(normalize("sms", text, uow.settings.sms_default_region))
    except InvalidRecipient:
        return recipient_key(text)


async def delivery(uow: Notifications, principal: Principal, delivery_id: str) -> Delivery:
    doc = await uow.store.deliveries.collection.find_one({"_id": delivery_id})
    if doc is None or (not principal.is_client and doc["company_id"] != principal.company_id):
        raise DeliveryNotFound()
    return _entry(doc)


def _entry(doc: dict[str, Any]) -> Delivery:
    """A delivery as the log API shows it: masked recipient, no address, no values."""
    return Delivery(
        id=doc["_id"], event_id=doc["event_id"], event_type=doc["event_type"],
        kind=doc["kind"], channel=doc["channel"], recipient=doc["recipient"],
        language=doc["language"], company_id=doc["company_id"] or None,
        status=doc["status"], failure=doc["failure"] or None,
        attempts=[Attempt(at=a["at"], outcome=a["outcome"], provider=a["provider"],
                          error=a["error"] or None) for a in doc["attempts"]],
        provider=doc["provider"] or None,
        provider_message_id=doc["provider_message_id"] or None,
        created_at=doc["created_at"], sent_at=doc.get("sent_at"),
        resend_of=doc["resend_of"] or None,
        resendable=not doc["secret"] and doc["status"] in ("sent", "failed"))


async def preferences(uow: Notifications, principal: Principal) -> Preferences:
    prefs = await uow.store.preferences.find_one({"_id": principal.subject}) or {}
    return Preferences(email=prefs.get("email", True), sms=prefs.get("sms", True))
