"""What every stored value of contracts' domain is: a pydantic model read from and dumped to
its document with the same field names, and an aggregate recording the domain events its
changes cause until the store saves them with it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr


class Record(BaseModel):
    """A typed part of a stored document. Fields the model does not know (the outbox's) stay in
    the document; fields never set are not written, so a document keeps its shape."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_unset=True)


class Aggregate(Record):
    """A record saved whole, with the domain events its last changes caused."""

    _events: list[object] = PrivateAttr(default_factory=list)

    def record(self, event: object) -> None:
        self._events.append(event)

    def collect_events(self) -> list[object]:
        """The events recorded since the last call (the store saves them with the document)."""
        events, self._events = self._events, []
        return events
