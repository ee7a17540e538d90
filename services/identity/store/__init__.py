"""identity's MongoDB collections and their indexes; the repositories of its aggregates
(users.py, companies.py) work over these collections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared.idempotency import INDEXES as IDEMPOTENCY_INDEXES
from shared.mongo import Aggregates, EventsHandoff, Index, apply_indexes


@dataclass
class IdentityStore:
    registrations: Aggregates
    users: Aggregates
    companies: Aggregates
    invitations: Aggregates
    # Single-use secrets (reset links, email verification links, login attempts), each a
    # document whose _id is the hash of the secret or the attempt id.
    password_resets: Aggregates
    email_verifications: Aggregates
    login_attempts: Aggregates
    bulk_jobs: Aggregates
    # Customer numbers as contracts and the CRM announce them: reference address, holder
    # company and the account that logs in with the number (seed 004).
    customer_numbers: Aggregates
    # Uniqueness claims: one document per login id (``email:…``, ``username:…``,
    # ``phone:…``), its _id the key, pointing at the user.
    logins: AsyncCollection[dict[str, Any]]
    # Refresh tokens by hash: rotation, families, revocation.
    refresh_tokens: AsyncCollection[dict[str, Any]]
    # Brute-force and SMS-pumping counters, updated atomically.
    counters: AsyncCollection[dict[str, Any]]
    signing_keys: AsyncCollection[dict[str, Any]]
    idempotency: AsyncCollection[dict[str, Any]]
    # The rows of an invitation import waiting to be processed (users work package, ID-11).
    invitation_job_rows: AsyncCollection[dict[str, Any]]

    @classmethod
    def on(cls, db: AsyncDatabase[dict[str, Any]],
           on_events: Callable[[], None] | EventsHandoff | None) -> IdentityStore:
        def agg(name: str, *indexes: Index) -> Aggregates:
            return Aggregates(db, name, on_events=on_events, indexes=indexes)

        return cls(
            registrations=agg("registrations", Index.on("token_hash", unique=True)),
            # phone: a mobile-number login finds every account using the number (ID-6).
            users=agg("users", Index.on("company_id"), Index.on("email"), Index.on("phone")),
            companies=agg("companies"),
            invitations=agg("invitations", Index.on("token_hash", unique=True),
                            Index.on("company_id")),
            # Requests for unknown login ids are stored too (the same work for every login
            # id): each carries ``expires_at`` and MongoDB removes it then.
            password_resets=agg("password_resets", Index.on("user_id"),
                                Index.on("token_hash"), Index.ttl("expires_at")),
            email_verifications=agg("email_verifications", Index.on("user_id")),
            # Decoys for unknown numbers too: each attempt carries ``expires_at`` (a day after
            # its last code by default) and MongoDB removes it then.
            login_attempts=agg("login_attempts", Index.on("user_id"), Index.ttl("expires_at")),
            bulk_jobs=agg("bulk_jobs", Index.on("company_id")),
            customer_numbers=agg("customer_numbers", Index.on("holder_company_id")),
            logins=db["logins"],
            refresh_tokens=db["refresh_tokens"],
            counters=db["counters"],
            signing_keys=db["signing_keys"],
            idempotency=db["idempotency"],
            invitation_job_rows=db["invitation_job_rows"],
        )

    @property
    def aggregates(self) -> list[Aggregates]:
        return [self.registrations, self.users, self.companies, self.invitations,
                self.password_resets, self.email_verifications, self.login_attempts,
                self.bulk_jobs, self.customer_numbers]

    async def apply_indexes(self) -> None:
        for a in self.aggregates:
            await a.apply_indexes()
        await apply_indexes(self.logins, [Index.on("user_id")])
        await apply_indexes(self.refresh_tokens, [Index.on("family_id"), Index.on("user_id")])
        await apply_indexes(self.invitations.collection, [Index.on("company_id", "email")])
        await apply_indexes(self.idempotency, IDEMPOTENCY_INDEXES)
        await apply_indexes(self.invitation_job_rows, [Index.on("job_id", "row")])
