"""Rights a company passes on: to another company's master administrator (CON-5, a transfer)
and to its own sub-administrators (CON-6, an assignment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from services.contracts.domain.customer_numbers import CustomerNumber
from services.contracts.domain.model import Aggregate, Record


class TransferredContract(Record):
    contract_id: str
    customer_number: str


@dataclass(frozen=True)
class Transferable:
    """An active landline contract the giving company holds as contract holder."""

    contract_id: str
    customer_number: str
    product: str
    access_number: str | None


def transferable(numbers: list[CustomerNumber], company_id: str) -> dict[str, Transferable]:
    """Active landline contracts the company holds as contract holder, by contract id."""
    out = {}
    for n in numbers:
        if n.holder_company_id != company_id or n.kind != "landline":
            continue
        for c in n.contracts:
            if c.active:
                out[c.contract_id] = Transferable(c.contract_id, n.id, c.product,
                                                  c.access_number)
    return out


@dataclass(frozen=True)
class RightsTransferred:
    contract: Transferable
    to_company_id: str


@dataclass(frozen=True)
class RightsRevoked:
    contract_id: str
    customer_number: str
    to_company_id: str


TransferEvent = RightsTransferred | RightsRevoked


class PermissionTransfer(Aggregate):
    """The contracts one company transferred to one other master administrator;
    ``_id`` = "<from company>:<user>"."""

    id: str = Field(alias="_id")
    from_company_id: str
    to_company_id: str
    to_user_id: str
    contracts: list[TransferredContract] = Field(default_factory=list)
    to_email: str | None = None
    language: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def start(cls, *, from_company_id: str, to_company_id: str,
              to_user_id: str) -> PermissionTransfer:
        return cls(id=f"{from_company_id}:{to_user_id}", from_company_id=from_company_id,
                   to_company_id=to_company_id, to_user_id=to_user_id, contracts=[])

    @property
    def contract_ids(self) -> set[str]:
        return {c.contract_id for c in self.contracts}

    def tick(self, ticked: list[Transferable], *, to_company_id: str, to_email: str,
             language: str, now: datetime) -> None:
        """Ticked contracts are transferred, unticked ones revoked; one event per change."""
        before = {c.contract_id: c for c in self.contracts}
        after = {c.contract_id: c for c in ticked}
        self.to_email, self.language = to_email, language
        self.contracts = [TransferredContract(contract_id=c.contract_id,
                                              customer_number=c.customer_number)
                          for c in after.values()]
        self.updated_at = now
        for cid in after.keys() - before.keys():
            self.record(RightsTransferred(after[cid], to_company_id))
        for cid in before.keys() - after.keys():
            self.record(RightsRevoked(cid, before[cid].customer_number, to_company_id))


class AssignedContract(Record):
    contract_id: str
    rights: list[str]


class SubAdminAssignment(Aggregate):
    """The contracts (and rights on each) a sub-administrator may see and manage;
    ``_id`` = "<company>:<user>"."""

    id: str = Field(alias="_id")
    company_id: str
    user_id: str
    contracts: list[AssignedContract] = Field(default_factory=list)
    updated_at: datetime | None = None

    @classmethod
    def start(cls, company_id: str, user_id: str) -> SubAdminAssignment:
        return cls(id=f"{company_id}:{user_id}", company_id=company_id, user_id=user_id,
                   contracts=[])

    def assign(self, contracts: list[AssignedContract], now: datetime) -> None:
        self.contracts = list(contracts)
        self.updated_at = now
