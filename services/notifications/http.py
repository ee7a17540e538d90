"""notifications' HTTP API: the delivery log (support clients and company administrators)
and a user's own notification preferences."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.notifications import handlers, views
from services.notifications.domain.commands import RequestResend, SetPreferences
from services.notifications.domain.kinds import ChannelName, KindName, StatusName
from services.notifications.handlers import Notifications
from services.notifications.views import (
    COMPANY_ID_EXAMPLE,
    CURSOR_EXAMPLE,
    DELIVERY_ID_EXAMPLE,
    Delivery,
    DeliveryPage,
    Preferences,
)
from shared.app_keys import unit
from shared.auth import COMPANY_ADMIN, PHONE_NOTIFICATIONS, Access, Principal
from shared.http import Routes

routes = Routes()

READ_LOG = Access.of(roles=(COMPANY_ADMIN,), scopes=("notifications:read",))
RESEND = Access.of(roles=(COMPANY_ADMIN,), scopes=("notifications:resend",))
# A user's own preferences; a mobile-number login reaches those of the account behind the
# number when its company allows it (ID-6).
OWN_PREFERENCES = Access.of(phone_permission=PHONE_NOTIFICATIONS)


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


class DeliveryPath(BaseModel):
    """The delivery a path names."""

    delivery_id: str = Field(min_length=1, description="The delivery's id, from the log",
                             examples=[DELIVERY_ID_EXAMPLE])


class ResendAccepted(BaseModel):
    """The resend was queued as a new delivery."""

    id: str = Field(description="The new delivery's id",
                    examples=[f"{DELIVERY_ID_EXAMPLE}-r1"])
    resend_of: str = Field(description="The delivery it repeats", examples=[DELIVERY_ID_EXAMPLE])
    status: str = Field(description="queued", examples=["queued"])


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
    return await views.search(unit(request.app, Notifications), principal,
                              **query.model_dump(exclude={"limit"}), limit=query.limit)


@routes.get("/v1/deliveries/{delivery_id}", response=Delivery, path_params=DeliveryPath,
            access=READ_LOG, tags=("delivery log",), problems=(404,))
async def get_delivery(request: web.Request, principal: Principal) -> Delivery:
    """Read one message of the delivery log

    One message with every attempt, its provider and outcome. Support clients
    (`notifications:read`) and the administrators of the company it concerns; 404
    `delivery-not-found` for others, whether it exists or not."""
    return await views.delivery(unit(request.app, Notifications), principal,
                                request.match_info["delivery_id"])


@routes.post("/v1/deliveries/{delivery_id}/resend", response=ResendAccepted, status=202,
             path_params=DeliveryPath, access=RESEND, tags=("delivery log",), problems=(404, 409))
async def resend_delivery(request: web.Request, principal: Principal) -> ResendAccepted:
    """Send a message again

    Queues a sent or failed message again as a new delivery with the same content (202);
    the new delivery shows in the log with `resend_of`. Support clients
    (`notifications:resend`) and company administrators for their company. 409
    `message-carried-a-secret` for a message with a code or link (ask for a new one
    instead), `recipient-opted-out`, or `delivery-in-progress` while it is still queued."""
    delivery_id = request.match_info["delivery_id"]
    resend_id = await handlers.request_resend(RequestResend(
        delivery_id, requested_by=principal.subject, company_id=principal.company_id,
        every_company=principal.is_client), unit(request.app, Notifications))
    return ResendAccepted(id=resend_id, resend_of=delivery_id, status="queued")


@routes.get("/v1/me/notification-preferences", response=Preferences, access=OWN_PREFERENCES,
            tags=("preferences",))
async def get_preferences(request: web.Request, principal: Principal) -> Preferences:
    """Read your notification preferences

    Whether you receive non-essential messages by email and by text message (both on until
    changed). Any signed-in user; a mobile-number login whose company allows it
    (`own_number:notifications`) reads those of the account behind the number."""
    return await views.preferences(unit(request.app, Notifications), principal)


@routes.put("/v1/me/notification-preferences", body=Preferences, response=Preferences,
            access=OWN_PREFERENCES, tags=("preferences",))
async def put_preferences(request: web.Request, body: Preferences,
                          principal: Principal) -> Preferences:
    """Set your notification preferences

    Opts in or out of non-essential messages per channel; security messages (codes, links,
    password, email and phone changes) are always sent. Any signed-in user; a mobile-number
    login whose company allows it (`own_number:notifications`) sets those of the account
    behind the number."""
    await handlers.set_preferences(SetPreferences(
        principal.subject, principal.company_id or "", email=body.email, sms=body.sms),
        unit(request.app, Notifications))
    return Preferences(email=body.email, sms=body.sms)
