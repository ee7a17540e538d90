"""Invitations (ID-11): an administrator invites an address with a role; the invitee accepts
the link with name, phone and password. No I/O.

    pending ──resend──▶ pending (a new link; the previous one stops working)
       │ └──past expires_at──▶ expired (still stored as pending; a resend revives it)
       ├──revoke──▶ revoked
       └──reserve (the invitee is setting up the account)──accept──▶ accepted
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import Field

from services.identity.domain.aggregate import Aggregate
from services.identity.domain.errors import InvitationAccepted, InvitationRevoked
from services.identity.domain.users import User
from services.identity.events import (
    INVITATION_ACCEPTED,
    INVITATION_SENT,
    InvitationSent,
)
from services.identity.events import InvitationAccepted as InvitationAcceptedEvent

StoredStatus = Literal["pending", "accepted", "revoked"]
Status = Literal["pending", "accepted", "revoked", "expired"]


@dataclass(frozen=True, slots=True)
class Inviter:
    """Who invites, as every invitation by them has to say it."""

    # The acting administrator as stored (roles and permissions checked per invitation).
    actor: User
    company_id: str
    company_name: str
    company_language: str

    @property
    def actor_id(self) -> str:
        return self.actor.id

    @property
    def name(self) -> str:
        return f"{self.actor.first_name} {self.actor.surname}".strip()


@dataclass(frozen=True, slots=True)
class Link:
    """A link's secret (sent once, in the event) and what is stored of it."""

    token: str
    token_hash: str
    expires_at: datetime


class Invitation(Aggregate):
    """An invitation (stored in ``invitations``)."""

    company_id: str
    email: str
    role: str
    permissions: list[str] = Field(default_factory=list)
    language: str
    first_name: str | None = None
    surname: str | None = None
    status: StoredStatus = "pending"
    token_hash: str
    expires_at: datetime
    expires_ts: float
    invited_by: str
    parent_user_id: str | None = None
    job_id: str | None = None
    row: int | None = None
    sent_count: int = 1
    created_at: datetime
    accepted_user_id: str | None = None
    accepted_at: datetime | None = None
    # Set while the invitee's account is being created: a withdrawal then waits its turn.
    accepting_user_id: str | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @classmethod
    def new(cls, *, invitation_id: str, inviter: Inviter, email: str, role: str,
            permissions: list[str], language: str | None, first_name: str | None,
            surname: str | None, parent_user_id: str | None, link: Link, now: datetime,
            job_id: str | None = None, row: int | None = None) -> Invitation:
        """A new pending invitation; records ``InvitationSent`` with the link."""
        invitation = cls.model_validate({
            "_id": invitation_id, "company_id": inviter.company_id, "email": email,
            "role": role, "permissions": permissions,
            "language": language or inviter.company_language,
            "first_name": first_name or None, "surname": surname or None,
            "status": "pending", "token_hash": link.token_hash,
            "expires_at": link.expires_at, "expires_ts": link.expires_at.timestamp(),
            "invited_by": inviter.actor_id, "parent_user_id": parent_user_id,
            "job_id": job_id, "row": row, "sent_count": 1, "created_at": now,
            "accepted_user_id": None, "accepted_at": None})
        invitation._sent(link, inviter)
        return invitation

    def status_at(self, now: datetime | None = None) -> Status:
        """pending, accepted, revoked, or expired (pending past its date)."""
        if self.status == "pending":
            expires = self.expires_at
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            if expires <= (now or datetime.now(UTC)):
                return "expired"
        return self.status

    def check_open(self) -> None:
        """Refuse a change of an invitation that was accepted or withdrawn."""
        if self.status == "accepted":
            raise InvitationAccepted("The invitation was accepted already: the person has an "
                                     "account.")
        if self.status == "revoked":
            raise InvitationRevoked("The invitation was withdrawn. Invite the address again.")

    def resend(self, link: Link, inviter: Inviter) -> None:
        """A new link; the previous one stops working, an expired invitation is valid again."""
        self.check_open()
        self.token_hash = link.token_hash
        self.expires_at = link.expires_at
        self.expires_ts = link.expires_at.timestamp()
        self.sent_count += 1
        self._sent(link, inviter)

    def revoke(self, by: str, now: datetime) -> None:
        """Withdraw it (withdrawing a withdrawn one changes nothing)."""
        if self.status == "revoked":
            return
        self.check_open()
        if self.accepting_user_id:
            raise InvitationAccepted("The invitation is being accepted right now: the person "
                                     "is setting up the account.")
        self.status, self.revoked_at, self.revoked_by = "revoked", now, by

    def reserve(self, user_id: str) -> None:
        """The invitee is creating the account ``user_id``; serialised with a withdrawal by
        the version check of the write: whichever comes first wins."""
        self.check_open()
        self.accepting_user_id = user_id

    def unreserve(self) -> None:
        """The account could not be created: the invitation may be withdrawn again."""
        if self.status != "accepted":
            self.accepting_user_id = None

    def accept(self, user_id: str, now: datetime) -> None:
        """The account exists; records ``InvitationAccepted`` (once)."""
        if self.status == "accepted":
            return
        self.status, self.accepted_user_id, self.accepted_at = "accepted", user_id, now
        self.record(INVITATION_ACCEPTED, InvitationAcceptedEvent(
            invitation_id=self.id, company_id=self.company_id, user_id=user_id,
            email=self.email, role=self.role))

    def _sent(self, link: Link, inviter: Inviter) -> None:
        self.record(INVITATION_SENT, InvitationSent(
            invitation_id=self.id, company_id=self.company_id,
            company_name=inviter.company_name, email=self.email, role=self.role,
            language=self.language, invited_by_name=inviter.name, token=link.token,
            expires_at=self.expires_at))


def new_link(token: str, token_hash: str, now: datetime, days: int) -> Link:
    return Link(token, token_hash, now + timedelta(days=days))


def invitation_id_for_row(job_id: str, row: int) -> str:
    """The invitation of a row of an import: the same every time the row is processed."""
    return f"{job_id}-r{row}"
