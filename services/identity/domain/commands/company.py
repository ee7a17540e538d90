"""Commands of the company: its profile, settings and login domain, its customer numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


# -- the company (ID-13, ID-14) --------------------------------------------------------------
@dataclass(frozen=True)
class ReadCompany:
    company_id: str


@dataclass(frozen=True)
class ChangeLoginDomain:
    company_id: str
    actor_id: str
    login_domain: str
    current_password: str


@dataclass(frozen=True)
class MoveUsernames:
    """The company's login domain changed from ``previous``: move its usernames."""

    company_id: str
    previous: str | None


@dataclass(frozen=True)
class ReplaceCompanyProfile:
    company_id: str
    profile: dict[str, Any]


@dataclass(frozen=True)
class ChangeCompanySettings:
    """Only the settings named in ``changes`` change."""

    company_id: str
    changes: dict[str, Any]


# -- customer numbers (seed 004) -------------------------------------------------------------
@dataclass(frozen=True)
class ListHeldNumbers:
    company_id: str


@dataclass(frozen=True)
class DesignateLoginUser:
    company_id: str
    number: str
    user_id: str


@dataclass(frozen=True)
class RequestCustomerNumberAccess:
    number: str
    client_ip: str


@dataclass(frozen=True)
class SendCustomerNumberAccess:
    """The queued request ``request_id`` resolved, applying the event ``event_id`` once."""

    event_id: str
    request_id: str
    number: str


@dataclass(frozen=True)
class RecordCrmReference:
    """The CRM issued a number or changed it (only the fields in ``data`` change)."""

    event_id: str
    as_of: float
    number: str
    data: dict[str, Any]


@dataclass(frozen=True)
class LinkHolder:
    event_id: str
    as_of: float
    number: str
    company_id: str
    link_type: str
    linked_by: str | None = None


@dataclass(frozen=True)
class UnlinkHolder:
    event_id: str
    as_of: float
    number: str
    company_id: str
