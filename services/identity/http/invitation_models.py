"""The request and response models of identity's invitation routes (invitations.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.identity.domain import users as rules
from services.identity.domain.registration import EXAMPLE_PASSWORD, Language, Name, Phone
from services.identity.http.models import (
    EXAMPLE_COMPANY_ID,
    EXAMPLE_LINK_TOKEN,
    EXAMPLE_USER_ID,
    Session,
)
from shared.pagination import encode_cursor
from shared.parsing import UniqueList

InvitationStatus = Literal["pending", "accepted", "revoked", "expired"]
INVITATION_ID = "7d3f9b2a-4c1e-4e8a-9b6d-2f5a8c1e3d7b"
JOB_ID = "c4e1a7b9-3d2f-4a6e-8b5c-9f1d2e3a4b5c"


class NewInvitation(BaseModel):
    """The address to invite and the role the person gets."""

    model_config = ConfigDict(extra="forbid")
    email: EmailStr = Field(description="Where the invitation link goes",
                            examples=["clara.horvath@muster-gmbh.de"])
    # Seed 000: inviting by address alone gives the role "User".
    role: Literal["user", "billing_admin", "company_admin", "sub_admin"] = Field(
        "user", description="The invitee's role; default: user (company_admin and "
                            "sub_admin only by a company administrator)",
        examples=["user"])
    permissions: UniqueList[rules.Permission] = Field(
        default_factory=list, max_length=len(rules.DELEGABLE),
        description="Delegated permissions the invitee gets; only for role sub_admin",
        examples=[[]])
    language: Language | None = Field(None, description="Language of the invitation and the "
                                                        "account; default: the company's",
                                      examples=["hu"])
    first_name: Name | None = Field(None, description="Proposed first name (the invitee may "
                                                      "change it)", examples=["Clara"])
    surname: Name | None = Field(None, description="Proposed surname (the invitee may change "
                                                   "it)", examples=["Horváth"])


class Invitation(BaseModel):
    """An invitation and its status."""

    invitation_id: str = Field(description="The invitation's id", examples=[INVITATION_ID])
    email: EmailStr = Field(description="The invited address",
                            examples=["clara.horvath@muster-gmbh.de"])
    role: str = Field(description="The role the invitee gets", examples=["user"])
    permissions: list[str] = Field([], description="Delegated permissions the invitee gets "
                                                   "(sub-administrators)", examples=[[]])
    language: str = Field(description="Language of the invitation and the account",
                          examples=["hu"])
    first_name: str | None = Field(None, description="Proposed first name",
                                   examples=["Clara"])
    surname: str | None = Field(None, description="Proposed surname", examples=["Horváth"])
    status: InvitationStatus = Field(description="pending, accepted, revoked (withdrawn) or "
                                                 "expired", examples=["pending"])
    expires_at: datetime = Field(description="Until when the link works "
                                             "(`IDENTITY_INVITATION_DAYS`, 14, after sending)",
                                 examples=["2025-03-15T09:30:00Z"])
    created_at: datetime = Field(description="When the invitation was made",
                                 examples=["2025-03-01T09:30:00Z"])
    invited_by: str = Field(description="The user who invited", examples=[EXAMPLE_USER_ID])
    sent_count: int = Field(description="How often the invitation was sent", examples=[1])
    accepted_user_id: str | None = Field(None, description="The account the invitee created",
                                         examples=[None])
    accepted_at: datetime | None = Field(None, description="When it was accepted",
                                         examples=[None])
    job_id: str | None = Field(None, description="The import it came from, if any",
                               examples=[JOB_ID])
    row: int | None = Field(None, description="The import file's row it came from",
                            examples=[2])


class InvitationPage(BaseModel):
    """One page of the company's invitations, by id."""

    items: list[Invitation] = Field(description="The invitations of this page")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on "
                                                "the last page",
                                    examples=[encode_cursor(INVITATION_ID)])


class InvitationQuery(BaseModel):
    """Filters and paging of the invitation list."""

    status: InvitationStatus | None = Field(None, description="Only invitations in this "
                                                              "status",
                                            examples=["pending"])
    job_id: str | None = Field(None, max_length=64, description="Only this import's",
                               examples=[JOB_ID])
    cursor: str | None = Field(None, max_length=100, description="The `next_cursor` of the "
                                                                 "previous page",
                               examples=[encode_cursor(INVITATION_ID)])
    limit: int = Field(50, ge=1, le=200, description="Invitations per page", examples=[50])


class RowError(BaseModel):
    """Why a row could not be invited: a field and the rule it broke."""

    field: str = Field(description="The column", examples=["email"])
    rule: str = Field(description="The rule", examples=["email"])
    message: str = Field(description="The rule in words",
                         examples=["not a valid email address"])


class RejectedRow(BaseModel):
    """A row of the file that could not be invited."""

    row: int = Field(description="Spreadsheet row number (the header is row 1)",
                     examples=[7])
    email: str = Field(description="The row's email cell, as in the file",
                       examples=["clara.horvath@"])
    errors: list[RowError] = Field(description="Each broken rule")


class InvitationJob(BaseModel):
    """An invitation import: its progress and the rows that could not be invited."""

    job_id: str = Field(description="The import's id", examples=[JOB_ID])
    status: Literal["queued", "running", "completed"] = Field(
        description="queued, running or completed", examples=["running"])
    file_name: str | None = Field(None, description="The uploaded file's name",
                                  examples=["new-colleagues.xlsx"])
    total_rows: int = Field(description="Data rows in the file", examples=[250])
    processed_rows: int = Field(description="Rows worked through so far", examples=[100])
    invited: int = Field(description="Rows invited", examples=[98])
    failed: int = Field(description="Rows that could not be invited", examples=[2])
    progress: float = Field(description="Processed rows / total rows, 0 to 1",
                            examples=[0.4])
    rejected_rows: list[RejectedRow] = Field(description="The rows that could not be "
                                                         "invited, with why")
    created_at: datetime = Field(description="When the file was uploaded",
                                 examples=["2025-03-01T09:30:00Z"])
    finished_at: datetime | None = Field(None, description="When the import completed",
                                         examples=[None])


class InvitationPath(BaseModel):
    """The invitation a path names."""

    invitation_id: str = Field(min_length=1, description="The invitation's id, from the list "
                                                         "or the inviting answer",
                               examples=[INVITATION_ID])


class JobPath(BaseModel):
    """The invitation import a path names."""

    job_id: str = Field(min_length=1, description="The import's id, from the upload's answer "
                                                  "(its `Location`)",
                        examples=[JOB_ID])


class LinkToken(BaseModel):
    """The token from an invitation link."""

    token: str = Field(min_length=20, max_length=200,
                       description="The token from the invitation link",
                       examples=[EXAMPLE_LINK_TOKEN])


class InvitationDetails(BaseModel):
    """What an invitation link offers, to show on the acceptance form."""

    email: EmailStr = Field(description="The invited address (it becomes the login id)",
                            examples=["clara.horvath@muster-gmbh.de"])
    role: str = Field(description="The role the invitee gets", examples=["user"])
    permissions: list[str] = Field([], description="Delegated permissions the invitee gets",
                                   examples=[[]])
    company_id: str = Field(description="The inviting company", examples=[EXAMPLE_COMPANY_ID])
    first_name: str | None = Field(None, description="Proposed first name",
                                   examples=["Clara"])
    surname: str | None = Field(None, description="Proposed surname", examples=["Horváth"])
    expires_at: datetime = Field(description="Until when the link works",
                                 examples=["2025-03-15T09:30:00Z"])


class Acceptance(BaseModel):
    """The acceptance form: the invitee's name, phone and password."""

    token: str = Field(min_length=20, max_length=200,
                       description="The token from the invitation link",
                       examples=[EXAMPLE_LINK_TOKEN])
    first_name: Name = Field(description="First name", examples=["Clara"])
    surname: Name = Field(description="Surname", examples=["Horváth"])
    phone: Phone = Field(description="Mobile number for SMS codes (E.164, or national "
                                     "numbers read as Hungarian)",
                         examples=["+36301234567"])
    password: str = Field(min_length=1, max_length=200,
                          description="The password; it must meet the company's password "
                                      "policy",
                          examples=[EXAMPLE_PASSWORD])


class AcceptedInvitation(Session):
    """The invitee's new account, logged in."""

    user_id: str = Field(description="The new account", examples=[EXAMPLE_USER_ID])
    company_id: str = Field(description="The company it belongs to",
                            examples=[EXAMPLE_COMPANY_ID])
