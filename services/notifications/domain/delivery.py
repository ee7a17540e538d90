"""A delivery: one message of one event to one recipient on one channel, and its log entry.

Its life: ``queued`` (created, not yet taken by a provider) → ``sent`` or ``failed``; or
``suppressed`` at once (the recipient opted out of a non-essential kind). Each attempt to hand
it to a provider is recorded under the claim (the lease of one worker on one send) it was made
with, so a repeated write of the same outcome, or the attempt of a worker killed mid-send, is
recorded once. The document keeps its stored shape: fields a document never had stay absent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.notifications.domain.errors import (
    DeliveryInProgress,
    MessageCarriedASecret,
    RecipientOptedOut,
)
from services.notifications.domain.kinds import ChannelName, StatusName

Channel = ChannelName
Status = StatusName
Outcome = Literal["sent", "error", "unconfirmed"]
# What the log says of an attempt whose worker stopped before the provider's answer was kept.
UNCONFIRMED = ("the worker stopped before the provider's answer was recorded; the recipient "
               "may have received this copy")


def delivery_id_for(event_id: str, channel: str, key: str) -> str:
    """The id of the one delivery of (event, channel, recipient): a copy of the event finds it."""
    return "d-" + hashlib.sha256(f"{event_id}|{channel}|{key}".encode()).hexdigest()[:24]


def sort_key(at: datetime, delivery_id: str) -> str:
    """The delivery log's order (newest first when descending), unique per delivery."""
    return f"{at.timestamp():017.6f}|{delivery_id}"


@dataclass(frozen=True)
class Claim:
    """This worker's hold on a delivery for one send, and the hold it took over: a holder
    that never settled its attempt (killed mid-send) left ``previous_id`` behind."""

    id: str
    previous_id: str | None = None
    previous_at: datetime | None = None


@dataclass(frozen=True)
class Undeliverable:
    """Domain event: the delivery failed for good (announced as delivery.failed)."""

    delivery_id: str
    event_id: str
    kind: str
    channel: Channel
    recipient: str
    company_id: str
    reason: str
    attempts: int
    failure: Literal["permanent", "exhausted"]


@dataclass(frozen=True)
class ResendAsked:
    """Domain event: support or a company administrator asked for the message again."""

    delivery_id: str
    resend_id: str
    company_id: str
    requested_by: str


DeliveryEvent = Undeliverable | ResendAsked


class Attempt(BaseModel):
    """One attempt to hand the message to a provider, under the claim it was made with."""

    model_config = ConfigDict(extra="ignore")

    at: datetime
    outcome: Outcome
    provider: str
    error: str = ""
    claim: str = ""


class Delivery(BaseModel):
    """The delivery aggregate. ``address`` and ``values`` are empty for a message that
    carried a secret: it is never kept and never resent.

    Fields of the stored document it does not model (the outbox's, the relay's) are kept
    as they were read, so saving the whole document keeps them."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(alias="_id")
    event_id: str
    event_type: str
    kind: str
    channel: Channel
    recipient: str  # masked
    recipient_key: str
    language: str
    company_id: str
    user_id: str
    essential: bool
    secret: bool
    address: str
    values: dict[str, Any]
    status: Status
    failure: str
    attempts: list[Attempt]
    provider: str
    provider_message_id: str
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None
    created_ts: float
    sort_key: str
    claim_until: float = 0.0
    claim_id: str = ""
    claimed_at: datetime | None = None
    resend_of: str = ""
    resends: int = 0
    # Optimistic concurrency: the version it was read at (kept by the store, not dumped).
    version: int = 0

    def document(self) -> dict[str, Any]:
        """The stored document's fields (those it has: an older document keeps its shape)."""
        return self.model_dump(by_alias=True, exclude_unset=True, exclude={"version"})

    @property
    def resendable(self) -> bool:
        return not self.secret and self.status in ("sent", "failed")

    def hold(self, claim: Claim, until: float, at: datetime) -> None:
        """Taken by ``claim`` for one send until ``until`` (epoch seconds)."""
        self.claim_until, self.claim_id, self.claimed_at = until, claim.id, at

    def held_by(self, claim: Claim) -> bool:
        return self.claim_id == claim.id

    def settle(self, claim: Claim, outcome: Outcome, provider: str, error: str,
               at: datetime) -> None:
        """Record this claim's attempt, after the one a killed holder left (``unconfirmed``:
        its message may have gone out), each once; the claim is settled."""
        recorded = {a.claim for a in self.attempts}
        attempts = list(self.attempts)
        if claim.previous_id and claim.previous_id not in recorded:
            attempts.append(Attempt(at=claim.previous_at or at, outcome="unconfirmed",
                                    provider="", error=UNCONFIRMED, claim=claim.previous_id))
        if claim.id not in recorded:
            attempts.append(Attempt(at=at, outcome=outcome, provider=provider, error=error,
                                    claim=claim.id))
        self.attempts = attempts
        if self.claim_id == claim.id:
            self.claim_id = ""

    def release(self, claim: Claim, outcome: Outcome, error: str, at: datetime) -> None:
        """Given up (still queued) with this attempt settled as ``outcome``."""
        if self.status == "queued":
            self.settle(claim, outcome, "", error, at)
            self.claim_until = 0.0

    def sent(self, claim: Claim, provider: str, provider_message_id: str,
             at: datetime) -> None:
        """The provider took the message. Recorded already (this write repeated while
        stopping, or a copy that held it after this one's lease ran out sent too): this send
        happened all the same, and its attempt is kept."""
        if self.status != "sent":
            self.status, self.claim_until, self.provider = "sent", 0.0, provider
            self.provider_message_id, self.sent_at, self.updated_at = provider_message_id, at, at
        self.settle(claim, "sent", provider, "", at)

    def attempt_failed(self, claim: Claim, provider: str, reason: str, at: datetime,
                       final: Literal["permanent", "exhausted"] | None) -> list[DeliveryEvent]:
        """One failed attempt; with ``final`` the delivery is failed and that announced."""
        self.settle(claim, "error", provider, reason, at)
        self.claim_until, self.updated_at = 0.0, at
        if final is None:
            return []
        self.status, self.failure = "failed", final
        return [self.undeliverable(reason, final)]

    def undeliverable(self, reason: str,
                      failure: Literal["permanent", "exhausted"]) -> Undeliverable:
        return Undeliverable(
            delivery_id=self.id, event_id=self.event_id, kind=self.kind, channel=self.channel,
            recipient=self.recipient, company_id=self.company_id, reason=reason,
            attempts=len(self.attempts), failure=failure)

    def request_resend(self, requested_by: str) -> ResendAsked:
        """Another delivery of the same message (a sent or failed one carrying no secret)."""
        if self.secret:
            raise MessageCarriedASecret()
        if self.status == "suppressed":
            raise RecipientOptedOut()
        if self.status == "queued":
            raise DeliveryInProgress()
        self.resends += 1
        return ResendAsked(delivery_id=self.id, resend_id=f"{self.id}-r{self.resends}",
                           company_id=self.company_id, requested_by=requested_by)

    def resent(self, resend_id: str, event_id: str, at: datetime) -> Delivery:
        """The queued delivery that sends this one's message again."""
        fields = self.document()
        fields.update(
            _id=resend_id, event_id=event_id, event_type="notifications.resend.requested.v1",
            status="queued", failure="", attempts=[], provider="", provider_message_id="",
            created_at=at, updated_at=at, sent_at=None, created_ts=at.timestamp(),
            sort_key=sort_key(at, resend_id), claim_until=0.0, claim_id="", claimed_at=None,
            resend_of=self.id, resends=0)
        return Delivery.model_validate(fields)
