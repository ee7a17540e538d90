"""A forgotten password's reset (ID-8): a request queued for an address or a login id, then,
for an active account, a link or a code that works once, until ``valid_until``, only while
it is the account's newest and the password did not change since. No I/O.

Statuses: queued → open (something was sent) | no_account / nothing_sent / refused (nothing
was sent; a guess still gets the answers any other reset gets) → used | ended.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.identity import events
from services.identity.domain.aggregate import Aggregate
from services.identity.domain.users import User


class PasswordReset(Aggregate):
    status: str
    created_at: datetime
    # Epoch seconds: the emulator compares numbers reliably ("asked before" queries).
    asked_at: float
    # Documents stored before it existed kept the validity in ``expires_at``.
    valid_until: datetime | None = None
    # When MongoDB removes the document (a TTL index), a while after ``valid_until``.
    expires_at: datetime
    user_id: str | None = None
    company_id: str | None = None
    token_hash: str | None = None
    # A reset by code: its channel, hash and the tries counted against it.
    kind: str | None = None
    channel: str | None = None
    code_hash: str | None = None
    tries: int = 0
    # The allowances a delivery is taking ([name, key] pairs), given back by a redelivery.
    taking: list[list[str]] | None = None
    # A link by customer number that opens its holder's account (seed 004): the number, the
    # reference address, holder and language the CRM announced, and the ids of the account
    # to open (fixed when the link is sent, so that completing it is repeatable).
    customer_number: str | None = None
    email: str | None = None
    holder_name: str | None = None
    language: str | None = None
    new_user_id: str | None = None
    new_company_id: str | None = None

    @classmethod
    def queue(cls, request_id: str, *, now: datetime, asked_at: float, valid_for: timedelta,
              kept_for: timedelta, **fields: Any) -> PasswordReset:
        until = now + valid_for
        return cls.model_validate({
            "_id": request_id, "status": "queued", "created_at": now, "asked_at": asked_at,
            "valid_until": until, "expires_at": until + kept_for, **fields})

    @property
    def works_until(self) -> datetime:
        return self.valid_until or self.expires_at

    def send_link(self, user: User, *, token: str, token_hash: str) -> None:
        """The queued request's address is an active account's: a link goes to it."""
        self.status = "open"
        self.token_hash, self.user_id, self.company_id = token_hash, user.id, user.company_id
        self.record(events.PASSWORD_RESET_REQUESTED, events.PasswordResetRequested(
            user_id=user.id, company_id=user.company_id, email=user.email,
            language=user.language, token=token, expires_at=self.works_until),
            subject=user.id)

    @property
    def opens_account(self) -> bool:
        """A link that opens the holder's account rather than resetting an existing one."""
        return bool(self.customer_number) and not self.user_id

    def send_holder_link(self, *, number: str, email: str, holder_name: str, language: str,
                         token: str, token_hash: str, new_user_id: str,
                         new_company_id: str) -> None:
        """No account logs in with the number: a link to open one goes to its reference
        address."""
        self.status = "open"
        self.token_hash, self.user_id = token_hash, None
        self.email, self.holder_name, self.language = email, holder_name, language
        self.new_user_id, self.new_company_id = new_user_id, new_company_id
        self.record(events.CUSTOMER_NUMBER_ACCESS_REQUESTED,
                    events.CustomerNumberAccessRequested(
                        request_id=self.id, customer_number=number, holder_name=holder_name,
                        email=email, language=language, token=token,
                        expires_at=self.works_until), subject=number)

    def send_code(self, user: User, *, code: str, code_hash: str, channel: str) -> None:
        """The queued request's login id is an active account's: a code goes out."""
        self.forget("taking")
        self.status = "open"
        self.user_id, self.company_id, self.code_hash = user.id, user.company_id, code_hash
        self.record(events.PASSWORD_RESET_CODE_REQUESTED, events.PasswordResetCodeRequested(
            user_id=user.id, company_id=user.company_id, channel=channel, email=user.email,
            phone=user.phone if channel == "sms" else None, language=user.language,
            code=code, expires_at=self.works_until), subject=user.id)

    def nothing_sent(self, status: str) -> None:
        """Resolved without sending anything; the allowances' bookkeeping is done."""
        self.forget("taking")
        self.status = status
