"""identity's use cases: each a function of a command and the dependencies it needs."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.identity import events
from services.identity.domain import registration as reg
from services.identity.domain.errors import EmailTaken, LinkInvalid, LoginFailed, PasswordRejected
from services.identity.domain.passwords import RULE_MESSAGES, PasswordPolicy
from services.identity.settings import IdentitySettings
from services.identity.store import IdentityStore
from services.identity.tokens import SigningKeys, access_token
from shared.auth import COMPANY_ADMIN
from shared.events import make_event
from shared.mongo import is_duplicate

# OWASP's argon2id parameters: 19 MiB, 2 iterations, 1 lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the login id is unknown, so both cases cost the same.
_DUMMY_HASH = HASHER.hash("not-a-real-password-1!")


@dataclass
class Identity:
    """Everything identity's use cases need, wired once in app.py."""

    store: IdentityStore
    keys: SigningKeys
    settings: IdentitySettings

    def event(self, spec, data, *, subject: str, company_id: str | None = None) -> dict:
        return make_event(spec, data, source=events.SOURCE, subject=subject,
                          company_id=company_id)


def token_hash(token: str) -> str:
    """Tokens are stored only as this hash; a lookup by hash is as good as a comparison."""
    return hashlib.sha256(token.encode()).hexdigest()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False
    return await asyncio.to_thread(verify)


def check_password_policy(password: str, username: str | None = None) -> None:
    broken = PasswordPolicy().violations(password, username)
    if broken:
        raise PasswordRejected(
            [{"field": "password", "rule": r, "message": RULE_MESSAGES[r]} for r in broken],
            detail="The password breaks: " + ", ".join(broken))


async def start_registration(ctx: Identity, cmd: reg.StartRegistration) -> None:
    """ID-1, step one: store the pending registration and send the verification link.

    The answer is the same whether or not the address already has an account."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    doc = reg.new_registration(str(cmd.email), cmd.language, token_hash(token), now,
                               timedelta(hours=ctx.settings.registration_link_hours))
    data = events.RegistrationStarted(registration_id=doc["_id"], email=doc["email"],
                                      language=cmd.language, token=token,
                                      expires_at=doc["expires_at"])
    await ctx.store.registrations.create(
        doc, [ctx.event(events.REGISTRATION_STARTED, data, subject=doc["_id"])])


async def find_registration(ctx: Identity, token: str) -> dict:
    doc = await ctx.store.registrations.get({"token_hash": token_hash(token)})
    if doc is None:
        raise LinkInvalid("The link is not valid. Check that you copied all of it.")
    return doc


async def verify_registration_link(ctx: Identity, token: str) -> dict:
    doc = await find_registration(ctx, token)
    reg.check_can_complete(doc, datetime.now(UTC))
    return doc


async def complete_registration(ctx: Identity, cmd: reg.CompleteRegistration) -> dict:
    """ID-1, step two. Each write touches one document and can be repeated, so a failure half
    way is finished by sending the same request again."""
    doc = await verify_registration_link(ctx, cmd.token)
    check_password_policy(cmd.password)
    email, user_id, company_id = doc["email"], doc["user_id"], doc["company_id"]
    await _claim_login(ctx, f"email:{email}", user_id)
    now = datetime.now(UTC)
    user = {"_id": user_id, "company_id": company_id, "email": email,
            "first_name": cmd.first_name, "surname": cmd.surname, "phone": cmd.phone,
            "language": doc["language"], "roles": [COMPANY_ADMIN], "permissions": [],
            "status": "active", "password_hash": await hash_password(cmd.password),
            "created_at": now}
    await _create_once(ctx.store.users, user)
    company_event = ctx.event(events.COMPANY_REGISTERED, events.CompanyRegistered(
        company_id=company_id, company_name=cmd.company_name, admin_user_id=user_id,
        admin_email=email, admin_first_name=cmd.first_name, admin_surname=cmd.surname,
        admin_phone=cmd.phone, language=doc["language"]),
        subject=company_id, company_id=company_id)
    await _create_once(ctx.store.companies, {
        "_id": company_id, "name": cmd.company_name, "admin_user_id": user_id,
        "language": doc["language"], "created_at": now}, [company_event])

    def complete(d: dict) -> list:
        d["status"] = "completed"
        d["completed_at"] = now
        return []
    await ctx.store.registrations.change({"_id": doc["_id"]}, complete)
    return {"company_id": company_id, "user_id": user_id, **issue_tokens(ctx, user, ["pwd"])}


async def _claim_login(ctx: Identity, login_id: str, user_id: str) -> None:
    try:
        await ctx.store.logins.insert_one({"_id": login_id, "user_id": user_id})
    except Exception as e:
        if not is_duplicate(e):
            raise
        existing = await ctx.store.logins.find_one({"_id": login_id})
        if existing is None or existing["user_id"] != user_id:
            raise EmailTaken("Log in, or reset your password if you forgot it.") from None


async def _create_once(store, doc: dict, events_: list | None = None) -> None:
    try:
        await store.create(doc, events_ or [])
    except Exception as e:
        if not is_duplicate(e):
            raise


def issue_tokens(ctx: Identity, user: dict, amr: list[str]) -> dict:
    lifetime = ctx.settings.access_token_seconds
    return {
        "access_token": access_token(
            ctx.keys, issuer=ctx.settings.token_issuer, audience=ctx.settings.token_audience,
            subject=user["_id"], company_id=user["company_id"], roles=user["roles"],
            permissions=user.get("permissions", []), amr=amr, lifetime=lifetime),
        "token_type": "Bearer",
        "expires_in": lifetime,
    }


async def log_in(ctx: Identity, login: str, password: str) -> dict:
    """ID-4 with password (the SMS step of ID-5 comes with the identity issue). Unknown login
    and wrong password give the same answer and take the same time."""
    claim = await ctx.store.logins.find_one({"_id": f"email:{reg.normalise_email(login)}"})
    user = await ctx.store.users.get({"_id": claim["user_id"]}) if claim else None
    ok = await verify_password(user["password_hash"] if user else None, password)
    if not ok or user is None or user.get("status") != "active":
        raise LoginFailed("Check the login id and the password.")
    return issue_tokens(ctx, user, ["pwd"])

