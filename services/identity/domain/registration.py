"""Registration, email first (ID-1): the pending registration and the data it needs."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints

from services.identity.domain.aggregate import Aggregate
from services.identity.domain.errors import LinkExpired, RegistrationAlreadyCompleted
from services.identity.events import REGISTRATION_STARTED, RegistrationStarted
from shared.phones import normalize_phone

Language = Literal["de", "en", "hu"]


def e164(value: str) -> str:
    """A phone number in E.164, one its numbering plan assigns; national numbers are read as
    Hungarian (ID-6). Refused: ``InvalidPhoneNumber``, a ValueError."""
    return normalize_phone(value, "HU", valid=True)


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Phone = Annotated[str, AfterValidator(e164)]


# An example password the API document shows (valid for the password rules).
EXAMPLE_PASSWORD = "Nordwind!2024Kiefer"


def normalise_email(email: str) -> str:
    return email.strip().lower()


class Registration(Aggregate):
    """A registration started with an email address, waiting for its link to be followed and
    the form completed (ID-1). Its user and company ids are fixed when it starts, so that
    completing it again after a failure continues where it stopped."""

    email: str
    language: str
    token_hash: str
    status: Literal["pending", "completed"] = "pending"
    created_at: datetime
    expires_at: datetime
    user_id: str
    company_id: str
    completed_at: datetime | None = None

    @classmethod
    def start(cls, email: str, language: str, token: str, token_hash: str, now: datetime,
              valid_for: timedelta) -> Registration:
        """A new registration; records ``RegistrationStarted`` carrying the link's secret."""
        registration = cls.model_validate({
            "_id": str(uuid.uuid4()), "email": normalise_email(email), "language": language,
            "token_hash": token_hash, "status": "pending", "created_at": now,
            "expires_at": now + valid_for, "user_id": str(uuid.uuid4()),
            "company_id": str(uuid.uuid4())})
        registration.record(REGISTRATION_STARTED, RegistrationStarted(
            registration_id=registration.id, email=registration.email, language=language,
            token=token, expires_at=registration.expires_at))
        return registration

    def check_can_complete(self, now: datetime) -> None:
        if self.status == "completed":
            raise RegistrationAlreadyCompleted("Log in with the account you created.")
        expires_at = self.expires_at
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= now:
            raise LinkExpired("Start the registration again to get a new link.")

    def complete(self, now: datetime) -> None:
        self.status = "completed"
        self.completed_at = now


LOGIN_ID = re.compile(r"^[^@\s]+@[^@\s]+$")
