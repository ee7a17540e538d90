"""Events contracts publishes, the schemas of the CRM's events contracts owns the contract for
(``EXTERNAL``), and the envelopes built from the domain events an aggregate recorded (the store
saves them with it)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import EmailStr, Field

from services.contracts.domain.customer_numbers import (
    CustomerNumber,
    Link,
    LinkChanged,
    LinkDeleted,
    PasswordIssued,
)
from services.contracts.domain.model import Aggregate
from services.contracts.domain.permissions import (
    PermissionTransfer,
    RightsRevoked,
    RightsTransferred,
)
from services.contracts.domain.rights import TRANSFERABLE_RIGHTS
from shared.events import EventData, EventSpec, make_event

SOURCE = "/services/contracts"
Kind = Literal["landline", "mobile"]
Segment = Literal["business", "private"]


class CrmContract(EventData):
    contract_id: str = Field(min_length=1)
    product: str = Field(min_length=1)
    segment: Segment
    access_number: str | None = None
    status: Literal["active", "terminated"] = "active"
    started_on: date | None = None
    terminated_on: date | None = None


class CustomerNumberIssued(EventData):
    customer_number: str = Field(min_length=1)
    kind: Kind
    segment: Segment
    holder_name: str
    contact_email: EmailStr
    language: str = "de"
    contracts: list[CrmContract] = Field([])


class CustomerNumberChanged(EventData):
    """The CRM changed what it holds about a number's holder (seed 004): only the fields sent
    change; the next one-time-password email uses them."""

    customer_number: str = Field(min_length=1)
    holder_name: str | None = Field(None, min_length=1)
    contact_email: EmailStr | None = None
    language: str | None = None


class ContractEvent(EventData):
    customer_number: str = Field(min_length=1)
    contract: CrmContract


class OneTimePasswordIssued(EventData):
    customer_number: str
    kind: Kind
    holder_name: str
    contact_email: EmailStr
    language: str
    one_time_password: str
    expires_at: datetime
    # The configured validity (ISO 8601 duration, e.g. P10D): the email states it (ID-2).
    valid_for: timedelta | None = None


class CustomerNumberLinked(EventData):
    company_id: str
    customer_number: str
    kind: Kind
    link_type: Literal["holder", "user"]
    contract_ids: list[str]
    access_numbers: list[str]
    # The user whose account made the link: identity lets a holder link's user log in with
    # the customer number (seed 004, ID-14).
    linked_by: str | None = None


class CustomerNumberUnlinked(EventData):
    company_id: str
    customer_number: str
    kind: Kind
    link_type: Literal["holder", "user"] = "holder"


class PermissionsTransferred(EventData):
    from_company_id: str
    to_company_id: str
    to_user_id: str | None = None
    to_admin_email: EmailStr
    customer_number: str
    contract_id: str
    product: str | None = None
    access_number: str | None = None
    # Every right of the contract except "commercial_contact" (CON-5).
    rights: list[str]
    language: str = "de"


class PermissionsRevoked(EventData):
    from_company_id: str
    to_company_id: str
    to_user_id: str | None = None
    customer_number: str
    contract_id: str


_CN = {"customer_number": "1234567890"}
_CONTRACT = {"contract_id": "K-1", "product": "CompanyFlex", "segment": "business",
             "access_number": "+4930123456", "status": "active", "started_on": "2024-01-01"}

CUSTOMER_NUMBER_ISSUED = EventSpec(
    "crm.customer_number.issued.v1", CustomerNumberIssued, "CRM",
    "The CRM issued a customer number with its contracts (CON-1).",
    example={**_CN, "kind": "landline", "segment": "business", "holder_name": "Muster GmbH",
             "contact_email": "it@muster.example", "language": "de", "contracts": [_CONTRACT]})
CUSTOMER_NUMBER_CHANGED = EventSpec(
    "crm.customer_number.changed.v1", CustomerNumberChanged, "CRM",
    "The CRM changed a customer number's holder name or contact (reference) email address: "
    "the next one-time-password email and a forgotten-password link go there (seed 004).",
    example={**_CN, "holder_name": "Muster & Söhne GmbH",
             "contact_email": "office@muster.example", "language": "de"})
CONTRACT_ADDED = EventSpec(
    "crm.contract.added.v1", ContractEvent, "CRM",
    "A contract was added under a customer number (CON-1).",
    example={**_CN, "contract": {**_CONTRACT, "contract_id": "K-2", "product": "Cloud PBX"}})
CONTRACT_CHANGED = EventSpec(
    "crm.contract.changed.v1", ContractEvent, "CRM",
    "A contract's product, segment or access number changed (CON-1).",
    example={**_CN, "contract": {**_CONTRACT, "product": "SIP Trunk"}})
CONTRACT_TERMINATED = EventSpec(
    "crm.contract.terminated.v1", ContractEvent, "CRM",
    "A contract was terminated (CON-1, CON-3 stale links).",
    example={**_CN, "contract": {**_CONTRACT, "status": "terminated",
                                 "terminated_on": "2026-10-31"}})
OTP_ISSUED = EventSpec(
    "contracts.one_time_password.issued.v1", OneTimePasswordIssued, "contracts",
    "A customer number got a one-time password, valid for the configured time (10 days by "
    "default; valid_for): send the access email (CON-1).",
    example={**_CN, "kind": "landline", "holder_name": "Muster GmbH",
             "contact_email": "it@muster.example", "language": "de",
             "one_time_password": "…", "expires_at": "2026-12-01T10:00:00Z",
             "valid_for": "P10D"})
LINKED = EventSpec(
    "contracts.customer_number.linked.v1", CustomerNumberLinked, "contracts",
    "A company linked a customer number, or the contracts under a linked number changed "
    "(CON-2, CON-3): billing may bill to the active contracts listed.",
    example={"company_id": "0f3a6c2e-1d4b-4e8a-9b7c-2a5d8e1f3c40", **_CN, "kind": "landline",
             "link_type": "holder", "contract_ids": ["K-1"], "access_numbers": ["+4930123456"],
             "linked_by": "5b1e0c1a-7f0e-4a51-9c43-6f7d2c8b9e10"})
UNLINKED = EventSpec(
    "contracts.customer_number.unlinked.v1", CustomerNumberUnlinked, "contracts",
    "A company's link to a customer number was deleted (CON-3).",
    example={"company_id": "0f3a6c2e-1d4b-4e8a-9b7c-2a5d8e1f3c40", **_CN, "kind": "landline",
             "link_type": "holder"})
PERMISSIONS_TRANSFERRED = EventSpec(
    "contracts.permissions.transferred.v1", PermissionsTransferred, "contracts",
    "Rights for a contract were transferred to another master administrator (CON-5).",
    example={"from_company_id": "c-1", "to_company_id": "c-2", "to_user_id": "u-2",
             "to_admin_email": "admin@other.example", **_CN, "contract_id": "K-1",
             "product": "CompanyFlex", "access_number": "+4930123456",
             "rights": ["view", "order", "cancel", "technical_change", "billing_question"],
             "language": "de"})
PERMISSIONS_REVOKED = EventSpec(
    "contracts.permissions.revoked.v1", PermissionsRevoked, "contracts",
    "A transfer of rights was revoked by removing the tick (CON-5).",
    example={"from_company_id": "c-1", "to_company_id": "c-2", "to_user_id": "u-2", **_CN,
             "contract_id": "K-1"})

PUBLISHED = [OTP_ISSUED, LINKED, UNLINKED, PERMISSIONS_TRANSFERRED, PERMISSIONS_REVOKED]
EXTERNAL = [CUSTOMER_NUMBER_ISSUED, CUSTOMER_NUMBER_CHANGED, CONTRACT_ADDED, CONTRACT_CHANGED,
            CONTRACT_TERMINATED]


# -- envelopes of the domain events ----------------------------------------------------------
Envelope = dict[str, Any]


def envelopes(aggregate: Aggregate, recorded: list[object]) -> list[Envelope]:
    """The envelopes of what ``aggregate``'s changes caused, in the order they happened."""
    out: list[Envelope] = []
    for event in recorded:
        if isinstance(aggregate, CustomerNumber):
            if isinstance(event, PasswordIssued):
                out.append(password_issued(aggregate, event.password))
            elif isinstance(event, LinkChanged):
                out.append(linked(aggregate, event.link))
            elif isinstance(event, LinkDeleted):
                out.append(unlinked(aggregate, event))
            else:
                raise TypeError(f"no envelope for {type(event).__name__}")
        elif isinstance(aggregate, PermissionTransfer):
            if isinstance(event, RightsTransferred):
                out.append(rights_transferred(aggregate, event))
            elif isinstance(event, RightsRevoked):
                out.append(rights_revoked(aggregate, event))
            else:
                raise TypeError(f"no envelope for {type(event).__name__}")
        else:
            raise TypeError(f"{type(aggregate).__name__} publishes no events")
    return out


def _event(spec: EventSpec, data: dict[str, Any], *, subject: str,
           company_id: str | None = None) -> Envelope:
    return make_event(spec, data, source=SOURCE, subject=subject, company_id=company_id)


def password_issued(number: CustomerNumber, password: str) -> Envelope:
    otp = number.otp
    if otp is None:
        raise ValueError("no password to announce")
    return _event(OTP_ISSUED, {
        "customer_number": number.id, "kind": number.kind, "holder_name": number.holder_name,
        "contact_email": number.contact_email, "language": number.language,
        "one_time_password": password, "expires_at": otp.expires_at,
        # The configured validity: the access email states it (ID-2).
        "valid_for": otp.expires_at - otp.issued_at if otp.issued_at else None},
        subject=number.id)


def linked(number: CustomerNumber, link: Link) -> Envelope:
    active = [c for c in number.covered_contracts(link) if c.active]
    return _event(LINKED, {
        "company_id": link.company_id, "customer_number": number.id, "kind": number.kind,
        "link_type": link.link_type, "contract_ids": [c.contract_id for c in active],
        "access_numbers": [c.access_number for c in active if c.access_number],
        "linked_by": link.linked_by},
        subject=number.id, company_id=link.company_id)


def unlinked(number: CustomerNumber, event: LinkDeleted) -> Envelope:
    return _event(UNLINKED, {
        "company_id": event.company_id, "customer_number": number.id, "kind": number.kind,
        "link_type": event.link_type}, subject=number.id, company_id=event.company_id)


def rights_transferred(transfer: PermissionTransfer, event: RightsTransferred) -> Envelope:
    c = event.contract
    return _event(PERMISSIONS_TRANSFERRED, {
        "from_company_id": transfer.from_company_id, "to_company_id": event.to_company_id,
        "to_user_id": transfer.to_user_id, "to_admin_email": transfer.to_email,
        "customer_number": c.customer_number, "contract_id": c.contract_id,
        "product": c.product, "access_number": c.access_number,
        "rights": list(TRANSFERABLE_RIGHTS), "language": transfer.language},
        subject=c.customer_number, company_id=transfer.from_company_id)


def rights_revoked(transfer: PermissionTransfer, event: RightsRevoked) -> Envelope:
    return _event(PERMISSIONS_REVOKED, {
        "from_company_id": transfer.from_company_id, "to_company_id": event.to_company_id,
        "to_user_id": transfer.to_user_id, "customer_number": event.customer_number,
        "contract_id": event.contract_id},
        subject=event.customer_number, company_id=transfer.from_company_id)
