"""Events identity consumes, declared in one table: its own queue of password reset requests,
resolved off the request so that known and unknown addresses cost the request the same, and of
login domain changes, whose usernames are moved off the request (ID-14)."""

from __future__ import annotations

from pydantic import BaseModel

from services.identity import events
from services.identity.handlers import Identity, account, login_domains
from shared.bus import Subscription
from shared.events import CloudEvent


def subscriptions(ctx: Identity | None) -> list[Subscription]:
    async def password_reset_asked(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, events.PasswordResetAsked) and ctx is not None
        await account.send_password_reset(ctx, event.id, data.request_id, str(data.email))

    async def login_domain_changed(event: CloudEvent, data: BaseModel) -> None:
        assert isinstance(data, events.LoginDomainChanged) and ctx is not None
        await login_domains.move_usernames(ctx, data.company_id, data.previous_login_domain)

    return [
        Subscription(events.PASSWORD_RESET_ASKED.type, events.PasswordResetAsked,
                     password_reset_asked),
        Subscription(events.LOGIN_DOMAIN_CHANGED.type, events.LoginDomainChanged,
                     login_domain_changed),
    ]
