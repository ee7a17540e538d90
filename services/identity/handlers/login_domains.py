"""Company login domains (ID-14, seed 002 "admin@cégnév", "felhasználónév@cégnév").

A company's handle is claimed by a document ``domain:<handle>`` in the ``logins`` collection
(``company_id``, ``until``): the owner keeps it while it is the company's current handle or
``until`` lies ahead; after that the next company may take it over (compare-and-set on the
claim as read). A handle change moves the company's ``name@old`` usernames to ``name@new``
off the request (identity's own queue); the old ids stop working once moved, each moved user
is told, and the old handle stays the company's for ``login_domain_reserved_days``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from services.identity.domain import handles
from services.identity.domain import login_domains as rules
from services.identity.domain.commands import ChangeLoginDomain, MoveUsernames
from services.identity.domain.companies import Company
from services.identity.domain.errors import LoginDomainTaken, NotAllowed
from services.identity.domain.users import User
from services.identity.handlers import Identity, claim_login, release_login
from services.identity.store.login_domains import company_users_after
from shared.auth import COMPANY_ADMIN
from shared.errors import NotFound
from shared.logging import get_logger
from shared.ratelimit import DAY, Limit

log = get_logger("identity.login_domains")
PAGE = 200


def _reserved_seconds(ctx: Identity) -> float:
    return ctx.settings.login_domain_reserved_days * 86400


async def claim_domain(ctx: Identity, handle: str, company_id: str) -> bool:
    """Claim ``handle`` for the company (idempotent); False if another company holds it. A new
    claim holds for the reservation period even if the company never takes it up (a request
    that stopped half way), and for good once it is the company's handle."""
    claims = ctx.login_domains
    hold = time.time() + _reserved_seconds(ctx)
    if await claims.claim_free(handle, company_id, hold):
        return True
    held = await claims.get(handle)
    if held is None:
        return False
    if held.company_id == company_id:
        return True
    if (held.until or 0.0) > time.time():
        return False
    owner = await ctx.companies.get(held.company_id)
    if owner is not None and owner.login_domain == handle:
        return False
    return await claims.take_over(handle, held, company_id, hold)


async def _give_up(ctx: Identity, handle: str, company_id: str) -> None:
    """A claim this company made but will not use (its admin@ id was someone's already)."""
    company = await ctx.companies.get(company_id)
    if company is None or company.login_domain != handle:
        await ctx.login_domains.release(handle, company_id)


async def claim_for_registration(ctx: Identity, company_id: str, company_name: str,
                                 admin_user_id: str) -> tuple[str, str]:
    """The login domain proposed from the company name (a suffix when taken) and the master
    administrator's ``admin@<handle>``, both claimed; a repeated completion finds its own.
    Bounded: a fixed number of candidates, then a refusal."""
    existing = await ctx.companies.get(company_id)
    if existing is not None and existing.login_domain:
        return existing.login_domain, f"{handles.ADMIN}@{existing.login_domain}"
    for handle in handles.candidates(company_name):
        if not await claim_domain(ctx, handle, company_id):
            continue
        username = f"{handles.ADMIN}@{handle}"
        # A free-text username from before login domains existed may hold admin@<handle>.
        if await claim_login(ctx, f"username:{username}", admin_user_id, required=False):
            return handle, username
        await _give_up(ctx, handle, company_id)
    raise LoginDomainTaken("No login domain could be found for this company name; try again.")


async def login_domain_of(ctx: Identity, company_id: str) -> str:
    """The company's login domain; a company from before login domains gets one now."""
    company = await ctx.companies.get(company_id)
    if company is None:
        raise NotFound("No such company.")
    if company.login_domain:
        return company.login_domain
    for handle in handles.candidates(company.name):
        if await claim_domain(ctx, handle, company_id):
            break
    else:
        raise LoginDomainTaken("No login domain could be found for this company; set one.")
    saved = await _changed(ctx, company_id, lambda c: rules.assign_first(c, handle))
    if saved.login_domain != handle:
        await _give_up(ctx, handle, company_id)  # another request assigned one first
    return saved.login_domain or handle


async def _changed(ctx: Identity, company_id: str, change: Callable[[Company], None]
                   ) -> Company:
    saved = await ctx.companies.change(company_id, change)
    if saved is None:
        raise NotFound("No such company.")
    return saved


async def check_username(ctx: Identity, company_id: str, username: str,
                         roles: list[str]) -> str:
    """The username as it is stored (handle in lower case) if this company may give it: a
    ``name@handle`` only with its own handle, ``admin@`` only to a company administrator."""
    if handles.split(username)[1] is None:
        return username
    handles.check_username(username, await login_domain_of(ctx, company_id), roles)
    return handles.normalise_username(username)


# -- changing the handle ----------------------------------------------------------------------
async def change_login_domain(cmd: ChangeLoginDomain, ctx: Identity) -> Company:
    """A company administrator, confirming with the current password, gives the company a new
    login domain; the old one stays reserved for the company, its usernames move."""
    # Imported here: account imports this module for its username checks.
    from services.identity.handlers.account import confirm_current_password
    company_id, handle = cmd.company_id, cmd.login_domain
    actor = await ctx.users.get(cmd.actor_id, company_id=company_id)
    if actor is None or actor.status != "active" or COMPANY_ADMIN not in actor.roles:
        raise NotAllowed("Only a company administrator may change the login domain.")
    await confirm_current_password(ctx, actor, cmd.current_password)
    await ctx.limits.check(Limit("login-domain-changes-per-company",
                                 ctx.settings.login_domain_changes_per_company_per_day, DAY),
                           company_id, "Too many login domain changes today. Try again "
                                       "tomorrow.")
    old = await login_domain_of(ctx, company_id)
    if handle != old and not await claim_domain(ctx, handle, company_id):
        raise LoginDomainTaken("Another company uses or reserved this login domain. Choose "
                               "another one.", errors=[{
                                   "field": "login_domain", "rule": "available",
                                   "message": "another company uses or reserved it"}])
    now = time.time()
    until = now + _reserved_seconds(ctx)
    if handle != old:
        # Reserved before the company lets go of it, so nobody can take it in between.
        await ctx.login_domains.hold_until(old, company_id, until)
    return await _changed(ctx, company_id, lambda c: rules.change_login_domain(
        c, handle, now=now, reserved_until=until))


async def move_usernames(cmd: MoveUsernames, ctx: Identity) -> None:
    """``name@previous`` → ``name@<current handle>`` for every user of the company, in pages.
    Read the current handle now, so that events of several quick changes, in any order, end
    at the last one; a repeated event finds the users moved and only drops old claims left."""
    company_id, previous = cmd.company_id, cmd.previous
    company = await ctx.companies.get(company_id)
    if company is None or not previous or company.login_domain in (None, previous):
        return
    current = company.login_domain
    after: str | None = None
    while True:
        page = await company_users_after(ctx.store.users.collection, company_id, after, PAGE)
        for user in page:
            await _move_username(ctx, user, previous, current)
        if len(page) < PAGE:
            return
        after = page[-1].id


async def _move_username(ctx: Identity, user: User, previous: str, current: str) -> None:
    username = user.username
    if not username:
        return
    name, domain = handles.split(username)
    old_key = f"username:{name.lower()}@{previous}"
    if domain == current:
        await release_login(ctx, old_key, user.id)   # a repeated event: finish the move
        return
    if domain != previous:
        return
    new = handles.with_domain(username, current)
    new_key = f"username:{new.lower()}"
    if not await claim_login(ctx, new_key, user.id, required=False):
        # Only a username from before login domains can hold it; this user keeps the old id
        # (still theirs while the old handle is reserved) and the administrator sees it.
        log.warning("username_not_moved", user_id=user.id, company_id=user.company_id)
        return
    saved = await ctx.users.change(user.id, lambda u: rules.move_username(u, username, new))
    if saved is not None and saved.username == new:
        await release_login(ctx, old_key, user.id)
    else:
        await release_login(ctx, new_key, user.id)
