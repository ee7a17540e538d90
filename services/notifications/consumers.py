"""Events notifications consumes, declared in one table: each message-bearing event becomes
its messages (NOT-1, ``outgoing.MESSAGES``); identity's user and company events keep the
projections that choose the language (NOT-2) and find a recipient's preferences."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from services.notifications import handlers
from services.notifications.consumed import (
    CompanyRegistered,
    CompanySettingsChanged,
    EmailChanged,
    ResendRequested,
    UserActivated,
)
from services.notifications.domain.commands import (
    Deliver,
    RememberCompany,
    RememberUser,
    Resend,
)
from services.notifications.handlers import Notifications
from services.notifications.outgoing import MESSAGES, Message
from shared.bus import Subscription
from shared.events import CloudEvent, EventData

D = TypeVar("D", bound=EventData)
EMAIL_CHANGED = "identity.email.changed.v1"


def subscriptions(uow: Notifications | None) -> list[Subscription[Any]]:
    """Every consumed type with its data model and handler; ``None``: the table only, to
    list what is consumed (the event catalogue), its handlers not to be called."""
    def ready() -> Notifications:
        if uow is None:
            raise RuntimeError("a subscription listed without its unit was called")
        return uow

    def sending(etype: str, messages: list[Message[D]]
                ) -> Callable[[CloudEvent, D], Awaitable[None]]:
        async def handle(event: CloudEvent, data: D) -> None:
            for message in messages:  # each delivery is idempotent on (event, channel, address)
                out = message.compose(ready(), data)
                if out is None:
                    continue
                out.company_id = out.company_id or event.companyid
                await handlers.deliver(Deliver(event.id, etype, out), ready())
        return handle

    by_type: dict[str, list[Message[Any]]] = {}
    for message in MESSAGES:
        by_type.setdefault(message.event_type, []).append(message)
    send = {etype: sending(etype, messages) for etype, messages in by_type.items()}

    async def company_registered(event: CloudEvent, data: CompanyRegistered) -> None:
        await handlers.remember_company(RememberCompany(data.company_id, data.language),
                                        ready())
        await handlers.remember_user(RememberUser(
            data.admin_user_id, data.company_id, str(data.admin_email), data.language), ready())

    async def company_settings_changed(event: CloudEvent, data: CompanySettingsChanged) -> None:
        await handlers.remember_company(RememberCompany(data.company_id, data.language),
                                        ready())

    async def user_activated(event: CloudEvent, data: UserActivated) -> None:
        await handlers.remember_user(RememberUser(
            data.user_id, data.company_id, str(data.email), data.language), ready())

    async def email_changed(event: CloudEvent, data: EmailChanged) -> None:
        await handlers.remember_user(RememberUser(
            data.user_id, data.company_id, str(data.new_email), None), ready())
        await send[EMAIL_CHANGED](event, data)

    async def resend_requested(event: CloudEvent, data: ResendRequested) -> None:
        await handlers.resend(Resend(event.id, data.delivery_id, data.resend_id), ready())

    return [
        *(Subscription(etype, by_type[etype][0].model,
                       email_changed if etype == EMAIL_CHANGED else handle)
          for etype, handle in send.items()),
        Subscription("identity.company.registered.v1", CompanyRegistered, company_registered),
        Subscription("identity.company.settings_changed.v1", CompanySettingsChanged,
                     company_settings_changed),
        Subscription("identity.user.activated.v1", UserActivated, user_activated),
        Subscription("notifications.resend.requested.v1", ResendRequested, resend_requested),
    ]
