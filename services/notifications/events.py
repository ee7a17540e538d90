"""Events notifications publishes."""

from typing import Literal

from shared.events import EventData, EventSpec

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


DELIVERY_FAILED = EventSpec(
    "notifications.delivery.failed.v1", DeliveryFailed, "notifications",
    "A message could not be delivered after its last attempt (NOT-3).",
    example={"delivery_id": "d-1", "event_id": "e-1", "kind": "invitation", "channel": "email",
             "recipient": "b***@example.com", "company_id": "c-1",
             "reason": "SMTP 550", "attempts": 5})

PUBLISHED = [DELIVERY_FAILED]
