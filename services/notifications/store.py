"""notifications' repository: deliveries and the projections that address them, the write
side's only MongoDB calls.

    deliveries   the delivery log: one document per (event, channel, recipient); its _id is
                 derived from those three (deduplication). The outbox of
                 notifications.delivery.failed.v1 and notifications.resend.requested.v1.
    users        projection of identity's users: company, language, hashed email address
    companies    projection of identity's companies: language (NOT-2 fallback)
    preferences  a user's opt-outs of non-essential messages per channel
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pymongo import ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.notifications.domain.delivery import Claim, Delivery, DeliveryEvent
from services.notifications.events import envelope
from shared.batching import Batched, insert_each
from shared.lease import Lease, LeaseFields
from shared.mongo import (
    Aggregates,
    ConcurrencyConflict,
    EventsHandoff,
    Index,
    apply_indexes,
    is_duplicate,
    new_outbox,
)

Document = dict[str, Any]
# A delivery's claim: one worker's lease on it for one send (field names of the first version).
CLAIM = LeaseFields(until="claim_until", holder="claim_id")
# A save: the delivery's id, the version it was read at, and its fields.
Save = tuple[str, int, Document]


class KnownUser(BaseModel):
    """What identity's events told of a user: their company and language."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id")
    company_id: str = ""
    language: str | None = None


@dataclass
class NotificationsStore:
    deliveries: Aggregates
    users: AsyncCollection[Document]
    companies: AsyncCollection[Document]
    preferences: AsyncCollection[Document]
    claims: Lease
    # The deliveries in flight insert and save at about the same time: together (batching).
    _inserts: Batched[Document, None] = field(init=False, repr=False)
    _saves: Batched[Save, bool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._inserts = Batched(partial(insert_each, self.deliveries.collection),
                                name="insert deliveries")
        self._saves = Batched(self._save_many, name="save deliveries")

    @classmethod
    def on(cls, db: AsyncDatabase[Document],
           on_events: Callable[[], None] | EventsHandoff | None = None, *,
           claim_seconds: float = 60.0) -> NotificationsStore:
        deliveries = Aggregates(db, "deliveries", on_events=on_events, indexes=[
            Index.on("sort_key"), Index.on("company_id", "sort_key"),
            Index.on("recipient_key", "sort_key"), Index.on("status", "sort_key"),
            Index.on("event_id")])
        return cls(deliveries=deliveries, users=db["users"], companies=db["companies"],
                   preferences=db["preferences"],
                   claims=Lease(deliveries.collection, seconds=claim_seconds, fields=CLAIM))

    @property
    def aggregates(self) -> list[Aggregates]:
        return [self.deliveries]

    async def apply_indexes(self) -> None:
        for a in self.aggregates:
            await a.apply_indexes()
        await apply_indexes(self.users, [Index.on("email_key")])

    # -- deliveries ----------------------------------------------------------------------------

    async def get(self, delivery_id: str) -> Delivery | None:
        doc = await self.deliveries.get({"_id": delivery_id})
        return None if doc is None else Delivery.model_validate(doc)

    async def add(self, delivery: Delivery) -> tuple[Delivery, bool]:
        """Create ``delivery`` (True: it is the stored one now), or return the one a copy of
        its cause created before (False). Inserted with the others being added (one command);
        a delivery has no events when it is created, so the relay has nothing to publish."""
        try:
            await self._inserts({**delivery.document(), **new_outbox()})
        except Exception as e:
            if not is_duplicate(e):
                raise
            found = await self.get(delivery.id)
            if found is None:  # removed in between: nothing in this service removes one
                raise
            return found, False
        delivery.version = 1
        return delivery, True

    async def add_once(self, delivery: Delivery, events: list[DeliveryEvent]) -> bool:
        """Create ``delivery`` with its events; False if a copy of its cause created it."""
        return await self.deliveries.create_once(delivery.document(),
                                                 [envelope(e) for e in events])

    async def claim(self, delivery_id: str) -> tuple[Delivery, Claim] | None:
        """Take a queued delivery whose claim ran out, for one send, in one atomic write
        (scalar ``$set`` only: the emulator's ``$push`` of a document is not to be relied
        on); returns it as it is now, with the claim and the claim it took over."""
        claim_id = uuid.uuid4().hex
        taken = await self.claims.claim({"_id": delivery_id, "status": "queued"}, claim_id,
                                        also={"claimed_at": datetime.now(UTC)})
        if taken is None:
            return None
        previous = taken.previous or None
        claim = Claim(claim_id, previous, taken.before.get("claimed_at") if previous else None)
        return Delivery.model_validate(taken.doc), claim

    async def save(self, delivery: Delivery) -> None:
        """Save a delivery read at ``delivery.version`` (no events), in one write (with the
        others being saved: one command). ``ConcurrencyConflict`` when it was written since,
        or when a save of the same command missed (which one is not told): the caller reads
        it again and applies its change again, so only a change that may be applied twice
        is saved this way."""
        fields = delivery.document()
        del fields["_id"]
        if not await self._saves((delivery.id, delivery.version, fields)):
            raise ConcurrencyConflict()
        delivery.version += 1

    async def _save_many(self, saves: list[Save]) -> list[bool]:
        # The whole document is replaced (as ``Aggregates.update`` does), never ``$set``: the
        # emulator stores a top-level datetime written by ``$set`` as a string. The version
        # guard keeps what the relay or a lease wrote since (each of their writes bumps it),
        # and the delivery carries the stored fields it does not model (its outbox).
        result = await self.deliveries.collection.bulk_write(
            [ReplaceOne({"_id": id_, "version": version},
                        {**fields, "_id": id_, "version": version + 1})
             for id_, version, fields in saves], ordered=False)
        return [result.matched_count == len(saves)] * len(saves)

    async def change(self, delivery_id: str,
                     mutate: Callable[[Delivery], list[DeliveryEvent]]) -> Delivery | None:
        """Read, change and save a delivery with the events the change causes, retried when a
        concurrent write won; ``mutate`` raises to refuse (nothing is written)."""
        def apply(doc: Document) -> list[Document]:
            delivery = Delivery.model_validate(doc)
            events = mutate(delivery)
            doc.update(delivery.document())
            return [envelope(e) for e in events]
        saved = await self.deliveries.change({"_id": delivery_id}, apply)
        return None if saved is None else Delivery.model_validate(saved)

    # -- projections and preferences -----------------------------------------------------------

    async def user(self, user_id: str | None, email_key: str | None) -> KnownUser | None:
        """The user by id, else by the key of their email address."""
        if user_id:
            doc = await self.users.find_one({"_id": user_id})
            if doc is not None:
                return KnownUser.model_validate(doc)
        if email_key:
            doc = await self.users.find_one({"email_key": email_key})
            if doc is not None:
                return KnownUser.model_validate(doc)
        return None

    async def company_language(self, company_id: str) -> str | None:
        doc = await self.companies.find_one({"_id": company_id})
        return None if doc is None else doc.get("language")

    async def remember_user(self, user_id: str, company_id: str, email_key: str,
                            language: str | None) -> None:
        fields = {"company_id": company_id, "email_key": email_key}
        if language:
            fields["language"] = language
        await self.users.update_one({"_id": user_id}, {"$set": fields}, upsert=True)

    async def remember_company(self, company_id: str, language: str) -> None:
        await self.companies.update_one({"_id": company_id},
                                        {"$set": {"language": language}}, upsert=True)

    async def opted_out(self, user_id: str, channel: str) -> bool:
        prefs = await self.preferences.find_one({"_id": user_id})
        return prefs is not None and prefs.get(channel) is False

    async def set_preferences(self, user_id: str, company_id: str, *, email: bool,
                              sms: bool) -> None:
        await self.preferences.update_one(
            {"_id": user_id}, {"$set": {"company_id": company_id, "email": email, "sms": sms}},
            upsert=True)
