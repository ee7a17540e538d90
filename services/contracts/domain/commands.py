"""What contracts is asked to do: the commands its use cases take (``handlers``), built by
the HTTP routes and the consumers from what was sent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.contracts.domain.companies import UserFact
from services.contracts.domain.contacts import FieldValue
from services.contracts.domain.customer_numbers import Contract

# -- customer numbers from the CRM, support's new password, holder accounts --------------------

@dataclass(frozen=True)
class IssueCustomerNumber:
    customer_number: str
    kind: str
    segment: str
    holder_name: str
    contact_email: str
    language: str | None
    contracts: list[Contract]
    event_id: str


@dataclass(frozen=True)
class PutContract:
    """A contract added, changed or (``terminated``) terminated by the CRM."""

    customer_number: str
    contract: Contract
    terminated: bool
    event_id: str


@dataclass(frozen=True)
class ChangeReference:
    """The CRM changed a number's holder name, reference email address or language."""

    customer_number: str
    holder_name: str | None
    contact_email: str | None
    language: str | None
    event_id: str
    as_of: float


@dataclass(frozen=True)
class LinkHolderAccount:
    company_id: str
    user_id: str
    customer_number: str
    event_id: str


@dataclass(frozen=True)
class ReissuePassword:
    customer_number: str


# -- linking and unlinking ---------------------------------------------------------------------

@dataclass(frozen=True)
class LinkCustomerNumber:
    company_id: str
    user_id: str
    customer_number: str
    password: str
    link_type: str
    contract_id: str | None = None
    access_number: str | None = None


@dataclass(frozen=True)
class UnlinkCustomerNumber:
    company_id: str
    customer_number: str


# -- contract spaces, identity's users, transfers, sub-administrators --------------------------

@dataclass(frozen=True)
class OpenContractSpace:
    company_id: str
    company_name: str
    event_id: str


@dataclass(frozen=True)
class ProjectUser:
    """What an identity event tells about a user (a fact ``None``: not told)."""

    user_id: str
    facts: Mapping[str, UserFact]
    event_id: str
    as_of: float = 0.0


@dataclass(frozen=True)
class FindAdministrator:
    """Another company's master administrator, by email and a number their company linked."""

    company_id: str
    email: str
    customer_number: str
    kind: str


@dataclass(frozen=True)
class SaveTransfers:
    administrator: FindAdministrator
    contract_ids: list[str]


@dataclass(frozen=True)
class AssignContracts:
    """Contracts (each with rights, or None: every right held but commercial contact)."""

    company_id: str
    user_id: str
    contracts: list[tuple[str, list[str] | None]]


# -- authorised contacts -----------------------------------------------------------------------

@dataclass(frozen=True)
class AddContact:
    company_id: str
    user_id: str
    customer_number: str
    fields: Mapping[str, FieldValue]


@dataclass(frozen=True)
class ChangeContact:
    company_id: str
    user_id: str
    customer_number: str
    contact_id: str
    changes: Mapping[str, FieldValue]


@dataclass(frozen=True)
class WithdrawContact:
    company_id: str
    user_id: str
    customer_number: str
    contact_id: str
