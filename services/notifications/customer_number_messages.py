"""Messages to a customer number's holder at the reference address the CRM holds for it
(seed 004): the link that sets the password of a holder without a login yet."""

from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr

from services.notifications.handlers import Notifications, Outgoing
from shared.events import EventData


class CustomerNumberAccessRequested(EventData):
    customer_number: str
    holder_name: str
    email: EmailStr
    language: str | None = None
    token: str
    expires_at: datetime


def _customer_number_access(ctx: Notifications, d: CustomerNumberAccessRequested) -> Outgoing:
    # No company or user yet: the account is opened only when the password is set.
    return Outgoing("customer_number_access", str(d.email), d.language,
                    values={"customer_number": d.customer_number, "holder_name": d.holder_name,
                            "expires_at": d.expires_at},
                    secrets={"link": ctx.token_link("customer_number_access", d.token)})


MESSAGES = [
    ("identity.customer_number_access.requested.v1", CustomerNumberAccessRequested,
     _customer_number_access),
]
