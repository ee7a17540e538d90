"""Events contracts consumes, declared in one table."""

from __future__ import annotations

from pydantic import BaseModel

from services.contracts import handlers
from services.contracts.store import ContractsStore
from shared.bus import Subscription
from shared.events import CloudEvent, EventData


class CompanyRegistered(EventData):
    """What contracts reads of ``identity.company.registered.v1``."""

    company_id: str
    company_name: str


def subscriptions(store: ContractsStore | None) -> list[Subscription]:
    async def company_registered(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, CompanyRegistered)
        await handlers.open_contract_space(store, company_id=data.company_id,
                                           company_name=data.company_name, event_id=event.id)

    return [
        Subscription("identity.company.registered.v1", CompanyRegistered, company_registered),
    ]
