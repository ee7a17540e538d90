"""Customer numbers as login ids of their contract holder's account (seed 004, ID-14): "Als
Benutzername verwenden Sie bitte Ihre Kunden-Nummer."

identity keeps a projection of each number, fed by events and never by contracts' database:

- the CRM's ``crm.customer_number.issued.v1`` / ``.changed.v1``: holder name, reference
  email address, language, segment (the newest CRM event wins per field);
- contracts' ``contracts.customer_number.linked.v1`` / ``.unlinked.v1``: which company holds
  the number as contract holder and which user's account made the link (newest event wins);
- a company administrator's designation of another user of the holder company;
- the account identity opened for a holder who set a password through the reference address
  (``claim_*``), until contracts' own holder link arrives.

The projection is ``domain.customer_numbers.CustomerNumber``.
"""

from __future__ import annotations

from services.identity.domain.commands import (
    DesignateLoginUser,
    LinkHolder,
    ListHeldNumbers,
    RecordCrmReference,
    UnlinkHolder,
)
from services.identity.domain.customer_numbers import CustomerNumber, NumberLogin
from services.identity.handlers import Identity
from shared.errors import InvalidInput, NotFound


# -- the projection ------------------------------------------------------------------------
async def crm_reference(cmd: RecordCrmReference, ctx: Identity) -> None:
    """The CRM issued a number, or changed its holder name or reference address."""
    await ctx.customer_numbers.upsert(cmd.number,
                                      lambda n: n.crm_reference(cmd.data, cmd.as_of),
                                      event_id=cmd.event_id)


async def holder_linked(cmd: LinkHolder, ctx: Identity) -> None:
    """contracts linked the number (or re-announced a link after a contract changed)."""
    await ctx.customer_numbers.upsert(
        cmd.number, lambda n: n.holder_linked(cmd.company_id, cmd.link_type, cmd.linked_by,
                                              cmd.as_of),
        event_id=cmd.event_id)


async def holder_unlinked(cmd: UnlinkHolder, ctx: Identity) -> None:
    await ctx.customer_numbers.upsert(
        cmd.number, lambda n: n.holder_unlinked(cmd.company_id, cmd.as_of),
        event_id=cmd.event_id)


async def record_claim(ctx: Identity, *, number: str, company_id: str, user_id: str) -> None:
    """identity opened an account for the number's holder; it logs in with the number from
    now on, and contracts' holder link follows (through ``identity.customer_number.claimed``)."""
    await ctx.customer_numbers.upsert(number, lambda n: n.record_claim(company_id, user_id))


# -- logging in with the number --------------------------------------------------------------
async def _login_user_of(ctx: Identity, projection: CustomerNumber) -> str | None:
    if not projection.company:
        return None
    for user_id in projection.login_candidates:
        user = await ctx.users.get(user_id, company_id=projection.company)
        if user is not None and user.status == "active":
            return user_id
    return None


async def login_user_id(ctx: Identity, number: str) -> str | None:
    """The account a customer number logs in: the holder company's designated user, else the
    user who linked the number as holder; with no holder yet, the account identity opened
    for the holder. Only active users of the holder company count."""
    projection = await ctx.customer_numbers.get(number)
    return None if projection is None else await _login_user_of(ctx, projection)


async def has_holder_account(ctx: Identity, number: str) -> bool:
    """Whether some company holds (or is about to hold) the number: then no new account is
    opened for it, whatever the state of that company's users."""
    projection = await ctx.customer_numbers.get(number)
    return projection is not None and projection.has_holder_account


# -- the company administrator's designation ---------------------------------------------------
async def held_numbers(cmd: ListHeldNumbers, ctx: Identity) -> list[NumberLogin]:
    """The company's numbers held as contract holder, each with the account that logs in
    with it (None when no active one does)."""
    return [n.login_by(await _login_user_of(ctx, n))
            for n in await ctx.customer_numbers.held_by(cmd.company_id)]


async def designate_login_user(cmd: DesignateLoginUser, ctx: Identity) -> NumberLogin:
    """A company administrator names the user of the company who logs in with the number."""
    company_id, number, user_id = cmd.company_id, cmd.number, cmd.user_id
    if await ctx.customer_numbers.get(number, holder=company_id) is None:
        raise NotFound(
            f"Your company does not hold customer number {number} as contract holder (a link "
            "made a moment ago may take a few seconds to show here).",
            slug="customer-number-not-held")
    user = await ctx.users.get(user_id, company_id=company_id)
    if user is None or user.status != "active":
        raise InvalidInput([{"field": "user_id", "rule": "active_user_of_company",
                             "message": "name an active user of your company"}])
    saved = await ctx.customer_numbers.change(number, lambda n: n.designate(company_id,
                                                                            user_id))
    if saved is None:
        raise NotFound(f"Your company no longer holds customer number {number}.",
                       slug="customer-number-not-held")
    return saved.login_by(user_id)
