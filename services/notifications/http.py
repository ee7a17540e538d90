"""notifications' HTTP API: the delivery log (support clients and company administrators)
and a user's own notification preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.notifications import delivery_log, handlers
from services.notifications.domain.kinds import CHANNELS, KINDS, STATUSES
from services.notifications.handlers import Notifications
from shared.auth import COMPANY_ADMIN, PHONE_NOTIFICATIONS, Access, Principal
from shared.http import Routes

routes = Routes()
NOTIFICATIONS = web.AppKey("notifications", Notifications)

READ_LOG = Access.of(roles=(COMPANY_ADMIN,), scopes=("notifications:read",))
RESEND = Access.of(roles=(COMPANY_ADMIN,), scopes=("notifications:resend",))
# A user's own preferences; a mobile-number login reaches those of the account behind the
# number when its company allows it (ID-6).
OWN_PREFERENCES = Access.of(phone_permission=PHONE_NOTIFICATIONS)

KindName = Literal[tuple(KINDS)]  # type: ignore[valid-type]
ChannelName = Literal[CHANNELS]  # type: ignore[valid-type]
StatusName = Literal[STATUSES]  # type: ignore[valid-type]


DELIVERY_ID_EXAMPLE = "d-fa6683c3a4c4d790fefa8eb1"
COMPANY_ID_EXAMPLE = "0f3a6c2e-1d4b-4e8a-9b7c-2a5d8e1f3c40"
# A real next_cursor: the last message's creation time and id.
CURSOR_EXAMPLE = f"1772443800.000000|{DELIVERY_ID_EXAMPLE}"


class DeliverySearch(BaseModel):
    """Filters of the delivery log search; all optional and combined."""

    model_config = ConfigDict(extra="forbid")

    recipient: str | None = Field(None, min_length=3, max_length=254,
                                  description="exact email address or phone number",
                                  examples=["invoices@muster.example"])
    company_id: str | None = Field(None, min_length=1, max_length=100,
                                   description="Only this company's messages (support "
                                               "clients; an administrator only their own)",
                                   examples=[COMPANY_ID_EXAMPLE])
    kind: KindName | None = Field(None, description="Only this kind of message",
                                  examples=["payment_method_activated"])
    channel: ChannelName | None = Field(None, description="Only this channel",
                                        examples=["email"])
    status: StatusName | None = Field(None, description="Only messages in this state",
                                      examples=["failed"])
    since: datetime | None = Field(None, description="created at or after (ISO 8601)",
                                   examples=["2026-03-01T00:00:00Z"])
    until: datetime | None = Field(None, description="created before (ISO 8601)",
                                   examples=["2026-04-01T00:00:00Z"])
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the last page",
                               examples=[CURSOR_EXAMPLE])
    limit: int = Field(50, ge=1, le=200, description="Messages per page", examples=[50])


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


class DeliveryPath(BaseModel):
    """The delivery a path names."""

    delivery_id: str = Field(min_length=1, description="The delivery's id, from the log",
                             examples=[DELIVERY_ID_EXAMPLE])


class DeliveryPage(BaseModel):
    """A page of the delivery log, newest first."""

    items: list[Delivery] = Field(description="The messages of this page, newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on "
                                                "the last", examples=[CURSOR_EXAMPLE])


class ResendAccepted(BaseModel):
    """The resend was queued as a new delivery."""

    id: str = Field(description="The new delivery's id",
                    examples=[f"{DELIVERY_ID_EXAMPLE}-r1"])
    resend_of: str = Field(description="The delivery it repeats", examples=[DELIVERY_ID_EXAMPLE])
    status: str = Field(description="queued", examples=["queued"])


class Preferences(BaseModel):
    """Whether the user receives non-essential messages per channel; security messages
    (codes, links, password and email changes) are always sent."""

    model_config = ConfigDict(extra="forbid")

    email: bool = Field(True, description="Non-essential emails (payment method and invoice "
                                          "notices, permission transfers)", examples=[True])
    sms: bool = Field(True, description="Non-essential text messages", examples=[False])


@routes.get("/v1/deliveries", query=DeliverySearch, response=DeliveryPage, access=READ_LOG,
            tags=("delivery log",), problems=(403,))
async def search_deliveries(request: web.Request, query: DeliverySearch,
                            principal: Principal) -> DeliveryPage:
    """Search the delivery log

    The messages the platform sent, newest first, filtered by recipient (exact address or
    number), company, kind, channel, status and creation time; pass `next_cursor` as
    `cursor` for the next page. Support clients (`notifications:read`) search every company;
    company administrators their own company's messages only (403 `other-company` for
    another `company_id`). Recipients are masked; contents, codes and links are never
    shown."""
    page = await delivery_log.search(request.app[NOTIFICATIONS], principal,
                                 **query.model_dump(exclude={"limit"}), limit=query.limit)
    return DeliveryPage.model_validate(page)


@routes.get("/v1/deliveries/{delivery_id}", response=Delivery, path_params=DeliveryPath,
            access=READ_LOG, tags=("delivery log",), problems=(404,))
async def get_delivery(request: web.Request, principal: Principal) -> Delivery:
    """Read one message of the delivery log

    One message with every attempt, its provider and outcome. Support clients
    (`notifications:read`) and the administrators of the company it concerns; 404
    `delivery-not-found` for others, whether it exists or not."""
    return Delivery.model_validate(await delivery_log.delivery(
        request.app[NOTIFICATIONS], principal, request.match_info["delivery_id"]))


@routes.post("/v1/deliveries/{delivery_id}/resend", response=ResendAccepted, status=202,
             path_params=DeliveryPath, access=RESEND, tags=("delivery log",), problems=(404, 409))
async def resend_delivery(request: web.Request, principal: Principal) -> ResendAccepted:
    """Send a message again

    Queues a sent or failed message again as a new delivery with the same content (202);
    the new delivery shows in the log with `resend_of`. Support clients
    (`notifications:resend`) and company administrators for their company. 409
    `message-carried-a-secret` for a message with a code or link (ask for a new one
    instead), `recipient-opted-out`, or `delivery-in-progress` while it is still queued."""
    return ResendAccepted.model_validate(await delivery_log.request_resend(
        request.app[NOTIFICATIONS], principal, request.match_info["delivery_id"]))


@routes.get("/v1/me/notification-preferences", response=Preferences, access=OWN_PREFERENCES,
            tags=("preferences",))
async def get_preferences(request: web.Request, principal: Principal) -> Preferences:
    """Read your notification preferences

    Whether you receive non-essential messages by email and by text message (both on until
    changed). Any signed-in user; a mobile-number login whose company allows it
    (`own_number:notifications`) reads those of the account behind the number."""
    return Preferences(**await handlers.preferences(request.app[NOTIFICATIONS], principal))


@routes.put("/v1/me/notification-preferences", body=Preferences, response=Preferences,
            access=OWN_PREFERENCES, tags=("preferences",))
async def put_preferences(request: web.Request, body: Preferences,
                          principal: Principal) -> Preferences:
    """Set your notification preferences

    Opts in or out of non-essential messages per channel; security messages (codes, links,
    password, email and phone changes) are always sent. Any signed-in user; a mobile-number
    login whose company allows it (`own_number:notifications`) sets those of the account
    behind the number."""
    return Preferences(**await handlers.set_preferences(
        request.app[NOTIFICATIONS], principal, email=body.email, sms=body.sms))
