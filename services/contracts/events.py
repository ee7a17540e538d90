"""Events contracts publishes (links, one-time passwords: the contracts issue adds them)."""

from shared.events import EventSpec

SOURCE = "/services/contracts"
PUBLISHED: list[EventSpec] = []
