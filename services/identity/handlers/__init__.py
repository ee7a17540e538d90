"""identity's use cases, by area: registration, sessions (login, SMS, tokens), account (the
user's own settings), users (administration, invitations, activation), company.

Everything they need arrives as one ``Identity`` value wired in app.py. A use case has one
signature, ``async def use_case(cmd: Command, identity: Identity) -> Result``, its command from
``domain/commands.py``; the functions taking ``ctx`` first are building blocks the use cases
share (the brute-force guard, sessions, login ids, settings).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from prometheus_client import Counter

from services.identity import events
from services.identity.domain.companies import CompanySettings
from services.identity.domain.errors import EmailTaken, LoginIdTaken, PasswordRejected
from services.identity.domain.passwords import PasswordPolicy
from services.identity.settings import IdentitySettings
from services.identity.store import IdentityStore
from services.identity.store.companies import CompanyRepository
from services.identity.store.customer_numbers import CustomerNumberRepository
from services.identity.store.email_verifications import EmailVerificationRepository
from services.identity.store.imports import ImportJobRepository, ImportRows
from services.identity.store.invitations import InvitationRepository
from services.identity.store.login_domains import LoginDomainClaims
from services.identity.store.logins import LoginIds
from services.identity.store.password_resets import PasswordResets
from services.identity.store.registrations import RegistrationRepository
from services.identity.store.sessions import LoginAttemptRepository, RefreshTokens
from services.identity.store.users import UserRepository
from services.identity.tokens import SigningKeys
from shared.events import EventSpec, make_event
from shared.ratelimit import RateLimiter

# OWASP's argon2id parameters: 19 MiB, 2 iterations, 1 lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the login id is unknown, so both cases cost the same.
_DUMMY_HASH = HASHER.hash("not-a-real-password-1!")
# argon2id runs in a pool of one thread per core: more would only share the cores, each
# hash holding 19 MiB, and evict each other from the caches.
_HASHING = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="argon2")
# How long another replica may keep using a company's previous settings.
SETTINGS_CACHE_SECONDS = 5.0


@dataclass
class Identity:
    """Everything identity's use cases need, wired once in app.py."""

    store: IdentityStore
    keys: SigningKeys
    settings: IdentitySettings
    limits: RateLimiter
    settings_cache: dict[str, tuple[float, CompanySettings]] = field(default_factory=dict)
    # bap_login_failures_total{method, reason}: what operators alert on (never per user).
    login_failures: Counter | None = None
    # Set by an upload of an invitation import: this process's import runner starts on it.
    import_uploaded: asyncio.Event = field(default_factory=asyncio.Event)
    # The repositories of the aggregates, over the store's collections.
    users: UserRepository = field(init=False)
    companies: CompanyRepository = field(init=False)
    login_ids: LoginIds = field(init=False)
    refresh_tokens: RefreshTokens = field(init=False)
    login_attempts: LoginAttemptRepository = field(init=False)
    registrations: RegistrationRepository = field(init=False)
    invitations: InvitationRepository = field(init=False)
    import_jobs: ImportJobRepository = field(init=False)
    import_rows: ImportRows = field(init=False)
    email_verifications: EmailVerificationRepository = field(init=False)
    password_resets: PasswordResets = field(init=False)
    login_domains: LoginDomainClaims = field(init=False)
    customer_numbers: CustomerNumberRepository = field(init=False)

    def __post_init__(self) -> None:
        self.users = UserRepository(self.store.users)
        self.companies = CompanyRepository(self.store.companies)
        self.login_ids = LoginIds(self.store.logins)
        self.refresh_tokens = RefreshTokens(self.store.refresh_tokens)
        self.login_attempts = LoginAttemptRepository(self.store.login_attempts)
        self.registrations = RegistrationRepository(self.store.registrations)
        self.invitations = InvitationRepository(self.store.invitations)
        self.import_jobs = ImportJobRepository(self.store.bulk_jobs,
                                               self.settings.invitation_job_lease_seconds)
        self.import_rows = ImportRows(self.store.invitation_job_rows)
        self.email_verifications = EmailVerificationRepository(self.store.email_verifications)
        self.password_resets = PasswordResets(self.store.password_resets)
        self.login_domains = LoginDomainClaims(self.store.logins)
        self.customer_numbers = CustomerNumberRepository(self.store.customer_numbers)

    def event(self, spec: EventSpec, data: Any, *, subject: str,
              company_id: str | None = None) -> dict[str, Any]:
        return make_event(spec, data, source=events.SOURCE, subject=subject,
                          company_id=company_id)


async def hash_password(password: str) -> str:
    """argon2id, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_HASHING, HASHER.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant work whether or not there is a hash to check against."""
    def verify() -> bool:
        try:
            return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False
    return await asyncio.get_running_loop().run_in_executor(_HASHING, verify)


async def check_new_password(password: str, *, policy: PasswordPolicy,
                             username: str | None = None, history: Sequence[str] = (),
                             repeat: str | None = None) -> None:
    """Every rule the password breaks, reported by name (ID-3)."""
    broken = policy.violations(password, username)
    if repeat is not None and repeat != password:
        broken.append("repeat_matches")
    if not broken and history:
        recent = list(history)[-policy.history:]
        used = await asyncio.gather(*(verify_password(h, password) for h in recent))
        if any(used):
            broken.append("not_recently_used")
    if broken:
        raise PasswordRejected(
            [{"field": "new_password" if r != "repeat_matches" else "new_password_repeat",
              "rule": r, "message": policy.message(r)} for r in broken],
            detail="The password breaks these rules: " + ", ".join(broken))


async def company_settings(ctx: Identity, company_id: str) -> CompanySettings:
    """A company's settings, read at most every few seconds per process (logins read them
    every time); a change made through this process is seen at once."""
    cached = ctx.settings_cache.get(company_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    company = await ctx.companies.get(company_id)
    settings = company.settings if company else CompanySettings()
    ctx.settings_cache[company_id] = (time.monotonic() + SETTINGS_CACHE_SECONDS, settings)
    return settings


async def company_policy(ctx: Identity, company_id: str | None) -> PasswordPolicy:
    if company_id:
        settings = await company_settings(ctx, company_id)
        if settings.password_policy:
            return PasswordPolicy.model_validate(settings.password_policy)
    return PasswordPolicy()


async def claim_login(ctx: Identity, login_id: str, user_id: str, *,
                      required: bool = True) -> bool:
    """Reserve a login id (``email:…``, ``username:…``, ``phone:…``) for a user; idempotent.
    A taken id raises, unless not ``required`` (then False)."""
    if await ctx.login_ids.claim(login_id, user_id):
        return True
    if not required:
        return False
    if login_id.startswith("email:"):
        raise EmailTaken("Use another address, or log in with this one.")
    raise LoginIdTaken("Choose another one.")


async def release_login(ctx: Identity, login_id: str, user_id: str) -> None:
    await ctx.login_ids.release(login_id, user_id)
