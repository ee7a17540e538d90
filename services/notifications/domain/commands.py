"""What notifications is asked to do: the commands its use cases take."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outgoing:
    """One message an event asks for, before language, preferences and rendering."""

    kind: str
    address: str
    language: str | None = None
    # Kept in the delivery log and used again on a resend (only when the kind has no secret).
    values: dict[str, Any] = field(default_factory=dict)
    # Codes, passwords, token links: rendered into the message, never stored or logged.
    secrets: dict[str, str] = field(default_factory=dict)
    company_id: str | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class Deliver:
    """Send ``message`` for the event ``event_id``, once."""

    event_id: str
    event_type: str
    message: Outgoing


@dataclass(frozen=True)
class Resend:
    """Send the delivery ``delivery_id``'s message again as ``resend_id`` (asked by the event
    ``event_id``)."""

    event_id: str
    delivery_id: str
    resend_id: str


@dataclass(frozen=True)
class RequestResend:
    """Someone allowed to read the delivery asks for it to be sent again."""

    delivery_id: str
    requested_by: str
    company_id: str | None  # the asker's company
    every_company: bool  # a support client: reads every company's messages


@dataclass(frozen=True)
class RememberUser:
    user_id: str
    company_id: str
    email: str
    language: str | None


@dataclass(frozen=True)
class RememberCompany:
    company_id: str
    language: str


@dataclass(frozen=True)
class SetPreferences:
    user_id: str
    company_id: str
    email: bool
    sms: bool
