""""Passwort vergessen" with the customer number (seed 004, ID-8): "Falls Sie bisher keinen Login
haben, können Sie sich mit der 'Passwort vergessen'-Funktion ein Einmal-Kennwort anfordern,
welches an Ihre E-Mail Adresse gesendet wird, die bei Ihnen als Referenz-Adresse hinterlegt
ist. … Als Benutzername verwenden Sie bitte Ihre Kunden-Nummer."

Like a reset by address, the request only takes its allowances and queues itself (the same
writes for known and unknown numbers); identity's own consumer resolves it:

- the number logs in an account (its holder company's designated user or the user who linked
  it): that account gets an ordinary reset link at its own primary address;
- no company holds the number and the CRM announced it as a business number: a link goes to
  the CRM's reference address (``identity.customer_number_access.requested.v1``). Setting the
  password opens the account: a company named after the holder, this account its master
  administrator (``identity.company.registered.v1``), and ``identity.customer_number.claimed.v1``
  asks contracts to link the number to it as contract holder — one aggregate per write;
- anything else (unknown number, private number, holder company without an active login
  account): nothing is sent; the answer was the same 202.

Both links count towards the same "reset emails per address and hour" as a reset by address.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.identity import events
from services.identity.domain import handles
from services.identity.domain import secrets as codes
from services.identity.domain.commands import (
    RequestCustomerNumberAccess,
    SendCustomerNumberAccess,
)
from services.identity.domain.companies import Company, RegisteringAdmin
from services.identity.domain.errors import LinkInvalid
from services.identity.domain.password_resets import PasswordReset
from services.identity.domain.passwords import PasswordPolicy
from services.identity.domain.users import User
from services.identity.handlers import (
    Identity,
    check_new_password,
    claim_login,
    hash_password,
    login_domains,
)
from services.identity.handlers import customer_numbers as projection
from services.identity.handlers.account import (
    RESET_EMAILS,
    end_password_resets,
    queued_reset,
    reset_requests_per_ip,
)
from shared.auth import COMPANY_ADMIN
from shared.ratelimit import HOUR, Limit

RESET_REQUESTS_PER_NUMBER = "password-reset-requests-per-customer-number"


def _per_address(ctx: Identity) -> Limit:
    return Limit(RESET_EMAILS, ctx.settings.password_reset_emails_per_hour, HOUR)


async def request_access(cmd: RequestCustomerNumberAccess, ctx: Identity) -> None:
    """Same answer, and the same work, for known and unknown numbers: counted per client IP
    (429 past it: it tells nothing of the number) and per number (silent past it)."""
    # The allowance every kind of reset request shares (by address, by number, by code).
    await ctx.limits.check(reset_requests_per_ip(ctx), cmd.client_ip,
                           "Too many password requests came from here. Try again later.")
    number = cmd.number.strip()
    per_number = Limit(RESET_REQUESTS_PER_NUMBER, ctx.settings.password_reset_emails_per_hour,
                       HOUR)
    if not await ctx.limits.take(per_number, number):
        return
    request_id = uuid.uuid4().hex
    reset = queued_reset(ctx, request_id, customer_number=number)
    reset.record(events.CUSTOMER_NUMBER_ACCESS_ASKED, events.CustomerNumberAccessAsked(
        request_id=request_id, customer_number=number), subject=request_id)
    await ctx.password_resets.create(reset)


async def send_access_link(cmd: SendCustomerNumberAccess, ctx: Identity) -> None:
    """The queued request resolved (see the module's docstring)."""
    event_id, request_id, number = cmd.event_id, cmd.request_id, cmd.number
    queued = await ctx.password_resets.get(request_id)
    if queued is None or queued.status != "queued":
        return
    user_id = await projection.login_user_id(ctx, number)
    user = await ctx.users.get(user_id) if user_id else None
    reference = await ctx.customer_numbers.get(number)
    opens_account = bool(user is None and reference is not None
                         and not await projection.has_holder_account(ctx, number)
                         and reference.contact_email and reference.segment != "private")
    address = user.email if user else (reference.contact_email if reference else "")
    if (user or opens_account) and not await ctx.limits.take(_per_address(ctx), address):
        user, opens_account = None, False  # this address had its emails for the hour
    token = codes.new_token()

    def resolve(reset: PasswordReset) -> None:
        if reset.status != "queued":
            return
        if user is not None:
            reset.send_link(user, token=token, token_hash=codes.token_hash(token))
            return
        if not opens_account or reference is None:
            reset.status = "no_account"
            return
        # The ids of the account to open are fixed now: completing is then repeatable.
        reset.send_holder_link(
            number=number, email=reference.contact_email, holder_name=reference.holder_name,
            language=reference.language, token=token, token_hash=codes.token_hash(token),
            new_user_id=str(uuid.uuid4()), new_company_id=str(uuid.uuid4()))

    saved = await ctx.password_resets.change(request_id, resolve, applied_event=event_id)
    if saved is None or saved.status != "open":
        return
    # Only the newest link works.
    if saved.user_id:
        await end_password_resets(ctx, saved.user_id, before=saved.asked_at)
    else:
        await ctx.password_resets.end_open_of_number(number, before=saved.asked_at)


async def open_holder_account(ctx: Identity, reset: PasswordReset, new_password: str,
                              repeat: str) -> None:
    """The link's password opens the account: the user (login id: the customer number; the
    reference address too unless another account uses it), the company named after the
    holder with this user as master administrator, and the claim contracts links."""
    number, user_id, company_id = reset.customer_number, reset.new_user_id, reset.new_company_id
    email, name, language = reset.email, reset.holder_name, reset.language
    if not (number and user_id and company_id and email) or name is None or language is None:
        raise LinkInvalid("The link is not valid. Ask for a new one.")
    await check_new_password(new_password, policy=PasswordPolicy(), repeat=repeat,
                             username=f"{handles.ADMIN}@{handles.propose(name)}")
    if await projection.has_holder_account(ctx, number):
        raise LinkInvalid("An account holds this customer number already: log in with the "
                          "customer number, or ask for a new link to reset its password.")
    if not await ctx.password_resets.use(reset.id):
        raise LinkInvalid("The link was used already. Ask for a new one.")
    now = datetime.now(UTC)
    # The reference address is a login id only if no other account uses it already.
    await claim_login(ctx, f"email:{email}", user_id, required=False)
    # Like a registered company: a login domain, and admin@<domain> as a further login id.
    login_domain, username = await login_domains.claim_for_registration(
        ctx, company_id, name, user_id)
    user = User.new(user_id=user_id, company_id=company_id, email=email, email_verified=True,
                    username=username, first_name=name, surname="", phone=None,
                    language=language, role=COMPANY_ADMIN, status="active",
                    password_hash=await hash_password(new_password), now=now,
                    customer_number=number)
    user.activated()
    await ctx.users.create(user)
    company = Company.register(
        company_id=company_id, name=name, login_domain=login_domain, language=language,
        now=now, customer_number=number, admin=RegisteringAdmin(
            user_id=user_id, email=email, first_name=name, surname="", phone=""))
    company.claim_customer_number(number, user_id)
    await ctx.companies.create(company)  # one write with both events
    await projection.record_claim(ctx, number=number, company_id=company_id, user_id=user_id)
