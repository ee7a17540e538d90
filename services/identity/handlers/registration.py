"""Registration, email first (ID-1)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from services.identity.domain import handles
from services.identity.domain import registration as reg
from services.identity.domain.commands import (
    CheckRegistrationLink,
    CompleteRegistration,
    StartRegistration,
)
from services.identity.domain.companies import Company, RegisteringAdmin
from services.identity.domain.errors import LinkInvalid
from services.identity.domain.passwords import PasswordPolicy
from services.identity.domain.secrets import new_token, token_hash
from services.identity.domain.sessions import NewAccountLoggedIn
from services.identity.domain.users import User
from services.identity.handlers import (
    Identity,
    check_new_password,
    claim_login,
    hash_password,
    login_domains,
)
from services.identity.handlers.session_tokens import start_session
from shared.auth import COMPANY_ADMIN
from shared.ratelimit import HOUR, Limit


async def start_registration(cmd: StartRegistration, identity: Identity) -> None:
    """Store the pending registration and send the verification link. The answer is the
    same whether or not the address already has an account; a few per hour per address
    (mail bombing) and per client IP, counted for every address alike."""
    s = identity.settings
    address = hashlib.sha256(reg.normalise_email(str(cmd.email)).encode()).hexdigest()[:32]
    await identity.limits.check_all(
        [(Limit("registrations-per-email", s.registrations_per_email_per_hour, HOUR), address),
         (Limit("registrations-per-ip", s.registrations_per_ip_per_hour, HOUR), cmd.client_ip)],
        "Too many registrations were started from here or for this address. Try again "
        "later.")
    token = new_token()
    await identity.registrations.create(reg.Registration.start(
        str(cmd.email), cmd.language, token, token_hash(token), datetime.now(UTC),
        timedelta(hours=identity.settings.registration_link_hours)))


async def verify_registration_link(cmd: CheckRegistrationLink, identity: Identity
                                   ) -> reg.Registration:
    registration = await identity.registrations.by_token_hash(token_hash(cmd.token))
    if registration is None:
        raise LinkInvalid("The link is not valid. Check that you copied all of it.")
    registration.check_can_complete(datetime.now(UTC))
    return registration


async def complete_registration(cmd: CompleteRegistration, identity: Identity
                                ) -> NewAccountLoggedIn:
    """Create the company with this account as its company administrator. Each write
    touches one document and can be repeated, so a failure half way is finished by sending
    the same request again."""
    registration = await verify_registration_link(CheckRegistrationLink(cmd.token), identity)
    # Checked against the login id the company name suggests before anything is claimed.
    await check_new_password(cmd.password, policy=PasswordPolicy(),
                             username=f"{handles.ADMIN}@{handles.propose(cmd.company_name)}")
    email, user_id = registration.email, registration.user_id
    company_id, language = registration.company_id, registration.language
    await claim_login(identity, f"email:{email}", user_id)
    # ID-14 (seed 002): the company's login domain and "admin@<domain>" for its administrator.
    login_domain, username = await login_domains.claim_for_registration(
        identity, company_id, cmd.company_name, user_id)
    now = datetime.now(UTC)
    user = User.new(user_id=user_id, company_id=company_id, email=email, email_verified=True,
                    username=username, first_name=cmd.first_name, surname=cmd.surname,
                    phone=cmd.phone, language=language, role=COMPANY_ADMIN,
                    status="active", password_hash=await hash_password(cmd.password), now=now)
    user.activated()
    # A mobile number logs in only one account (ID-6); a number already used elsewhere
    # just does not become a login id here.
    await claim_login(identity, f"phone:{cmd.phone}", user_id, required=False)
    await identity.users.create(user)
    await identity.companies.create(Company.register(
        company_id=company_id, name=cmd.company_name, login_domain=login_domain,
        language=language, now=now, admin=RegisteringAdmin(
            user_id=user_id, email=email, first_name=cmd.first_name, surname=cmd.surname,
            phone=cmd.phone)))

    await identity.registrations.change(registration.id, lambda r: r.complete(now))
    # The stored user, if an earlier try of this request made it first.
    stored = await identity.users.get(user_id) or user
    return NewAccountLoggedIn(company_id=company_id, user_id=user_id, username=stored.username,
                              login=await start_session(identity, stored, ["pwd"]))
