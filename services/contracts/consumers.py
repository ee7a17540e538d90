"""Events contracts consumes, declared in one table: the CRM's customer numbers and contracts
(CON-1) and identity's companies and users (a local projection for CON-5…CON-7)."""

from __future__ import annotations

from pydantic import BaseModel, EmailStr

from services.contracts import events, handlers, holder_accounts
from services.contracts.handlers import PasswordPolicy
from services.contracts.store import ContractsStore
from shared.bus import Subscription
from shared.events import CloudEvent, EventData


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
    permissions: list[str] = []


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


def subscriptions(store: ContractsStore | None,
                  policy: PasswordPolicy | None = None) -> list[Subscription]:
    async def company_registered(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, CompanyRegistered)
        await handlers.open_contract_space(store, company_id=data.company_id,
                                           company_name=data.company_name, event_id=event.id)
        if data.admin_user_id and data.admin_email:
            await handlers.project_user(store, data.admin_user_id, {
                "company_id": data.company_id, "email": data.admin_email,
                "first_name": data.admin_first_name, "surname": data.admin_surname,
                "language": data.language, "roles": ["company_admin"], "active": True,
            }, event_id=event.id,
            as_of=event.time.timestamp())

    async def user_activated(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, UserActivated)
        await handlers.project_user(store, data.user_id, {
            **data.model_dump(exclude={"user_id"}), "active": True}, event_id=event.id,
            as_of=event.time.timestamp())

    async def role_changed(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, RoleChanged)
        await handlers.project_user(store, data.user_id, {
            "company_id": data.company_id, "roles": data.roles,
            "permissions": data.permissions}, event_id=event.id,
            as_of=event.time.timestamp())

    async def email_changed(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, EmailChanged)
        await handlers.project_user(store, data.user_id, {
            "company_id": data.company_id, "email": data.new_email}, event_id=event.id,
            as_of=event.time.timestamp())

    def status(active: bool):
        async def changed(event: CloudEvent, data: BaseModel) -> None:
            assert isinstance(data, UserStatusChanged)
            await handlers.project_user(store, data.user_id, {
                "company_id": data.company_id, "active": active}, event_id=event.id,
            as_of=event.time.timestamp())
        return changed

    async def number_issued(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, events.CustomerNumberIssued)
        await handlers.customer_number_issued(store, policy, data.model_dump(mode="json"),
                                              event_id=event.id)

    async def number_changed(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, events.CustomerNumberChanged)
        await holder_accounts.customer_number_changed(
            store, data.model_dump(mode="json"), event_id=event.id,
            as_of=event.time.timestamp())

    async def number_claimed(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, CustomerNumberClaimed)
        await holder_accounts.link_holder_account(
            store, company_id=data.company_id, user_id=data.user_id,
            number=data.customer_number, event_id=event.id)

    def contract(terminated: bool):
        async def changed(event: CloudEvent, data: BaseModel) -> None:
            assert isinstance(data, events.ContractEvent)
            await handlers.contract_event(store, data.model_dump(mode="json"),
                                          terminated=terminated, event_id=event.id)
        return changed

    return [
        Subscription("identity.company.registered.v1", CompanyRegistered, company_registered),
        Subscription("identity.user.activated.v1", UserActivated, user_activated),
        Subscription("identity.user.role_changed.v1", RoleChanged, role_changed),
        Subscription("identity.email.changed.v1", EmailChanged, email_changed),
        Subscription("identity.user.deactivated.v1", UserStatusChanged, status(False)),
        Subscription("identity.user.reactivated.v1", UserStatusChanged, status(True)),
        Subscription(events.CUSTOMER_NUMBER_ISSUED.type, events.CustomerNumberIssued,
                     number_issued),
        Subscription(events.CUSTOMER_NUMBER_CHANGED.type, events.CustomerNumberChanged,
                     number_changed),
        Subscription("identity.customer_number.claimed.v1", CustomerNumberClaimed,
                     number_claimed),
        Subscription(events.CONTRACT_ADDED.type, events.ContractEvent, contract(False)),
        Subscription(events.CONTRACT_CHANGED.type, events.ContractEvent, contract(False)),
        Subscription(events.CONTRACT_TERMINATED.type, events.ContractEvent, contract(True)),
    ]
