"""notifications' HTTP API: the delivery log (support clients and company administrators)
and a user's own notification preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.notifications import handlers
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


class DeliverySearch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient: str | None = Field(None, min_length=3, max_length=254,
                                  description="exact email address or phone number")
    company_id: str | None = Field(None, min_length=1, max_length=100)
    kind: KindName | None = None
    channel: ChannelName | None = None
    status: StatusName | None = None
    since: datetime | None = Field(None, description="created at or after (ISO 8601)")
    until: datetime | None = Field(None, description="created before (ISO 8601)")
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the last page")
    limit: int = Field(50, ge=1, le=200)


class Attempt(BaseModel):
    at: datetime
    # unconfirmed: the worker stopped before the provider's answer was recorded (the message
    # may have gone out; the next attempt carries the same Message-ID / idempotency key)
    outcome: Literal["sent", "error", "unconfirmed"]
    provider: str
    error: str | None = None


class Delivery(BaseModel):
    id: str
    event_id: str
    event_type: str
    kind: str
    channel: str
    recipient: str = Field(description="masked")
    language: str
    company_id: str | None
    status: str
    failure: str | None = None
    attempts: list[Attempt]
    provider: str | None = None
    provider_message_id: str | None = None
    created_at: datetime
    sent_at: datetime | None = None
    resend_of: str | None = None
    resendable: bool


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_cursor: str | None


class ResendAccepted(BaseModel):
    id: str
    resend_of: str
    status: str


class Preferences(BaseModel):
    """Whether the user receives non-essential messages per channel; security messages
    (codes, links, password and email changes) are always sent."""

    model_config = ConfigDict(extra="forbid")

    email: bool = True
    sms: bool = True


@routes.get("/v1/deliveries", query=DeliverySearch, response=DeliveryPage, access=READ_LOG,
            tags=("delivery log",), problems=(403,))
async def search_deliveries(request: web.Request, query: DeliverySearch,
                            principal: Principal) -> DeliveryPage:
    """Search the delivery log, newest first (company administrators: their company only)."""
    page = await handlers.search(request.app[NOTIFICATIONS], principal,
                                 **query.model_dump(exclude={"limit"}), limit=query.limit)
    return DeliveryPage.model_validate(page)


@routes.get("/v1/deliveries/{delivery_id}", response=Delivery, access=READ_LOG,
            tags=("delivery log",), problems=(404,))
async def get_delivery(request: web.Request, principal: Principal) -> Delivery:
    """One message of the delivery log with its attempts."""
    return Delivery.model_validate(await handlers.delivery(
        request.app[NOTIFICATIONS], principal, request.match_info["delivery_id"]))


@routes.post("/v1/deliveries/{delivery_id}/resend", response=ResendAccepted, status=202,
             access=RESEND, tags=("delivery log",), problems=(404, 409))
async def resend_delivery(request: web.Request, principal: Principal) -> ResendAccepted:
    """Send a message again; refused (409) for a message that carried a code or link."""
    return ResendAccepted.model_validate(await handlers.request_resend(
        request.app[NOTIFICATIONS], principal, request.match_info["delivery_id"]))


@routes.get("/v1/me/notification-preferences", response=Preferences, access=OWN_PREFERENCES,
            tags=("preferences",))
async def get_preferences(request: web.Request, principal: Principal) -> Preferences:
    """The calling user's notification preferences (a mobile-number login with
    `own_number:notifications`: those of the account behind the number)."""
    return Preferences(**await handlers.preferences(request.app[NOTIFICATIONS], principal))


@routes.put("/v1/me/notification-preferences", body=Preferences, response=Preferences,
            access=OWN_PREFERENCES, tags=("preferences",))
async def put_preferences(request: web.Request, body: Preferences,
                          principal: Principal) -> Preferences:
    """Opt in or out of non-essential messages per channel."""
    return Preferences(**await handlers.set_preferences(
        request.app[NOTIFICATIONS], principal, email=body.email, sms=body.sms))
