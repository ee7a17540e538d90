"""notifications' use cases: render, send once, and keep the delivery log."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.notifications.domain.recipients import mask_email, recipient_key
from services.notifications.messages import render_email
from services.notifications.settings import NotificationsSettings
from services.notifications.store import NotificationsStore
from services.notifications.transports import (EmailTransport, PermanentDeliveryError,
                                               build_email)
from shared.errors import PermanentEventError
from shared.logging import get_logger
from shared.mongo import is_duplicate

log = get_logger("notifications")
# How long one sender holds a delivery before another copy of the event may try it.
CLAIM_SECONDS = 120.0


@dataclass
class Notifications:
    store: NotificationsStore
    email: EmailTransport
    settings: NotificationsSettings

    def link(self, path: str) -> str:
        return self.settings.portal_base_url.rstrip("/") + path


async def send_email(ctx: Notifications, *, event_id: str, kind: str, recipient: str,
                     language: str, values: dict[str, Any], company_id: str | None = None
                     ) -> None:
    """Send one email for one event, once: a delivery already sent is not sent again."""
    delivery_id = f"{event_id}:email:{recipient_key(recipient)}"
    now = datetime.now(UTC)
    try:
        await ctx.store.deliveries.create({
            "_id": delivery_id, "event_id": event_id, "kind": kind, "channel": "email",
            "recipient": mask_email(recipient), "recipient_key": recipient_key(recipient),
            "language": language, "company_id": company_id or "", "status": "queued",
            "attempts": [], "created_at": now, "provider_message_id": "", "claim_until": 0.0,
        })
    except Exception as e:
        if not is_duplicate(e):
            raise
    # One sender per delivery: a redelivered or concurrent copy of the event finds the
    # delivery sent, failed, or claimed by the copy that is sending it, and stops here.
    claimed = await ctx.store.deliveries.collection.find_one_and_update(
        {"_id": delivery_id, "status": "queued", "claim_until": {"$lt": time.time()}},
        {"$set": {"claim_until": time.time() + CLAIM_SECONDS}, "$inc": {"version": 1}})
    if claimed is None:
        return
    message = build_email(ctx.settings.mail_from, recipient,
                          render_email(kind, language, values))
    try:
        provider_id = await ctx.email.send(message)
    except Exception as e:
        permanent = isinstance(e, PermanentDeliveryError)
        await _record(ctx, delivery_id, "failed" if permanent else "queued", str(e))
        if permanent:
            raise PermanentEventError(f"{kind} email could not be delivered: {e}") from None
        raise
    await _record(ctx, delivery_id, "sent", None, provider_id)
    log.info("email sent", kind=kind, language=language, recipient=mask_email(recipient))


async def _record(ctx: Notifications, delivery_id: str, status: str, error: str | None,
                  provider_id: str = "") -> None:
    def apply(doc: dict) -> list:
        doc["status"] = status
        doc["claim_until"] = 0.0
        doc["attempts"] = [*doc["attempts"], {"at": datetime.now(UTC),
                                              "outcome": "sent" if error is None else "error",
                                              "error": error or ""}]
        if provider_id:
            doc["provider_message_id"] = provider_id
            doc["sent_at"] = datetime.now(UTC)
        return []
    await ctx.store.deliveries.change({"_id": delivery_id}, apply)
