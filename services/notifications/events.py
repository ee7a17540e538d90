"""Events notifications publishes."""

from typing import Any, Literal

from services.notifications.domain.delivery import DeliveryEvent, Undeliverable
from shared.events import EventData, EventSpec, make_event

SOURCE = "/services/notifications"


class DeliveryFailed(EventData):
    delivery_id: str
    event_id: str
    kind: str
    channel: Literal["email", "sms"]
    recipient: str  # masked
    company_id: str | None = None
    reason: str
    attempts: int
    # "permanent" (the provider refused the message) or "exhausted" (every attempt failed).
    failure: Literal["permanent", "exhausted"] = "exhausted"


class ResendRequested(EventData):
    """Support or a company administrator asked for a message to be sent again."""

    delivery_id: str
    resend_id: str
    company_id: str | None = None
    requested_by: str


DELIVERY_FAILED = EventSpec(
    "notifications.delivery.failed.v1", DeliveryFailed, "notifications",
    "A message could not be delivered after its last attempt (NOT-3).",
    example={"delivery_id": "d-1", "event_id": "e-1", "kind": "invitation", "channel": "email",
             "recipient": "b***@example.com", "company_id": "c-1",
             "reason": "SMTP 550", "attempts": 5, "failure": "permanent"})
RESEND_REQUESTED = EventSpec(
    "notifications.resend.requested.v1", ResendRequested, "notifications",
    "A message without a code or link is to be sent again from the delivery log (NOT-3).",
    example={"delivery_id": "d-1", "resend_id": "d-1-r1", "company_id": "c-1",
             "requested_by": "support-desk"})

PUBLISHED = [DELIVERY_FAILED, RESEND_REQUESTED]


def envelope(event: DeliveryEvent) -> dict[str, Any]:
    """The envelope a delivery's domain event is published as."""
    if isinstance(event, Undeliverable):
        failed = DeliveryFailed(
            delivery_id=event.delivery_id, event_id=event.event_id, kind=event.kind,
            channel=event.channel, recipient=event.recipient,
            company_id=event.company_id or None, reason=event.reason, attempts=event.attempts,
            failure=event.failure)
        return make_event(DELIVERY_FAILED, failed, source=SOURCE, subject=event.delivery_id,
                          company_id=event.company_id or None)
    asked = ResendRequested(delivery_id=event.delivery_id, resend_id=event.resend_id,
                            company_id=event.company_id or None,
                            requested_by=event.requested_by)
    return make_event(RESEND_REQUESTED, asked, source=SOURCE, subject=event.delivery_id,
                      company_id=event.company_id or None)
