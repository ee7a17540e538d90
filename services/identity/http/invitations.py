"""Invitations (ID-11): one address or a CSV/XLSX import, resend, withdraw, list with status;
the invitee checks the link and accepts with name, phone and password."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import BodyPartReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from services.identity.domain import commands
from services.identity.domain import invitation_files as inv
from services.identity.domain.errors import InvitationFileInvalid, InvitationFileTooLarge
from services.identity.domain.import_jobs import ImportJob
from services.identity.domain.invitations import Invitation as InvitationAggregate
from services.identity.handlers import invitation_imports as imports
from services.identity.handlers import invitations as handlers
from services.identity.http import identity, routes
from services.identity.http.invitation_models import (
    Acceptance,
    AcceptedInvitation,
    Invitation,
    InvitationDetails,
    InvitationJob,
    InvitationPage,
    InvitationPath,
    InvitationQuery,
    JobPath,
    LinkToken,
    NewInvitation,
)
from services.identity.settings import IdentitySettings
from services.identity.views import invitations as views
from shared.auth import COMPANY_ADMIN, Access, Principal
from shared.errors import Problem, UnsupportedMediaType
from shared.http import Upload, company_of, json_response

INVITERS = Access.of(roles=(COMPANY_ADMIN,), permissions=("users:invite",))
READERS = Access.of(roles=(COMPANY_ADMIN,), permissions=("users:invite", "users:read"))
TAGS = ("invitations",)
CHUNK = 64 * 1024
# The documented default; the handler reads the configured limit.
FILE_MAX_BYTES = IdentitySettings.model_fields["invitation_file_max_bytes"].default


def invitation_view(invitation: InvitationAggregate) -> Invitation:
    return Invitation(invitation_id=invitation.id, email=invitation.email,
                      role=invitation.role, permissions=invitation.permissions,
                      language=invitation.language, first_name=invitation.first_name,
                      surname=invitation.surname, status=invitation.status_at(),
                      expires_at=invitation.expires_at, created_at=invitation.created_at,
                      invited_by=invitation.invited_by, sent_count=invitation.sent_count,
                      accepted_user_id=invitation.accepted_user_id,
                      accepted_at=invitation.accepted_at, job_id=invitation.job_id,
                      row=invitation.row)


def job_view(job: ImportJob) -> InvitationJob:
    return InvitationJob(job_id=job.id, status=job.status, file_name=job.file_name,
                         total_rows=job.total_rows, processed_rows=job.processed_rows,
                         invited=job.invited, failed=job.failed, progress=job.progress,
                         rejected_rows=job.rejected_rows, created_at=job.created_at,
                         finished_at=job.finished_at)


def _id(request: web.Request) -> str:
    return request.match_info["invitation_id"]


@routes.post("/v1/invitations", body=NewInvitation, response=Invitation, status=201,
             access=INVITERS, tags=TAGS, problems=(409, 429))
async def invite(request: web.Request, body: NewInvitation, principal: Principal
                 ) -> Invitation:
    """Invite someone by email address

    Company administrators, and sub-administrators with `users:invite` (for the roles user
    and billing_admin only: 403 `role-not-allowed` otherwise). A personal link goes to the
    address, with the role (`user` when omitted); a company administrator may invite a
    sub-administrator with the delegated `permissions` the invitee gets on accepting. 409
    `email-taken` when the address has an account in the company, `invitation-pending`
    when it has an open invitation (send that one again), `permissions-need-sub-admin` for
    permissions with another role. A company sends a limited number of invitations per
    hour and day (`IDENTITY_INVITATIONS_PER_COMPANY_PER_HOUR`, 100, and `_PER_DAY`, 500;
    429 with `Retry-After`)."""
    return invitation_view(await handlers.invite(commands.Invite(
        company_id=company_of(principal), actor_id=principal.subject, email=str(body.email),
        role=body.role, permissions=list(body.permissions), language=body.language,
        first_name=body.first_name, surname=body.surname), identity(request)))


@routes.get("/v1/invitations", query=InvitationQuery, response=InvitationPage,
            access=READERS, tags=TAGS)
async def list_invitations(request: web.Request, query: InvitationQuery,
                           principal: Principal) -> InvitationPage:
    """List your company's invitations

    Company administrators, and sub-administrators with `users:invite` or `users:read`. The
    invitations with their status (accepted ones included), filtered by status or import;
    page on with `cursor`."""
    page = await views.list_invitations(
        identity(request).store.invitations, company_of(principal), status=query.status,
        job_id=query.job_id, cursor=query.cursor, limit=query.limit)
    return InvitationPage(items=[invitation_view(i) for i in page.items],
                          next_cursor=page.next_cursor)


@routes.get("/v1/invitations/{invitation_id}", response=Invitation, path_params=InvitationPath,
            access=READERS, tags=TAGS, problems=(404,))
async def get_invitation(request: web.Request, principal: Principal) -> Invitation:
    """Read one invitation

    Company administrators, and sub-administrators with `users:invite` or `users:read`.
    404 `invitation-not-found` for an invitation not in the caller's company."""
    return invitation_view(await handlers.invitation_in_company(
        commands.ReadInvitation(company_of(principal), _id(request)), identity(request)))


@routes.post("/v1/invitations/{invitation_id}/resend", response=Invitation,
             path_params=InvitationPath, access=INVITERS, tags=TAGS,
             problems=(403, 404, 409, 410, 429))
async def resend(request: web.Request, principal: Principal) -> Invitation:
    """Send an invitation again

    Company administrators, and sub-administrators with `users:invite`. A new link goes to
    the address and the old one stops working; an expired invitation is valid again. 409
    `invitation-accepted`, 410 `invitation-revoked` (invite the address again). Counts in
    the company's invitation allowances (429 with `Retry-After`)."""
    return invitation_view(await handlers.resend(commands.ResendInvitation(
        company_of(principal), principal.subject, _id(request)), identity(request)))


@routes.post("/v1/invitations/{invitation_id}/revocation", response=Invitation,
             path_params=InvitationPath, access=INVITERS, tags=TAGS, problems=(403, 404, 409))
async def revoke(request: web.Request, principal: Principal) -> Invitation:
    """Withdraw an invitation

    Company administrators, and sub-administrators with `users:invite`. The link stops
    working; withdrawing a withdrawn invitation changes nothing. 409 `invitation-accepted`
    for an accepted one (or one being accepted right now)."""
    return invitation_view(await handlers.revoke(commands.RevokeInvitation(
        company_of(principal), principal.subject, _id(request)), identity(request)))


@routes.post("/v1/invitations/verification", body=LinkToken, response=InvitationDetails,
             tags=TAGS, problems=(404, 409, 410))
async def verify_invitation(request: web.Request, body: LinkToken) -> InvitationDetails:
    """Check an invitation link

    Anyone with the link may call it, before showing the acceptance form: the address,
    role and company it is for. 404 `invitation-invalid` for an unknown or replaced link,
    409 `invitation-accepted`, 410 `invitation-expired` or `invitation-revoked`."""
    invitation = await handlers.invitation_by_token(commands.CheckInvitationLink(body.token),
                                                    identity(request))
    return InvitationDetails(email=invitation.email, role=invitation.role,
                             permissions=invitation.permissions,
                             company_id=invitation.company_id,
                             first_name=invitation.first_name, surname=invitation.surname,
                             expires_at=invitation.expires_at)


@routes.post("/v1/invitations/acceptance", body=Acceptance, response=AcceptedInvitation,
             status=201, tags=TAGS, problems=(404, 409, 410, 422))
async def accept(request: web.Request, body: Acceptance) -> AcceptedInvitation:
    """Accept an invitation

    Anyone with the link may call it. With name, phone and password the account is created
    with the invitation's role and logged in; sending the form again after a failure
    finishes the same account. 404 `invitation-invalid`, 409 `invitation-accepted` or
    `email-taken` (the address has an account already), 410 `invitation-expired` or
    `invitation-revoked`, 422 for a password against the company's policy."""
    done = await handlers.accept(commands.AcceptInvitation(
        token=body.token, first_name=body.first_name, surname=body.surname, phone=body.phone,
        password=body.password), identity(request))
    return AcceptedInvitation(user_id=done.user_id, company_id=done.company_id,
                              **done.login.model_dump())


# -- imports ---------------------------------------------------------------------------------------
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


async def _form_file(request: web.Request, limit: int) -> tuple[bytes, str, str | None]:
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        # A nested multipart (no name of its own) is not the file either.
        if not isinstance(part, BodyPartReader) or part.name != "file":
            continue
        kind = inv.kind_of(part.headers.get(hdrs.CONTENT_TYPE, ""), part.filename)
        if kind is None:
            raise UnsupportedMediaType(_WRONG_TYPE)
        return await _read_limited(part.read_chunk, limit), kind, part.filename
    raise InvitationFileInvalid("The form has no field `file`.")


async def _uploaded_file(request: web.Request, limit: int) -> tuple[bytes, str, str | None]:
    """The file's bytes, its kind (csv/xlsx) and name, read no further than ``limit``."""
    if request.content_length is not None and request.content_length > limit + CHUNK:
        raise _too_large(limit)
    if request.content_type == "multipart/form-data":
        try:
            return await _form_file(request, limit)
        except (ValueError, HttpProcessingError):
            # A form that is not one (no starting boundary, a part without headers, cut
            # short): aiohttp's reader raises these, which must not become a 500.
            raise InvitationFileInvalid("The multipart/form-data body is malformed; send the "
                                        "file in the form field `file`.") from None
    kind = inv.kind_of(request.content_type)
    if kind is None:
        raise UnsupportedMediaType(_WRONG_TYPE)
    return await _read_limited(request.content.read, limit), kind, None


@routes.post("/v1/invitation-jobs", response=InvitationJob, status=202, access=INVITERS,
             location=True, tags=TAGS, problems=(409, 413, 415, 422, 429, 503), upload=Upload(
                 "file", (inv.CSV, inv.XLSX), max_bytes=FILE_MAX_BYTES,
                 setting="IDENTITY_INVITATION_FILE_MAX_BYTES", raw_body=True,
                 description="The invitees: columns email, role, and optionally language, "
                             "first_name, surname."))
async def import_invitations(request: web.Request, principal: Principal) -> web.Response:
    """Invite many people from a CSV or XLSX file

    Company administrators, and sub-administrators with `users:invite`. Columns email, role,
    and optionally language, first_name, surname; a role per row. Answers 202 at once;
    follow the import at `Location` for progress and the rows that could not be invited.
    413 for a file over the size limit, 415 for another file type, 422
    `invitation-file-invalid` for a file that can not be read (or has too many rows or
    columns), 409 `invitation-import-running` while another import of the company runs,
    429 past the company's rows a day (`IDENTITY_INVITATION_ROWS_PER_COMPANY_PER_DAY`,
    10 000), 503 with `Retry-After` when the service is busy reading other files."""
    ctx = identity(request)
    content, kind, name = await _uploaded_file(request, ctx.settings.invitation_file_max_bytes)
    job = await imports.create_job(commands.ImportInvitations(
        company_of(principal), principal.subject, content, kind, name), ctx)
    return json_response(job_view(job), status=202,
                         headers={"Location": f"/v1/invitation-jobs/{job.id}"})


@routes.get("/v1/invitation-jobs/{job_id}", response=InvitationJob, path_params=JobPath,
            access=READERS, tags=TAGS, problems=(404,))
async def get_job(request: web.Request, principal: Principal) -> InvitationJob:
    """Follow an invitation import

    Company administrators, and sub-administrators with `users:invite` or `users:read`. The
    import's progress, and each row that could not be invited, with why. 404
    `invitation-job-not-found` for an import not in the caller's company."""
    return job_view(await imports.job_in_company(
        commands.ReadImportJob(company_of(principal), request.match_info["job_id"]),
        identity(request)))
