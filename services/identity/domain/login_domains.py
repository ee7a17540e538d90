"""A company's login domain changes (ID-14): the previous one stays reserved for the company
for a while, and the company's ``name@previous`` usernames move to the new one. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime

from services.identity.domain.companies import Company, FormerLoginDomain
from services.identity.domain.users import User
from services.identity.events import (
    LOGIN_DOMAIN_CHANGED,
    USERNAME_CHANGED,
    LoginDomainChanged,
    UsernameChanged,
)


def assign_first(company: Company, handle: str) -> None:
    """A company from before login domains gets ``handle``, unless it got one meanwhile."""
    if not company.login_domain:
        company.login_domain = handle


def change_login_domain(company: Company, handle: str, *, now: float,
                        reserved_until: float) -> None:
    """Give the company ``handle``; its previous one stays reserved for it until
    ``reserved_until``; records ``LoginDomainChanged`` (nothing when it is the current one)."""
    previous = company.login_domain
    if previous == handle:
        return
    former = [f for f in company.former_login_domains
              if f.login_domain != handle and f.until > now]
    if previous:
        former.append(FormerLoginDomain(login_domain=previous, until=reserved_until))
    company.login_domain = handle
    company.former_login_domains = former
    company.record(LOGIN_DOMAIN_CHANGED, LoginDomainChanged(
        company_id=company.id, login_domain=handle, previous_login_domain=previous,
        previous_reserved_until=datetime.fromtimestamp(reserved_until, UTC)
        if previous else None))


def move_username(user: User, old: str, new: str) -> None:
    """``old`` (``name@previous``) becomes ``new``; an active user is told
    (``UsernameChanged``). Nothing when the user's username is not ``old`` any more."""
    if user.username != old:
        return
    user.username = new
    if user.status == "active":
        user.record(USERNAME_CHANGED, UsernameChanged(
            user_id=user.id, company_id=user.company_id, email=user.email, username=new,
            language=user.language))

