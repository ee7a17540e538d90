"""The base of identity's aggregates: a stored document read into a typed model, with the
events its changes cause recorded until the write that saves them. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from shared.events import EventData, EventSpec


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event an aggregate caused, published with the write that saves it."""

    spec: EventSpec
    data: EventData
    # The envelope's subject when it is not the aggregate itself.
    subject: str | None = None


class Aggregate(BaseModel):
    """A stored document read into a typed model: fields it does not declare (the outbox's
    bookkeeping, fields of older or newer versions) are kept as they are, and saving writes
    back only what was read or set, so the stored shape never changes by being loaded."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(alias="_id")
    _recorded: list[Recorded] = PrivateAttr(default_factory=list)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Self:
        return cls.model_validate(doc)

    def to_document(self) -> dict[str, Any]:
        """The document to store: the fields read or set, never a default nobody stored
        (value objects inside declare no defaults for what is always stored)."""
        return self.model_dump(by_alias=True, exclude_unset=True)

    def forget(self, name: str) -> None:
        """Remove a field from the stored document: the next save writes it without it."""
        setattr(self, name, type(self).model_fields[name].get_default(
            call_default_factory=True))
        self.model_fields_set.discard(name)

    def record(self, spec: EventSpec, data: EventData, *, subject: str | None = None) -> None:
        self._recorded.append(Recorded(spec, data, subject))

    def take_events(self) -> list[Recorded]:
        """The events recorded since the last call (the write that saves them takes them)."""
        taken, self._recorded = self._recorded, []
        return taken
