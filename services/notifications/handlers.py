"""notifications' use cases, each ``(command, Notifications)``: deliver a message once, resend
one, keep the projections that address messages, preferences. How one delivery is sent once
is told in ``sending``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from services.notifications.domain.commands import (
    Deliver,
    RememberCompany,
    RememberUser,
    RequestResend,
    Resend,
    SetPreferences,
)
from services.notifications.domain.delivery import (
    Attempt,
    Claim,
    Delivery,
    DeliveryEvent,
    delivery_id_for,
    sort_key,
)
from services.notifications.domain.errors import DeliveryNotFound
from services.notifications.domain.kinds import KINDS, Kind
from services.notifications.domain.recipients import (
    InvalidRecipient,
    mask,
    normalize,
    normalize_email,
    recipient_key,
)
from services.notifications.messages import LANGUAGES, choose_language
from services.notifications.sending import send_claimed
from services.notifications.settings import NotificationsSettings
from services.notifications.store import NotificationsStore
from services.notifications.transports import Channel
from shared.errors import PermanentEventError
from shared.logging import get_logger

log = get_logger("notifications")

# Paths of the links that carry a one-time token.
TOKEN_PATHS = {
    "registration_verification": "/registration/verify",
    "invitation": "/invitations/accept",
    "password_reset": "/password/reset",
    # Seed 004: the same page sets the password, and opens the holder's account.
    "customer_number_access": "/password/reset",
    "email_change_verification": "/email/verify",
}


@dataclass
class Notifications:
    """What the use cases work with: the store, the two channels and the settings."""

    store: NotificationsStore
    email: Channel
    sms: Channel
    settings: NotificationsSettings

    def link(self, path: str, **query: str) -> str:
        url = self.settings.portal_base_url.rstrip("/") + path
        return url + ("?" + urlencode(query) if query else "")

    def token_link(self, kind: str, token: str) -> str:
        return self.link(TOKEN_PATHS[kind], token=token)

    def channel(self, name: str) -> Channel:
        return self.sms if name == "sms" else self.email

    @property
    def max_attempts(self) -> int:
        # The bus retries a failed handler once per back-off step, then parks the event.
        return len(self.settings.retry_delays) + 1

    async def close(self) -> None:
        await self.email.close()
        await self.sms.close()


# -- sending ---------------------------------------------------------------------------------

async def deliver(cmd: Deliver, uow: Notifications) -> None:
    """Send the message of ``cmd`` for one event, once (see ``sending``)."""
    out = cmd.message
    kind = KINDS[out.kind]
    try:
        address = normalize(kind.channel, out.address, uow.settings.sms_default_region)
    except InvalidRecipient as e:
        await _record_unsendable(uow, cmd, kind, str(e))
        return
    key = recipient_key(address)
    delivery_id = delivery_id_for(cmd.event_id, kind.channel, key)
    claim = Claim(uuid.uuid4().hex)
    delivery = await create_delivery(uow, cmd, kind, delivery_id, address, key, claim=claim)
    if delivery.status == "queued":
        # Created by this copy: held since the insert. Found (a copy of the event came
        # before): claimed like any other copy's.
        held = (delivery, claim) if delivery.held_by(claim) else None
        await send_claimed(uow, delivery_id, address, out.values, out.secrets, held=held)


async def create_delivery(uow: Notifications, cmd: Deliver, kind: Kind, delivery_id: str,
                          address: str, key: str, *, claim: Claim | None = None) -> Delivery:
    """The delivery as stored: created now (queued; claimed by ``claim`` when given) or as a
    copy of the event created it before."""
    out = cmd.message
    user = None
    company_language = None
    known_language = out.language in LANGUAGES
    # The projections are read only when needed: for the language, or for the preferences.
    if not known_language or not kind.essential:
        user = await uow.store.user(out.user_id, key if kind.channel == "email" else None)
    company_id = out.company_id or (user.company_id if user else "") or ""
    if not known_language and company_id and not (user and user.language):
        company_language = await uow.store.company_language(company_id)
    language = choose_language(out.language, user.language if user else None,
                               company_language)
    status = "queued"
    if not kind.essential and user is not None and await uow.store.opted_out(user.id,
                                                                             kind.channel):
        status = "suppressed"
    now = datetime.now(UTC)
    delivery = Delivery.model_validate({
        "_id": delivery_id, "event_id": cmd.event_id, "event_type": cmd.event_type,
        "kind": kind.name, "channel": kind.channel, "recipient": mask(kind.channel, address),
        "recipient_key": key, "language": language, "company_id": company_id,
        "user_id": (user.id if user else "") or out.user_id or "",
        "essential": kind.essential, "secret": kind.secret,
        # A message with a secret keeps neither its address nor its values: it is never resent.
        "address": "" if kind.secret else address,
        "values": {} if kind.secret else out.values,
        "status": status, "failure": "", "attempts": [], "provider": "",
        "provider_message_id": "", "created_at": now, "updated_at": now, "sent_at": None,
        "created_ts": now.timestamp(), "sort_key": sort_key(now, delivery_id),
        "claim_until": 0.0, "claim_id": "", "claimed_at": None, "resend_of": "",
        "resends": 0,
    })
    if claim is not None and status == "queued":
        delivery.hold(claim, now.timestamp() + uow.settings.claim_seconds, now)
    stored, created = await uow.store.add(delivery)
    if created and status == "suppressed":
        log.info("message suppressed: recipient opted out", kind=kind.name,
                 delivery_id=delivery_id)
    return stored


async def _record_unsendable(uow: Notifications, cmd: Deliver, kind: Kind,
                             reason: str) -> None:
    """An address no provider can take (an impossible phone number): failed at once."""
    out = cmd.message
    key = recipient_key(out.address)
    delivery_id = delivery_id_for(cmd.event_id, kind.channel, key)
    now = datetime.now(UTC)
    delivery = Delivery.model_validate({
        "_id": delivery_id, "event_id": cmd.event_id, "event_type": cmd.event_type,
        "kind": kind.name, "channel": kind.channel, "recipient": "•••", "recipient_key": key,
        "language": choose_language(out.language), "company_id": out.company_id or "",
        "user_id": out.user_id or "", "essential": kind.essential, "secret": kind.secret,
        "address": "", "values": {}, "status": "failed", "failure": "permanent",
        "attempts": [Attempt(at=now, outcome="error", provider="", error=reason)],
        "provider": "", "provider_message_id": "", "created_at": now, "updated_at": now,
        "sent_at": None, "created_ts": now.timestamp(), "sort_key": sort_key(now, delivery_id),
        "claim_until": 0.0, "resend_of": "", "resends": 0,
    })
    await uow.store.add_once(delivery, [delivery.undeliverable(reason, "permanent")])


async def resend(cmd: Resend, uow: Notifications) -> None:
    """Send a resend asked for with ``request_resend``: the stored values, rendered again."""
    original = await uow.store.get(cmd.delivery_id)
    if original is None or original.secret:
        raise PermanentEventError("the original delivery is gone or carried a secret")
    delivery = await uow.store.get(cmd.resend_id)
    if delivery is None:
        delivery, _ = await uow.store.add(
            original.resent(cmd.resend_id, cmd.event_id, datetime.now(UTC)))
    if delivery.status == "queued":
        await send_claimed(uow, cmd.resend_id, original.address, original.values, {})


async def request_resend(cmd: RequestResend, uow: Notifications) -> str:
    """Queue the same message again (NOT-3) as a new delivery; returns its id. Refused for a
    message that carried a secret, one the recipient opted out of, or one still queued."""
    visible = await uow.store.get(cmd.delivery_id)
    if visible is None or (not cmd.every_company and visible.company_id != cmd.company_id):
        raise DeliveryNotFound()
    asked: list[str] = []

    def apply(delivery: Delivery) -> list[DeliveryEvent]:
        event = delivery.request_resend(cmd.requested_by)
        asked.append(event.resend_id)
        return [event]
    await uow.store.change(cmd.delivery_id, apply)
    return asked[-1]


# -- projections and preferences --------------------------------------------------------------

async def remember_user(cmd: RememberUser, uow: Notifications) -> None:
    await uow.store.remember_user(cmd.user_id, cmd.company_id,
                                  recipient_key(normalize_email(cmd.email)), cmd.language)


async def remember_company(cmd: RememberCompany, uow: Notifications) -> None:
    await uow.store.remember_company(cmd.company_id, cmd.language)


async def set_preferences(cmd: SetPreferences, uow: Notifications) -> None:
    await uow.store.set_preferences(cmd.user_id, cmd.company_id, email=cmd.email, sms=cmd.sms)
