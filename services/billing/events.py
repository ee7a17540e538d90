"""Events billing publishes (payment methods, invoices: the billing issue adds them)."""

from shared.events import EventSpec

SOURCE = "/services/billing"
PUBLISHED: list[EventSpec] = []
