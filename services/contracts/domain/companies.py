"""What contracts knows of identity's companies and users: each company's contract space, and
its users projected from identity's events (CON-5 search, CON-6, CON-7)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import Field

from services.contracts.domain import errors
from services.contracts.domain.model import Aggregate

UserFact = str | bool | list[str] | None


class ContractSpace(Aggregate):
    """The company's contract space, opened once when identity registers the company."""

    id: str = Field(alias="_id")
    company_id: str
    company_name: str
    customer_numbers: list[str] = Field(default_factory=list)
    opened_at: datetime
    opened_by_event: str | None = None


class ProjectedUser(Aggregate):
    """identity's user as this service needs it. Each field keeps the value of the newest
    event that set it (``field_as_of``): an older event retried late does not undo it."""

    id: str = Field(alias="_id")
    user_id: str = ""
    company_id: str = ""
    email: str = ""
    first_name: str | None = ""
    surname: str | None = ""
    roles: list[str] = Field(default_factory=list)
    permissions: list[str] = Field(default_factory=list)
    active: bool = True
    language: str | None = "de"
    parent_user_id: str | None = None
    field_as_of: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def first_seen(cls, user_id: str, company_id: str) -> ProjectedUser:
        return cls(id=user_id, user_id=user_id, company_id=company_id, email="", first_name="",
                   surname="", roles=[], permissions=[], active=True, language="de")

    def learn(self, facts: Mapping[str, UserFact], as_of: float) -> None:
        """Take the facts an event tells (``None``: the event does not say)."""
        stamps = dict(self.field_as_of)
        for key, value in facts.items():
            if value is None:
                continue
            if key not in type(self).model_fields or key in ("id", "user_id", "field_as_of"):
                raise ValueError(f"not a user fact: {key}")
            if key == "email":
                value = str(value).lower()
            if stamps.get(key, 0.0) <= as_of:
                setattr(self, key, value)
                stamps[key] = as_of
        self.field_as_of = stamps


def check_sub_administrator(user: ProjectedUser | None, user_id: str,
                            sub_admin_role: str) -> ProjectedUser:
    """The company's sub-administrator ``user_id`` (read from the company's users)."""
    if user is None or sub_admin_role not in user.roles:
        raise errors.SubAdministratorNotFound(
            f"Your company has no sub-administrator {user_id}. Create the sub-administrator "
            "first; it may take a moment to show up here.")
    return user
