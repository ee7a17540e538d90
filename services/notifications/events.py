"""Events notifications publishes (delivery failures: the notifications issue adds them)."""

from shared.events import EventSpec

SOURCE = "/services/notifications"
PUBLISHED: list[EventSpec] = []
