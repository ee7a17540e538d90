"""notifications' problems: what the delivery log refuses, each with its own type."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, NotFound


class OtherCompany(Forbidden):
    slug = "other-company"

    def __init__(self) -> None:
        super().__init__("Company administrators see only their own company's messages.")


class DeliveryNotFound(NotFound):
    slug = "delivery-not-found"

    def __init__(self) -> None:
        super().__init__("No such message in your delivery log.")


class MessageCarriedASecret(Conflict):
    slug, title = "message-carried-a-secret", "A new code must be requested"

    def __init__(self) -> None:
        super().__init__(
            "This message carried a one-time code or link, which is never kept and can "
            "not be sent again. Ask for a new one instead: the user requests a new code, "
            "password reset link or invitation in the portal.")


class RecipientOptedOut(Conflict):
    slug, title = "recipient-opted-out", "Recipient opted out"

    def __init__(self) -> None:
        super().__init__("The recipient opted out of this kind of message.")


class DeliveryInProgress(Conflict):
    slug, title = "delivery-in-progress", "Delivery in progress"

    def __init__(self) -> None:
        super().__init__("The message is still being delivered; wait for its outcome.")
