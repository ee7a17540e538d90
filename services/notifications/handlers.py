"""notifications' use cases: render, send once, keep the delivery log, preferences, resend.

Exactly one message per (event, channel, recipient):

1. the delivery document's ``_id`` is derived from the three, so a redelivered or concurrent
   copy of the event finds the delivery that exists (insert → duplicate key);
2. a copy sends only after claiming the delivery with a lease (``claim_until``, epoch
   seconds): the copy that creates the delivery holds the claim from that insert (one write
   where a separate claim would be a second one), any other copy takes it in one atomic
   ``find_one_and_update`` on ``status: queued``: of two replicas holding the same event,
   one sends, the other waits for the outcome (or for the lease to run out, when the sender
   died) and does nothing once the delivery is sent;
3. the outcome is recorded right after the provider's answer, with the attempt, and the claim
   (``claim_id``) is settled in that write. A worker killed between the two (kill -9, OOM)
   leaves the delivery queued with an unsettled claim: after the lease (``claim_seconds``)
   the redelivered event sends again, with the same Message-ID (email) or idempotency key
   (SMS), and the log shows the killed worker's attempt as ``unconfirmed`` before the second,
   so support sees that the recipient may have two copies. The bound: the sends in flight at
   the moment of the kill, each repeated once. A worker stopped with SIGTERM finishes its
   sends first (``shared.service``: the grace period), so none is repeated.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from pymongo import ReturnDocument

from services.notifications.domain.formatting import (
    format_date,
    format_datetime,
    format_duration,
    format_money,
)
from services.notifications.domain.kinds import KINDS, Kind
from services.notifications.domain.labels import label
from services.notifications.domain.recipients import (
    InvalidRecipient,
    mask,
    normalize,
    normalize_email,
    recipient_key,
)
from services.notifications.events import DELIVERY_FAILED, SOURCE, DeliveryFailed
from services.notifications.messages import LANGUAGES, choose_language, render
from services.notifications.settings import NotificationsSettings
from services.notifications.store import NotificationsStore
from services.notifications.transports import (
    Channel,
    DeliveryError,
    PermanentDeliveryError,
    SmsMessage,
    TransientDeliveryError,
    build_email,
)
from shared.auth import Principal
from shared.errors import PermanentEventError
from shared.events import make_event
from shared.logging import get_logger
from shared.mongo import ConcurrencyConflict, is_duplicate

log = get_logger("notifications")

# Pages of the portal the messages link to (besides the links that carry a token).
PORTAL_PAGES = {
    "portal_link": "/",
    "login_link": "/login",
    "activation_link": "/activation",
    "password_forgotten_link": "/password/forgotten",
    "preferences_link": "/settings/notifications",
    "security_link": "/settings/security",
    "contracts_link": "/contracts",
    "customer_number_link": "/contracts/link",
    "payment_link": "/billing/payment-methods",
    "invoices_link": "/billing/invoices",
}
# Paths of the links that carry a one-time token.
TOKEN_PATHS = {
    "registration_verification": "/registration/verify",
    "invitation": "/invitations/accept",
    "password_reset": "/password/reset",
    # Seed 004: the same page sets the password, and opens the holder's account.
    "customer_number_access": "/password/reset",
    "email_change_verification": "/email/verify",
}
# How often a copy of an event that finds the delivery claimed looks again.
CLAIM_POLL_SECONDS = 0.2
# What the log says of an attempt whose worker stopped before the provider's answer was kept.
UNCONFIRMED = ("the worker stopped before the provider's answer was recorded; the recipient "
               "may have received this copy")


@dataclass
class Outgoing:
    """One message an event asks for, before language, preferences and rendering."""

    kind: str
    address: str
    language: str | None = None
    # Kept in the delivery log and used again on a resend (only when the kind has no secret).
    values: dict[str, Any] = field(default_factory=dict)
    # Codes, passwords, token links: rendered into the message, never stored or logged.
    secrets: dict[str, str] = field(default_factory=dict)
    company_id: str | None = None
    user_id: str | None = None


@dataclass
class Notifications:
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


def delivery_id_for(event_id: str, channel: str, key: str) -> str:
    return "d-" + hashlib.sha256(f"{event_id}|{channel}|{key}".encode()).hexdigest()[:24]


def render_values(ctx: Notifications, language: str, values: dict[str, Any],
                  secrets: dict[str, str]) -> dict[str, Any]:
    """What a template sees: the stored values formatted for ``language``, the portal's
    pages, and the secrets."""
    out: dict[str, Any] = {name: ctx.link(path) for name, path in PORTAL_PAGES.items()}
    zone = ctx.settings.time_zone
    for key, value in values.items():
        if isinstance(value, datetime):
            out[key] = format_datetime(value, language, zone)
            out[f"{key}_time"] = value.astimezone(ZoneInfo(zone)).strftime("%H:%M")
        elif key.endswith("_date") and isinstance(value, str):
            out[key] = format_date(date.fromisoformat(value), language)
        elif key == "valid_seconds":
            # The configured validity of a code, as the message states it (ID-2).
            out["validity"] = format_duration(value, language) if value else ""
        else:
            out[key] = value
    for key, group in (("role", "role"), ("method_kind", "method"), ("number_kind", "number")):
        if key in values:
            out[f"{key}_label"] = label(language, group, values[key])
    if "rights" in values:
        out["rights_labels"] = [label(language, "right", r) for r in values["rights"]]
    if "amount_minor" in values and "currency" in values:
        out["amount"] = format_money(values["amount_minor"], values["currency"], language)
    out.update(secrets)
    return out


# -- sending ---------------------------------------------------------------------------------

async def deliver(ctx: Notifications, *, event_id: str, event_type: str, out: Outgoing) -> None:
    """Send the message ``out`` for one event, once (see the module docstring)."""
    kind = KINDS[out.kind]
    region = ctx.settings.sms_default_region
    try:
        address = normalize(kind.channel, out.address, region)
    except InvalidRecipient as e:
        await _record_unsendable(ctx, event_id, event_type, kind, out, str(e))
        return
    key = recipient_key(address)
    delivery_id = delivery_id_for(event_id, kind.channel, key)
    claim = Claim(uuid.uuid4().hex)
    doc = await _create(ctx, delivery_id, event_id, event_type, kind, out, address, key,
                        claim=claim)
    if doc["status"] == "queued":
        # Created by this copy: held since the insert. Found (a copy of the event came
        # before): claimed like any other copy's.
        held = (doc, claim) if doc.get("claim_id") == claim.id else None
        await _send_claimed(ctx, delivery_id, address, out.values, out.secrets, held=held)


async def _create(ctx: Notifications, delivery_id: str, event_id: str, event_type: str,
                  kind: Kind, out: Outgoing, address: str, key: str,
                  resend_of: str = "", *, claim: Claim | None = None) -> dict[str, Any]:
    """The delivery as stored: created now (queued; claimed by ``claim`` when given) or as a
    copy of the event created it before."""
    user = company = None
    known_language = out.language in LANGUAGES
    # The projections are read only when needed: for the language, or for the preferences.
    if not known_language or not kind.essential:
        user = await _user_of(ctx, out.user_id, address if kind.channel == "email" else None)
    company_id = out.company_id or (user or {}).get("company_id") or ""
    if not known_language and company_id and not (user or {}).get("language"):
        company = await ctx.store.companies.find_one({"_id": company_id})
    language = choose_language(out.language, (user or {}).get("language"),
                               (company or {}).get("language"))
    status = "queued"
    if not kind.essential and user is not None and await _opted_out(ctx, user["_id"],
                                                                    kind.channel):
        status = "suppressed"
    now = datetime.now(UTC)
    doc = {
        "_id": delivery_id, "event_id": event_id, "event_type": event_type,
        "kind": kind.name, "channel": kind.channel, "recipient": mask(kind.channel, address),
        "recipient_key": key, "language": language, "company_id": company_id,
        "user_id": (user or {}).get("_id") or out.user_id or "",
        "essential": kind.essential, "secret": kind.secret,
        # A message with a secret keeps neither its address nor its values: it is never resent.
        "address": "" if kind.secret else address,
        "values": {} if kind.secret else out.values,
        "status": status, "failure": "", "attempts": [], "provider": "",
        "provider_message_id": "", "created_at": now, "updated_at": now, "sent_at": None,
        "created_ts": now.timestamp(), "sort_key": f"{now.timestamp():017.6f}|{delivery_id}",
        "claim_until": 0.0, "claim_id": "", "claimed_at": None, "resend_of": resend_of,
        "resends": 0,
    }
    if claim is not None and status == "queued":
        doc.update(claim_until=time.time() + ctx.settings.claim_seconds, claim_id=claim.id,
                   claimed_at=now)
    try:
        created = await ctx.store.deliveries.create(doc)
    except Exception as e:
        if not is_duplicate(e):
            raise
        return await ctx.store.deliveries.get({"_id": delivery_id})
    if status == "suppressed":
        log.info("message suppressed: recipient opted out", kind=kind.name,
                 delivery_id=delivery_id)
    return created


@dataclass(frozen=True)
class Claim:
    """This worker's hold on a delivery for one send, and the hold it took over: a holder
    that never settled its attempt (killed mid-send) left ``previous_id`` behind."""

    id: str
    previous_id: str | None = None
    previous_at: datetime | None = None


async def _claim(ctx: Notifications, delivery_id: str) -> tuple[dict[str, Any], Claim] | None:
    """Take the delivery for one send (scalar ``$set`` only: the emulator's ``$push`` of a
    document is not to be relied on); returns it as it is now, with the claim."""
    now, claim_id = time.time(), uuid.uuid4().hex
    fields = {"claim_until": now + ctx.settings.claim_seconds, "claim_id": claim_id,
              "claimed_at": datetime.now(UTC)}
    before = await ctx.store.deliveries.collection.find_one_and_update(
        {"_id": delivery_id, "status": "queued", "claim_until": {"$lt": now}},
        {"$set": fields, "$inc": {"version": 1}}, return_document=ReturnDocument.BEFORE)
    if before is None:
        return None
    previous = before.get("claim_id") or None
    claim = Claim(claim_id, previous, before.get("claimed_at") if previous else None)
    return {**before, **fields, "version": before["version"] + 1}, claim


async def _send_claimed(ctx: Notifications, delivery_id: str, address: str,
                        values: dict[str, Any], secrets: dict[str, str], *,
                        held: tuple[dict[str, Any], Claim] | None = None) -> None:
    """Send the delivery once this worker holds its claim (``held``: since its creation)."""
    deadline = time.monotonic() + ctx.settings.claim_seconds + 5
    claimed = held
    while claimed is None and (claimed := await _claim(ctx, delivery_id)) is None:
        current = await ctx.store.deliveries.get({"_id": delivery_id})
        if current is None or current["status"] != "queued":
            return  # sent, failed or suppressed by the copy that held it: nothing to do
        if time.monotonic() > deadline:
            raise TransientDeliveryError("the delivery is still claimed by another worker")
        await asyncio.sleep(CLAIM_POLL_SECONDS)
    doc, claim = claimed
    kind = KINDS[doc["kind"]]
    try:
        rendered = render(kind.name, doc["language"],
                          render_values(ctx, doc["language"], values, secrets))
    except Exception as e:  # a template that does not render will not render next time
        await _release(ctx, delivery_id, claim, "error", "the template does not render")
        raise PermanentEventError(f"{kind.name}/{doc['language']} does not render: "
                                  f"{type(e).__name__}") from None
    if kind.channel == "sms":
        message: Any = SmsMessage(to=address, text=rendered.text, reference=delivery_id)
    else:
        message = build_email(ctx.settings.mail_from, address, rendered, delivery_id)
    try:
        provider, provider_id = await ctx.channel(kind.channel).send(message)
    except PermanentDeliveryError as e:
        await _record_failure(ctx, delivery_id, claim, e, final="permanent")
        return  # recorded and announced; another attempt would fail the same way
    except TransientDeliveryError as e:
        tries = len(doc["attempts"]) + 1 + (claim.previous_id is not None)
        if tries >= ctx.max_attempts:
            await _record_failure(ctx, delivery_id, claim, e, final="exhausted")
            raise PermanentEventError(
                f"{kind.name} {kind.channel} failed after {ctx.max_attempts} attempts: "
                f"{e.reason}") from None
        await _record_failure(ctx, delivery_id, claim, e, final=None)
        raise
    except BaseException:
        # Stopped mid-send (the grace period ran out): the provider may have the message.
        # Say so, and let the requeued event send again at once rather than after the lease.
        await _release(ctx, delivery_id, claim, "unconfirmed", UNCONFIRMED)
        raise
    try:
        await _record_sent(ctx, doc, claim, provider, provider_id)
    except asyncio.CancelledError:
        # The provider has the message: keep that even while stopping, or it is sent again.
        await _record_sent(ctx, doc, claim, provider, provider_id)
        raise
    log.info("message sent", kind=kind.name, channel=kind.channel, delivery_id=delivery_id,
             provider=provider, recipient=doc["recipient"])


async def _release(ctx: Notifications, delivery_id: str, claim: Claim, outcome: str,
                   error: str) -> None:
    """Give the delivery up (still queued) with this attempt settled as ``outcome``."""
    def apply(doc: dict) -> list:
        if doc["status"] == "queued":
            _settle(doc, claim, outcome, "", error)
            doc["claim_until"] = 0.0
        return []
    await ctx.store.deliveries.change({"_id": delivery_id}, apply)


def _attempt(outcome: str, provider: str, error: str = "", claim: str = "",
             at: datetime | None = None) -> dict[str, Any]:
    return {"at": at or datetime.now(UTC), "outcome": outcome, "provider": provider,
            "error": error, "claim": claim}


def _settle(doc: dict[str, Any], claim: Claim, outcome: str, provider: str,
            error: str = "") -> None:
    """Record this claim's attempt, after the one a killed holder left (``unconfirmed``:
    its message may have gone out), each once; the claim is settled."""
    recorded = {a.get("claim") for a in doc["attempts"]}
    attempts = list(doc["attempts"])
    if claim.previous_id and claim.previous_id not in recorded:
        attempts.append(_attempt("unconfirmed", "", UNCONFIRMED, claim.previous_id,
                                 claim.previous_at))
    if claim.id not in recorded:
        attempts.append(_attempt(outcome, provider, error, claim.id))
    doc["attempts"] = attempts
    if doc.get("claim_id") == claim.id:
        doc["claim_id"] = ""


async def _record_sent(ctx: Notifications, claimed: dict[str, Any], claim: Claim,
                       provider: str, provider_id: str) -> None:
    def apply(doc: dict) -> list:
        if doc["status"] == "sent":
            # Recorded already: this write repeated while stopping, or a copy that held the
            # delivery after this one's lease ran out sent too. Either way this send happened.
            _settle(doc, claim, "sent", provider)
            return []
        now = datetime.now(UTC)
        doc.update(status="sent", claim_until=0.0, provider=provider,
                   provider_message_id=provider_id, sent_at=now, updated_at=now)
        _settle(doc, claim, "sent", provider)
        return []
    # Nobody writes a claimed delivery but its holder: save the claimed copy in one write,
    # and read it again only if that was not so after all.
    try:
        apply(claimed)
        await ctx.store.deliveries.update(claimed)
    except ConcurrencyConflict:
        await ctx.store.deliveries.change({"_id": claimed["_id"]}, apply)


async def _record_failure(ctx: Notifications, delivery_id: str, claim: Claim,
                          error: DeliveryError, final: str | None) -> None:
    """One failed attempt; with ``final`` the delivery is failed and the failure announced."""
    def apply(doc: dict) -> list:
        _settle(doc, claim, "error", error.provider, error.reason)
        doc.update(claim_until=0.0, updated_at=datetime.now(UTC))
        if final is None:
            return []
        doc.update(status="failed", failure=final)
        return [_failed_event(doc, error.reason, final)]
    saved = await ctx.store.deliveries.change({"_id": delivery_id}, apply)
    log.warning("delivery attempt failed", kind=saved["kind"], channel=saved["channel"],
                delivery_id=delivery_id, error=error.reason, attempt=len(saved["attempts"]),
                final=final or "")


def _failed_event(doc: dict[str, Any], reason: str, failure: str) -> dict[str, Any]:
    data = DeliveryFailed(delivery_id=doc["_id"], event_id=doc["event_id"], kind=doc["kind"],
                          channel=doc["channel"], recipient=doc["recipient"],
                          company_id=doc["company_id"] or None, reason=reason,
                          attempts=len(doc["attempts"]), failure=failure)
    return make_event(DELIVERY_FAILED, data, source=SOURCE, subject=doc["_id"],
                      company_id=doc["company_id"] or None)


async def _record_unsendable(ctx: Notifications, event_id: str, event_type: str, kind: Kind,
                             out: Outgoing, reason: str) -> None:
    """An address no provider can take (an impossible phone number): failed at once."""
    key = recipient_key(out.address)
    delivery_id = delivery_id_for(event_id, kind.channel, key)
    now = datetime.now(UTC)
    doc = {
        "_id": delivery_id, "event_id": event_id, "event_type": event_type, "kind": kind.name,
        "channel": kind.channel, "recipient": "•••", "recipient_key": key,
        "language": choose_language(out.language), "company_id": out.company_id or "",
        "user_id": out.user_id or "", "essential": kind.essential, "secret": kind.secret,
        "address": "", "values": {}, "status": "failed", "failure": "permanent",
        "attempts": [_attempt("error", "", reason)], "provider": "", "provider_message_id": "",
        "created_at": now, "updated_at": now, "sent_at": None, "created_ts": now.timestamp(),
        "sort_key": f"{now.timestamp():017.6f}|{delivery_id}", "claim_until": 0.0,
        "resend_of": "", "resends": 0,
    }
    await ctx.store.deliveries.create_once(doc, [_failed_event(doc, reason, "permanent")])


# -- projections and preferences --------------------------------------------------------------

async def remember_user(ctx: Notifications, *, user_id: str, company_id: str, email: str,
                        language: str | None) -> None:
    fields = {"company_id": company_id, "email_key": recipient_key(normalize_email(email))}
    if language:
        fields["language"] = language
    await ctx.store.users.update_one({"_id": user_id}, {"$set": fields}, upsert=True)


async def remember_company(ctx: Notifications, *, company_id: str, language: str) -> None:
    await ctx.store.companies.update_one({"_id": company_id}, {"$set": {"language": language}},
                                         upsert=True)


async def _user_of(ctx: Notifications, user_id: str | None,
                   email: str | None) -> dict[str, Any] | None:
    if user_id:
        user = await ctx.store.users.find_one({"_id": user_id})
        if user is not None:
            return user
    if email:
        return await ctx.store.users.find_one({"email_key": recipient_key(email)})
    return None


async def _opted_out(ctx: Notifications, user_id: str, channel: str) -> bool:
    prefs = await ctx.store.preferences.find_one({"_id": user_id})
    return prefs is not None and prefs.get(channel) is False


async def preferences(ctx: Notifications, principal: Principal) -> dict[str, Any]:
    prefs = await ctx.store.preferences.find_one({"_id": principal.subject}) or {}
    return {"email": prefs.get("email", True), "sms": prefs.get("sms", True)}


async def set_preferences(ctx: Notifications, principal: Principal, *, email: bool,
                          sms: bool) -> dict[str, Any]:
    await ctx.store.preferences.update_one(
        {"_id": principal.subject},
        {"$set": {"company_id": principal.company_id or "", "email": email, "sms": sms}},
        upsert=True)
    return {"email": email, "sms": sms}


async def resend(ctx: Notifications, *, event_id: str, delivery_id: str,
                 resend_id: str) -> None:
    """Send a resend asked for with ``request_resend``: the stored values, rendered again."""
    original = await ctx.store.deliveries.get({"_id": delivery_id})
    if original is None or original["secret"]:
        raise PermanentEventError("the original delivery is gone or carried a secret")
    doc = await ctx.store.deliveries.get({"_id": resend_id})
    if doc is None:
        now = datetime.now(UTC)
        doc = {**{k: v for k, v in original.items()
                  if k not in ("version", "pending_events", "outbox_seq", "has_pending",
                               "pending_since", "relay_lease", "relay_owner",
                               "applied_events")},
               "_id": resend_id, "event_id": event_id,
               "event_type": "notifications.resend.requested.v1", "status": "queued",
               "failure": "", "attempts": [], "provider": "", "provider_message_id": "",
               "created_at": now, "updated_at": now, "sent_at": None,
               "created_ts": now.timestamp(), "sort_key": f"{now.timestamp():017.6f}|{resend_id}",
               "claim_until": 0.0, "claim_id": "", "claimed_at": None,
               "resend_of": delivery_id, "resends": 0}
        try:
            doc = await ctx.store.deliveries.create(doc)
        except Exception as e:
            if not is_duplicate(e):
                raise
            doc = await ctx.store.deliveries.get({"_id": resend_id})
    if doc["status"] == "queued":
        await _send_claimed(ctx, resend_id, original["address"], original["values"], {})
