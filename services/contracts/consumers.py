"""Events contracts consumes, declared in one table: the CRM's customer numbers and contracts
(CON-1) and identity's companies and users (a local projection for CON-5…CON-7). Each
subscription declares the data model; its handler receives it typed and calls a use case."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, EmailStr, Field

from services.contracts import events
from services.contracts.domain.commands import (
    ChangeReference,
    IssueCustomerNumber,
    LinkHolderAccount,
    OpenContractSpace,
    ProjectUser,
    PutContract,
)
from services.contracts.domain.customer_numbers import Contract
from services.contracts.handlers import Contracts
from services.contracts.handlers import customer_numbers as numbers
from services.contracts.handlers import permissions as people
from shared.bus import Handler, Subscription
from shared.events import CloudEvent, EventData

M = TypeVar("M", bound=BaseModel)


class CompanyRegistered(EventData):
    """What contracts reads of ``identity.company.registered.v1``."""

    company_id: str
    company_name: str
    admin_user_id: str | None = None
    admin_email: EmailStr | None = None
    admin_first_name: str | None = None
    admin_surname: str | None = None
    language: str | None = None


class UserActivated(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    first_name: str
    surname: str
    roles: list[str]
    parent_user_id: str | None = None
    language: str | None = None


class RoleChanged(EventData):
    user_id: str
    company_id: str
    email: EmailStr
    roles: list[str]
    permissions: list[str] = Field([])


class EmailChanged(EventData):
    user_id: str
    company_id: str
    new_email: EmailStr


class CustomerNumberClaimed(EventData):
    """What contracts reads of ``identity.customer_number.claimed.v1`` (seed 004)."""

    company_id: str
    user_id: str
    customer_number: str


class UserStatusChanged(EventData):
    user_id: str
    company_id: str
    email: EmailStr


async def company_registered(uow: Contracts, event: CloudEvent,
                             data: CompanyRegistered) -> None:
    await people.open_contract_space(OpenContractSpace(
        data.company_id, data.company_name, event.id), uow)
    if data.admin_user_id and data.admin_email:
        await _project(uow, event, data.admin_user_id, {
            "company_id": data.company_id, "email": data.admin_email,
            "first_name": data.admin_first_name, "surname": data.admin_surname,
            "language": data.language, "roles": ["company_admin"], "active": True})


async def user_activated(uow: Contracts, event: CloudEvent, data: UserActivated) -> None:
    await _project(uow, event, data.user_id, {
        "company_id": data.company_id, "email": data.email, "first_name": data.first_name,
        "surname": data.surname, "roles": data.roles, "parent_user_id": data.parent_user_id,
        "language": data.language, "active": True})


async def role_changed(uow: Contracts, event: CloudEvent, data: RoleChanged) -> None:
    await _project(uow, event, data.user_id, {
        "company_id": data.company_id, "roles": data.roles, "permissions": data.permissions})


async def email_changed(uow: Contracts, event: CloudEvent, data: EmailChanged) -> None:
    await _project(uow, event, data.user_id, {
        "company_id": data.company_id, "email": data.new_email})


async def user_deactivated(uow: Contracts, event: CloudEvent, data: UserStatusChanged) -> None:
    await _project(uow, event, data.user_id, {"company_id": data.company_id, "active": False})


async def user_reactivated(uow: Contracts, event: CloudEvent, data: UserStatusChanged) -> None:
    await _project(uow, event, data.user_id, {"company_id": data.company_id, "active": True})


async def _project(uow: Contracts, event: CloudEvent, user_id: str,
                   facts: dict[str, str | bool | list[str] | None]) -> None:
    await people.project_user(ProjectUser(
        user_id, facts, event_id=event.id, as_of=event.time.timestamp()), uow)


async def number_issued(uow: Contracts, event: CloudEvent,
                        data: events.CustomerNumberIssued) -> None:
    await numbers.issue_customer_number(IssueCustomerNumber(
        customer_number=data.customer_number, kind=data.kind, segment=data.segment,
        holder_name=data.holder_name, contact_email=data.contact_email,
        language=data.language, contracts=[_contract(c) for c in data.contracts],
        event_id=event.id), uow)


async def number_changed(uow: Contracts, event: CloudEvent,
                         data: events.CustomerNumberChanged) -> None:
    await numbers.change_reference(ChangeReference(
        customer_number=data.customer_number, holder_name=data.holder_name,
        contact_email=data.contact_email, language=data.language, event_id=event.id,
        as_of=event.time.timestamp()), uow)


async def number_claimed(uow: Contracts, event: CloudEvent,
                         data: CustomerNumberClaimed) -> None:
    await numbers.link_holder_account(LinkHolderAccount(
        company_id=data.company_id, user_id=data.user_id,
        customer_number=data.customer_number, event_id=event.id), uow)


def _contract(c: events.CrmContract) -> Contract:
    # Kept as the CRM sent it (dates as ISO strings).
    return Contract.model_validate(c.model_dump(mode="json"))


async def contract_put(uow: Contracts, event: CloudEvent, data: events.ContractEvent) -> None:
    await numbers.put_contract(PutContract(
        data.customer_number, _contract(data.contract), terminated=False,
        event_id=event.id), uow)


async def contract_terminated(uow: Contracts, event: CloudEvent,
                              data: events.ContractEvent) -> None:
    await numbers.put_contract(PutContract(
        data.customer_number, _contract(data.contract), terminated=True,
        event_id=event.id), uow)


def subscriptions(uow: Contracts | None) -> list[Subscription[Any]]:
    """The table; ``uow`` None lists the subscriptions only (the event catalogue)."""
    def bound(handle: Callable[[Contracts, CloudEvent, M], Awaitable[None]]) -> Handler[M]:
        async def handler(event: CloudEvent, data: M) -> None:
            if uow is None:
                raise RuntimeError("contracts' consumers run with the service's unit")
            await handle(uow, event, data)
        return handler

    return [
        Subscription("identity.company.registered.v1", CompanyRegistered,
                     bound(company_registered)),
        Subscription("identity.user.activated.v1", UserActivated, bound(user_activated)),
        Subscription("identity.user.role_changed.v1", RoleChanged, bound(role_changed)),
        Subscription("identity.email.changed.v1", EmailChanged, bound(email_changed)),
        Subscription("identity.user.deactivated.v1", UserStatusChanged,
                     bound(user_deactivated)),
        Subscription("identity.user.reactivated.v1", UserStatusChanged,
                     bound(user_reactivated)),
        Subscription(events.CUSTOMER_NUMBER_ISSUED.type, events.CustomerNumberIssued,
                     bound(number_issued)),
        Subscription(events.CUSTOMER_NUMBER_CHANGED.type, events.CustomerNumberChanged,
                     bound(number_changed)),
        Subscription("identity.customer_number.claimed.v1", CustomerNumberClaimed,
                     bound(number_claimed)),
        Subscription(events.CONTRACT_ADDED.type, events.ContractEvent, bound(contract_put)),
        Subscription(events.CONTRACT_CHANGED.type, events.ContractEvent, bound(contract_put)),
        Subscription(events.CONTRACT_TERMINATED.type, events.ContractEvent,
                     bound(contract_terminated)),
    ]
