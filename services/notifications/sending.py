"""Sending one delivery, once: claim it, render, hand it to the channel, record the outcome.

Exactly one message per (event, channel, recipient):

1. the delivery document's ``_id`` is derived from the three, so a redelivered or concurrent
   copy of the event finds the delivery that exists (insert → duplicate key);
2. a copy sends only after claiming the delivery with a lease (``claim_until``, epoch
   seconds): the copy that creates the delivery holds the claim from that insert (one write
   where a separate claim would be a second one), any other copy takes it in one atomic
   write on ``status: queued`` (``NotificationsStore.claim``): of two replicas holding the
   same event, one sends, the other waits for the outcome (or for the lease to run out, when
   the sender died) and does nothing once the delivery is sent;
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
import time
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from services.notifications.delivery_errors import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from services.notifications.domain.delivery import (
    UNCONFIRMED,
    Claim,
    Delivery,
    DeliveryEvent,
    Outcome,
)
from services.notifications.domain.formatting import (
    format_date,
    format_datetime,
    format_duration,
    format_money,
)
from services.notifications.domain.kinds import KINDS
from services.notifications.domain.labels import label
from services.notifications.mail import Email, build_email
from services.notifications.messages import render
from services.notifications.transports import SmsMessage
from shared.errors import PermanentEventError
from shared.logging import get_logger
from shared.mongo import ConcurrencyConflict

if TYPE_CHECKING:
    from services.notifications.handlers import Notifications

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
# How often a copy of an event that finds the delivery claimed looks again.
CLAIM_POLL_SECONDS = 0.2


def render_values(uow: Notifications, language: str, values: dict[str, Any],
                  secrets: dict[str, str]) -> dict[str, Any]:
    """What a template sees: the stored values formatted for ``language``, the portal's
    pages, and the secrets."""
    out: dict[str, Any] = {name: uow.link(path) for name, path in PORTAL_PAGES.items()}
    zone = uow.settings.time_zone
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


async def send_claimed(uow: Notifications, delivery_id: str, address: str,
                       values: dict[str, Any], secrets: dict[str, str], *,
                       held: tuple[Delivery, Claim] | None = None) -> None:
    """Send the delivery once this worker holds its claim (``held``: since its creation)."""
    deadline = time.monotonic() + uow.settings.claim_seconds + 5
    claimed = held
    while claimed is None and (claimed := await uow.store.claim(delivery_id)) is None:
        current = await uow.store.get(delivery_id)
        if current is None or current.status != "queued":
            return  # sent, failed or suppressed by the copy that held it: nothing to do
        if time.monotonic() > deadline:
            raise TransientDeliveryError("the delivery is still claimed by another worker")
        await asyncio.sleep(CLAIM_POLL_SECONDS)
    delivery, claim = claimed
    kind = KINDS[delivery.kind]
    try:
        rendered = render(kind.name, delivery.language,
                          render_values(uow, delivery.language, values, secrets))
    except Exception as e:  # a template that does not render will not render next time
        await _release(uow, delivery_id, claim, "error", "the template does not render")
        raise PermanentEventError(f"{kind.name}/{delivery.language} does not render: "
                                  f"{type(e).__name__}") from None
    message: SmsMessage | Email
    if kind.channel == "sms":
        message = SmsMessage(to=address, text=rendered.text, reference=delivery_id)
    else:
        message = build_email(uow.settings.mail_from, address, rendered, delivery_id)
    try:
        provider, provider_id = await uow.channel(kind.channel).send(message)
    except PermanentDeliveryError as e:
        await _record_failure(uow, delivery_id, claim, e, final="permanent")
        return  # recorded and announced; another attempt would fail the same way
    except TransientDeliveryError as e:
        tries = len(delivery.attempts) + 1 + (claim.previous_id is not None)
        if tries >= uow.max_attempts:
            await _record_failure(uow, delivery_id, claim, e, final="exhausted")
            raise PermanentEventError(
                f"{kind.name} {kind.channel} failed after {uow.max_attempts} attempts: "
                f"{e.reason}") from None
        await _record_failure(uow, delivery_id, claim, e, final=None)
        raise
    except BaseException:
        # Stopped mid-send (the grace period ran out): the provider may have the message.
        # Say so, and let the requeued event send again at once rather than after the lease.
        await _release(uow, delivery_id, claim, "unconfirmed", UNCONFIRMED)
        raise
    try:
        await _record_sent(uow, delivery, claim, provider, provider_id)
    except asyncio.CancelledError:
        # The provider has the message: keep that even while stopping, or it is sent again.
        await _record_sent(uow, delivery, claim, provider, provider_id)
        raise
    log.info("message sent", kind=kind.name, channel=kind.channel, delivery_id=delivery_id,
             provider=provider, recipient=delivery.recipient)


async def _release(uow: Notifications, delivery_id: str, claim: Claim, outcome: Outcome,
                   error: str) -> None:
    """Give the delivery up (still queued) with this attempt settled as ``outcome``."""
    def apply(delivery: Delivery) -> list[DeliveryEvent]:
        delivery.release(claim, outcome, error, datetime.now(UTC))
        return []
    await uow.store.change(delivery_id, apply)


async def _record_sent(uow: Notifications, claimed: Delivery, claim: Claim, provider: str,
                       provider_id: str) -> None:
    def apply(delivery: Delivery) -> list[DeliveryEvent]:
        delivery.sent(claim, provider, provider_id, datetime.now(UTC))
        return []
    # Nobody writes a claimed delivery but its holder: save the claimed copy in one write,
    # and read it again only if that was not so after all.
    try:
        apply(claimed)
        await uow.store.save(claimed)
    except ConcurrencyConflict:
        await uow.store.change(claimed.id, apply)


async def _record_failure(uow: Notifications, delivery_id: str, claim: Claim,
                          error: DeliveryError,
                          final: Literal["permanent", "exhausted"] | None) -> None:
    """One failed attempt; with ``final`` the delivery is failed and the failure announced."""
    def apply(delivery: Delivery) -> list[DeliveryEvent]:
        return delivery.attempt_failed(claim, error.provider, error.reason, datetime.now(UTC),
                                       final)
    saved = await uow.store.change(delivery_id, apply)
    if saved is not None:
        log.warning("delivery attempt failed", kind=saved.kind, channel=saved.channel,
                    delivery_id=delivery_id, error=error.reason,
                    attempt=len(saved.attempts), final=final or "")
