"""The base of billing's stored models: each is saved as a document (or a part of one) with
the same field names as it is read, so documents written before load unchanged."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer


class Stored(BaseModel):
    # Fields of the document that are not the model's (the outbox's) stay in the document.
    model_config = ConfigDict(extra="ignore")
    # Fields a document holds only once they have a value (absent, never null, before).
    absent_when_none: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def omit_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in self.absent_when_none:
            if data.get(name) is None:
                data.pop(name, None)
        return data

    def to_doc(self) -> dict[str, Any]:
        """The document (or part) to save: datetimes stay datetimes."""
        return self.model_dump()
