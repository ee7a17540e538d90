"""Events identity consumes, declared in one table: its own queue of password reset requests,
resolved off the request so that known and unknown addresses cost the request the same, and of
login domain changes, whose usernames are moved off the request (ID-14); and the projection of
customer numbers (the CRM's reference address, contracts' holder links) that lets a contract
holder log in with the customer number (seed 004)."""

from __future__ import annotations

from typing import Any

from pydantic import EmailStr

from services.identity import events
from services.identity.domain import commands
from services.identity.handlers import (
    Identity,
    account,
    customer_number_access,
    customer_numbers,
    login_domains,
    password_reset_codes,
)
from shared.bus import Subscription
from shared.events import CloudEvent, EventData


# -- what identity reads of the CRM's and contracts' customer-number events (seed 004) ---------
class CrmCustomerNumber(EventData):
    """``crm.customer_number.issued.v1`` and ``.changed.v1``: the holder and the reference
    address the "forgot password" link goes to (changed: only the fields sent)."""

    customer_number: str
    kind: str | None = None
    segment: str | None = None
    holder_name: str | None = None
    contact_email: EmailStr | None = None
    language: str | None = None


class CustomerNumberLinked(EventData):
    company_id: str
    customer_number: str
    link_type: str
    linked_by: str | None = None


class CustomerNumberUnlinked(EventData):
    company_id: str
    customer_number: str


def subscriptions(ctx: Identity | None) -> list[Subscription[Any]]:
    """The table, bound to the unit (``None``: listed for the event catalogue only)."""
    def unit() -> Identity:
        if ctx is None:
            raise RuntimeError("identity's consumers were listed without a unit to run with")
        return ctx

    async def password_reset_asked(event: CloudEvent, data: events.PasswordResetAsked) -> None:
        await account.send_password_reset(
            commands.SendPasswordReset(event.id, data.request_id, str(data.email)), unit())

    async def password_reset_code_asked(event: CloudEvent,
                                        data: events.PasswordResetCodeAsked) -> None:
        await password_reset_codes.send_reset_code(
            commands.SendResetCode(event.id, data.request_id, data.login, data.channel), unit())

    async def login_domain_changed(event: CloudEvent, data: events.LoginDomainChanged) -> None:
        await login_domains.move_usernames(
            commands.MoveUsernames(data.company_id, data.previous_login_domain), unit())

    async def customer_number_access_asked(event: CloudEvent,
                                           data: events.CustomerNumberAccessAsked) -> None:
        await customer_number_access.send_access_link(commands.SendCustomerNumberAccess(
            event.id, data.request_id, data.customer_number), unit())

    async def crm_customer_number(event: CloudEvent, data: CrmCustomerNumber) -> None:
        await customer_numbers.crm_reference(commands.RecordCrmReference(
            event.id, event.time.timestamp(), data.customer_number,
            data.model_dump(mode="json")), unit())

    async def customer_number_linked(event: CloudEvent, data: CustomerNumberLinked) -> None:
        await customer_numbers.holder_linked(commands.LinkHolder(
            event.id, event.time.timestamp(), data.customer_number, data.company_id,
            data.link_type, data.linked_by), unit())

    async def customer_number_unlinked(event: CloudEvent, data: CustomerNumberUnlinked) -> None:
        await customer_numbers.holder_unlinked(commands.UnlinkHolder(
            event.id, event.time.timestamp(), data.customer_number, data.company_id), unit())

    return [
        Subscription(events.PASSWORD_RESET_ASKED.type, events.PasswordResetAsked,
                     password_reset_asked),
        Subscription(events.PASSWORD_RESET_CODE_ASKED.type, events.PasswordResetCodeAsked,
                     password_reset_code_asked),
        Subscription(events.LOGIN_DOMAIN_CHANGED.type, events.LoginDomainChanged,
                     login_domain_changed),
        Subscription(events.CUSTOMER_NUMBER_ACCESS_ASKED.type, events.CustomerNumberAccessAsked,
                     customer_number_access_asked),
        Subscription("crm.customer_number.issued.v1", CrmCustomerNumber, crm_customer_number),
        Subscription("crm.customer_number.changed.v1", CrmCustomerNumber, crm_customer_number),
        Subscription("contracts.customer_number.linked.v1", CustomerNumberLinked,
                     customer_number_linked),
        Subscription("contracts.customer_number.unlinked.v1", CustomerNumberUnlinked,
                     customer_number_unlinked),
    ]
