"""Invitations (ID-11): one address or a CSV/XLSX import, resend, withdraw, list with status;
the invitee checks the link and accepts with name, phone and password."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Literal

from aiohttp import hdrs, web
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.identity.domain import invitations as inv
from services.identity.domain import users as rules
from services.identity.domain.errors import InvitationFileInvalid, InvitationFileTooLarge
from services.identity.domain.registration import Language, Name, Phone
from services.identity.handlers import invitation_imports as imports
from services.identity.handlers import invitations as handlers
from services.identity.http import IDENTITY, routes
from services.identity.http.models import Session
from services.identity.settings import IdentitySettings
from shared.auth import COMPANY_ADMIN, Access, Principal
from shared.errors import Problem
from shared.http import Upload, json_response
from shared.parsing import UniqueList

INVITERS = Access.of(roles=(COMPANY_ADMIN,), permissions=("users:invite",))
READERS = Access.of(roles=(COMPANY_ADMIN,), permissions=("users:invite", "users:read"))
TAGS = ("invitations",)
InvitationStatus = Literal["pending", "accepted", "revoked", "expired"]
CHUNK = 64 * 1024
# The documented default; the handler reads the configured limit.
FILE_MAX_BYTES = IdentitySettings.model_fields["invitation_file_max_bytes"].default


class NewInvitation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    # Seed 000: inviting by address alone gives the role "User".
    role: Literal["user", "billing_admin", "company_admin", "sub_admin"] = Field(
        "user", description="default: user (ID-11)")
    permissions: UniqueList[rules.Permission] = Field(
        default_factory=list, max_length=len(rules.DELEGABLE),
        description="delegated permissions the invitee gets; only for role sub_admin (ID-12)")
    language: Language | None = Field(None, description="default: the company's language")
    first_name: Name | None = None
    surname: Name | None = None


class Invitation(BaseModel):
    invitation_id: str
    email: EmailStr
    role: str
    permissions: list[str] = []
    language: str
    first_name: str | None = None
    surname: str | None = None
    status: InvitationStatus
    expires_at: datetime
    created_at: datetime
    invited_by: str
    sent_count: int
    accepted_user_id: str | None = None
    accepted_at: datetime | None = None
    job_id: str | None = None
    row: int | None = None


class InvitationPage(BaseModel):
    items: list[Invitation]
    next_cursor: str | None


class InvitationQuery(BaseModel):
    status: InvitationStatus | None = None
    job_id: str | None = Field(None, max_length=64, description="only this import's")
    cursor: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=200)


class RowError(BaseModel):
    field: str
    rule: str
    message: str


class RejectedRow(BaseModel):
    row: int = Field(description="spreadsheet row number (the header is row 1)")
    email: str
    errors: list[RowError]


class InvitationJob(BaseModel):
    job_id: str
    status: Literal["queued", "running", "completed"]
    file_name: str | None = None
    total_rows: int
    processed_rows: int
    invited: int
    failed: int
    progress: float = Field(description="processed rows / total rows, 0 to 1")
    rejected_rows: list[RejectedRow]
    created_at: datetime
    finished_at: datetime | None = None


class LinkToken(BaseModel):
    token: str = Field(min_length=20, max_length=200)


class InvitationDetails(BaseModel):
    email: EmailStr
    role: str
    permissions: list[str] = []
    company_id: str
    first_name: str | None = None
    surname: str | None = None
    expires_at: datetime


class Acceptance(BaseModel):
    token: str = Field(min_length=20, max_length=200)
    first_name: Name
    surname: Name
    phone: Phone
    password: str = Field(min_length=1, max_length=200)


class AcceptedInvitation(Session):
    user_id: str
    company_id: str


def invitation_view(doc: dict) -> Invitation:
    return Invitation(invitation_id=doc["_id"], email=doc["email"], role=doc["role"],
                      permissions=doc.get("permissions", []), language=doc["language"],
                      first_name=doc.get("first_name"),
                      surname=doc.get("surname"), status=inv.status_of(doc),
                      expires_at=doc["expires_at"], created_at=doc["created_at"],
                      invited_by=doc["invited_by"], sent_count=doc.get("sent_count", 1),
                      accepted_user_id=doc.get("accepted_user_id"),
                      accepted_at=doc.get("accepted_at"), job_id=doc.get("job_id"),
                      row=doc.get("row"))


def job_view(doc: dict) -> InvitationJob:
    total = doc["total_rows"]
    return InvitationJob(job_id=doc["_id"], status=doc["status"], file_name=doc.get("file_name"),
                         total_rows=total, processed_rows=doc["processed_rows"],
                         invited=doc["invited"], failed=doc["failed"],
                         progress=round(doc["processed_rows"] / total, 4) if total else 1.0,
                         rejected_rows=doc["rejected_rows"], created_at=doc["created_at"],
                         finished_at=doc.get("finished_at"))


def _id(request: web.Request) -> str:
    return request.match_info["invitation_id"]


@routes.post("/v1/invitations", body=NewInvitation, response=Invitation, status=201,
             access=INVITERS, tags=TAGS, problems=(409, 429))
async def invite(request: web.Request, body: NewInvitation, principal: Principal
                 ) -> Invitation:
    """ID-11: invite one address with a role (``user`` when omitted); a personal link goes to
    it. ID-12: a company administrator may invite a sub-administrator with the delegated
    ``permissions`` the invitee gets on accepting."""
    return invitation_view(await handlers.invite(request.app[IDENTITY], principal.company_id,
                                                 principal.subject,
                                                 body.model_dump(mode="json")))


@routes.get("/v1/invitations", query=InvitationQuery, response=InvitationPage,
            access=READERS, tags=TAGS)
async def list_invitations(request: web.Request, query: InvitationQuery,
                           principal: Principal) -> InvitationPage:
    """ID-11: the company's invitations with their status (accepted ones included)."""
    docs, cursor = await handlers.list_invitations(
        request.app[IDENTITY], principal.company_id, status=query.status, job_id=query.job_id,
        after=query.cursor, limit=query.limit)
    return InvitationPage(items=[invitation_view(d) for d in docs], next_cursor=cursor)


@routes.get("/v1/invitations/{invitation_id}", response=Invitation, access=READERS,
            tags=TAGS, problems=(404,))
async def get_invitation(request: web.Request, principal: Principal) -> Invitation:
    """ID-11: one invitation and its status."""
    return invitation_view(await handlers.invitation_in_company(
        request.app[IDENTITY], principal.company_id, _id(request)))


@routes.post("/v1/invitations/{invitation_id}/resend", response=Invitation, access=INVITERS,
             tags=TAGS, problems=(404, 409, 410, 429))
async def resend(request: web.Request, principal: Principal) -> Invitation:
    """ID-11: send the invitation again with a new link; the old link stops working."""
    return invitation_view(await handlers.resend(request.app[IDENTITY], principal.company_id,
                                                 principal.subject, _id(request)))


@routes.post("/v1/invitations/{invitation_id}/revocation", response=Invitation,
             access=INVITERS, tags=TAGS, problems=(404, 409))
async def revoke(request: web.Request, principal: Principal) -> Invitation:
    """ID-11: withdraw an invitation that was not accepted."""
    return invitation_view(await handlers.revoke(request.app[IDENTITY], principal.company_id,
                                                 principal.subject, _id(request)))


@routes.post("/v1/invitations/verification", body=LinkToken, response=InvitationDetails,
             tags=TAGS, problems=(404, 409, 410))
async def verify_invitation(request: web.Request, body: LinkToken) -> InvitationDetails:
    """ID-11: check an invitation link before showing the form."""
    doc = await handlers.invitation_by_token(request.app[IDENTITY], body.token)
    return InvitationDetails(email=doc["email"], role=doc["role"],
                             permissions=doc.get("permissions", []),
                             company_id=doc["company_id"],
                             first_name=doc.get("first_name"), surname=doc.get("surname"),
                             expires_at=doc["expires_at"])


@routes.post("/v1/invitations/acceptance", body=Acceptance, response=AcceptedInvitation,
             status=201, tags=TAGS, problems=(404, 409, 410))
async def accept(request: web.Request, body: Acceptance) -> AcceptedInvitation:
    """ID-11: accept with name, phone and password: the account exists and is logged in."""
    return AcceptedInvitation(**await handlers.accept(request.app[IDENTITY], body.token,
                                                      body.model_dump(mode="json")))


# -- imports ---------------------------------------------------------------------------------------
INVITATION_JOBS = web.AppKey("invitation_jobs", imports.InvitationJobs)


async def _read_limited(read: Callable[[int], Awaitable[bytes]], limit: int) -> bytes:
    data = bytearray()
    while chunk := await read(CHUNK):
        data += chunk
        if len(data) > limit:
            raise _too_large(limit)
    return bytes(data)


def _too_large(limit: int) -> Problem:
    return InvitationFileTooLarge(f"The file is larger than {limit // (1024 * 1024)} MB. "
                                  "Split it into several files.", max_bytes=limit)


_WRONG_TYPE = ("Upload a CSV or XLSX file: as multipart/form-data (field `file`), or as the "
               f"body with Content-Type {inv.CSV} or {inv.XLSX}.")


async def _uploaded_file(request: web.Request, limit: int) -> tuple[bytes, str, str | None]:
    """The file's bytes, its kind (csv/xlsx) and name, read no further than ``limit``."""
    if request.content_length is not None and request.content_length > limit + CHUNK:
        raise _too_large(limit)
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if getattr(part, "name", None) != "file":
                continue
            kind = inv.kind_of(part.headers.get(hdrs.CONTENT_TYPE, ""), part.filename)
            if kind is None:
                raise Problem(_WRONG_TYPE, status=415, slug="unsupported-media-type",
                              title="Unsupported media type")
            return await _read_limited(part.read_chunk, limit), kind, part.filename
        raise InvitationFileInvalid("The form has no field `file`.")
    kind = inv.kind_of(request.content_type)
    if kind is None:
        raise Problem(_WRONG_TYPE, status=415, slug="unsupported-media-type",
                      title="Unsupported media type")
    return await _read_limited(request.content.read, limit), kind, None


@routes.post("/v1/invitation-jobs", response=InvitationJob, status=202, access=INVITERS,
             tags=TAGS, problems=(409, 413, 415, 422, 429), upload=Upload(
                 "file", (inv.CSV, inv.XLSX), max_bytes=FILE_MAX_BYTES,
                 setting="IDENTITY_INVITATION_FILE_MAX_BYTES", raw_body=True,
                 description="The invitees: columns email, role, and optionally language, "
                             "first_name, surname."))
async def import_invitations(request: web.Request, principal: Principal) -> web.Response:
    """ID-11: invite many people from a CSV or XLSX file (columns email, role, and optionally
    language, first_name, surname; a role per row). Answers at once; follow the import at
    `Location` for progress and the rows that could not be invited."""
    ctx = request.app[IDENTITY]
    content, kind, name = await _uploaded_file(request, ctx.settings.invitation_file_max_bytes)
    job = await imports.create_job(ctx, principal.company_id, principal.subject, content,
                                    kind, name)
    runner = request.app.get(INVITATION_JOBS)
    if runner is not None:
        runner.wake()
    return json_response(job_view(job), status=202,
                         headers={"Location": f"/v1/invitation-jobs/{job['_id']}"})


@routes.get("/v1/invitation-jobs/{job_id}", response=InvitationJob, access=READERS,
            tags=TAGS, problems=(404,))
async def get_job(request: web.Request, principal: Principal) -> InvitationJob:
    """ID-11: an import's progress, and each row that could not be invited, with why."""
    return job_view(await imports.job_in_company(request.app[IDENTITY], principal.company_id,
                                                  request.match_info["job_id"]))


async def run_invitation_jobs(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: this process works through invitation imports in the background."""
    runner = imports.InvitationJobs(app[IDENTITY])
    app[INVITATION_JOBS] = runner
    runner.start()
    yield
    await runner.stop()
