"""User administration routes (ID-2, ID-7, ID-12): administrators create accounts, list
users, change roles and delegated permissions, deactivate, reactivate and unlock them; a
user sees its master administrator (``/v1/me/parent``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.identity.domain import commands
from services.identity.domain import users as rules
from services.identity.domain.registration import Language, Name, Phone
from services.identity.domain.users import Permission, Role, Status, Username
from services.identity.domain.users import User as StoredUser
from services.identity.handlers import users as handlers
from services.identity.http import identity, routes
from services.identity.http.models import EXAMPLE_USER_ID, Accepted
from services.identity.views import users as views
from shared.auth import COMPANY_ADMIN, Access, Principal
from shared.http import company_of
from shared.idempotency import Answer, idempotent
from shared.pagination import encode_cursor
from shared.parsing import UniqueList, idempotency_key

READERS = Access.of(roles=(COMPANY_ADMIN,), permissions=("users:read", "users:manage"))
CREATORS = Access.of(roles=(COMPANY_ADMIN,), permissions=("users:invite",))
MANAGERS = Access.of(roles=(COMPANY_ADMIN,), permissions=("users:manage",))
TAGS = ("users",)


class User(BaseModel):
    """A user of the company, as administrators see it."""

    user_id: str = Field(description="The user's id", examples=[EXAMPLE_USER_ID])
    email: EmailStr = Field(description="The primary email address",
                            examples=["ben.weber@muster-gmbh.de"])
    username: str | None = Field(None, description="The username, once chosen",
                                 examples=["ben.weber@muster-gmbh"])
    first_name: str = Field(description="First name", examples=["Ben"])
    surname: str = Field(description="Surname", examples=["Weber"])
    phone: str | None = Field(None, description="The login phone in E.164",
                              examples=["+4915112345678"])
    language: str = Field(description="Language of emails and SMS: de, en or hu",
                          examples=["de"])
    roles: list[str] = Field(description="company_admin, sub_admin, billing_admin or user",
                             examples=[["user"]])
    permissions: list[str] = Field(description="A sub-administrator's delegated permissions",
                                   examples=[[]])
    parent_user_id: str | None = Field(None, description="The master administrator the user "
                                                         "is under; null for a company "
                                                         "administrator",
                                       examples=[EXAMPLE_USER_ID])
    status: Status = Field(description="active, pending_activation (an activation code is "
                                       "out) or deactivated", examples=["active"])
    locked: bool = Field(description="Too many wrong passwords; an administrator can unlock",
                         examples=[False])
    password_change_required: bool = Field(description="True while a temporary password must "
                                                       "be changed", examples=[False])
    created_at: datetime | None = Field(None, description="When the account was created",
                                        examples=["2025-03-01T08:15:00Z"])


class UserPage(BaseModel):
    """One page of the company's users, by id."""

    items: list[User] = Field(description="The users of this page")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; "
                                                "null on the last page",
                                    examples=[EXAMPLE_USER_ID])


class UserQuery(BaseModel):
    """Filters and paging of the user list."""

    role: Role | None = Field(None, description="Only users with this role",
                              examples=["billing_admin"])
    status: Status | None = Field(None, description="Only users in this status",
                                  examples=["active"])
    cursor: str | None = Field(None, max_length=100, description="The `next_cursor` of the "
                                                                 "previous page",
                               examples=[encode_cursor(EXAMPLE_USER_ID)])
    limit: int = Field(50, ge=1, le=200, description="Users per page", examples=[50])


class NewUser(BaseModel):
    """An account an administrator creates for someone."""

    model_config = ConfigDict(extra="forbid")
    email: EmailStr = Field(description="The person's email address; the activation code or "
                                        "temporary password goes there",
                            examples=["ben.weber@muster-gmbh.de"])
    first_name: Name = Field(description="First name", examples=["Ben"])
    surname: Name = Field(description="Surname", examples=["Weber"])
    role: Role = Field(description="company_admin and sub_admin only by a company "
                                   "administrator", examples=["user"])
    permissions: UniqueList[Permission] = Field(
        default_factory=list, max_length=len(rules.DELEGABLE),
        description="Delegated permissions; only for role sub_admin, only by a company "
                    "administrator", examples=[[]])
    language: Language | None = Field(None, description="Default: the company's language",
                                      examples=["de"])
    phone: Phone | None = Field(None, description="Mobile number for SMS codes (E.164, or "
                                                  "national numbers read as Hungarian)",
                                examples=["+4915112345678"])
    username: Username | None = Field(
        None, description="Login id: 6–32 characters, or name@<the company's login domain> "
                          "(admin@ only for a company administrator); for temporary_password "
                          "accounts (with an activation code the person chooses one)",
        examples=["ben.weber@muster-gmbh"])
    onboarding: Literal["activation_code", "temporary_password"] = Field(
        "activation_code",
        description="activation_code: the person gets a code valid "
                    "IDENTITY_ACTIVATION_CODE_DAYS (10) or IDENTITY_ACTIVATION_CODE_HOURS and "
                    "chooses username and password; temporary_password: the account is "
                    "active with a generated password to change at the first login",
        examples=["activation_code"])


class RoleChange(BaseModel):
    """The user's new role, and a sub-administrator's delegated permissions."""

    model_config = ConfigDict(extra="forbid")
    role: Role = Field(description="The new role", examples=["sub_admin"])
    permissions: UniqueList[Permission] = Field(
        default_factory=list, max_length=len(rules.DELEGABLE),
        description="Delegated permissions; only for role sub_admin (they replace the "
                    "previous ones)", examples=[["users:read", "users:invite"]])


class UserPath(BaseModel):
    """The user a path names."""

    user_id: str = Field(min_length=1, description="The user's id, from the user list or the "
                                                   "creating answer",
                         examples=[EXAMPLE_USER_ID])


class ParentContact(BaseModel):
    """A sub-administrator's master administrator."""

    user_id: str = Field(description="The master administrator's user id",
                         examples=[EXAMPLE_USER_ID])
    first_name: str = Field(description="First name", examples=["Anna"])
    surname: str = Field(description="Surname", examples=["Schmidt"])
    email: EmailStr = Field(description="Email address",
                            examples=["anna.schmidt@muster-gmbh.de"])
    phone: str | None = Field(None, description="Phone in E.164",
                              examples=["+4915112345678"])


def user_view(user: StoredUser) -> User:
    return User(user_id=user.id, email=user.email, username=user.username,
                first_name=user.first_name, surname=user.surname, phone=user.phone,
                language=user.language, roles=user.roles, permissions=user.permissions,
                parent_user_id=user.parent_user_id, status=user.status,
                locked=user.is_locked(),
                password_change_required=user.must_change_password,
                created_at=user.created_at)


def _user_id(request: web.Request) -> str:
    return request.match_info["user_id"]


def _managed(request: web.Request, principal: Principal) -> commands.ManageUser:
    """The caller acting on the user the path names."""
    return commands.ManageUser(company_of(principal), principal.subject, _user_id(request))


@routes.get("/v1/users", query=UserQuery, response=UserPage, access=READERS, tags=TAGS)
async def list_users(request: web.Request, query: UserQuery, principal: Principal
                     ) -> UserPage:
    """List your company's users

    Company administrators, and sub-administrators with `users:read` or `users:manage`.
    The company's users by id, filtered by role or status; page on with `cursor`."""
    page = await views.list_users(
        identity(request).store.users, company_of(principal), role=query.role,
        status=query.status, cursor=query.cursor, limit=query.limit)
    return UserPage(items=[user_view(u) for u in page.items], next_cursor=page.next_cursor)


@routes.post("/v1/users", body=NewUser, response=User, status=201, access=CREATORS,
             tags=TAGS, problems=(409, 422), idempotent=True, location=True)
async def create_user(request: web.Request, body: NewUser, principal: Principal
                      ) -> web.Response:
    """Create an account for someone

    Company administrators, and sub-administrators with `users:invite` (for the roles user
    and billing_admin only: 403 `role-not-allowed` otherwise). The person gets an
    activation code (default) or a temporary password by email; the answer's `Location`
    names the new user. Send `Idempotency-Key` to make a repeated request create nothing
    new (422 `idempotency-key-reused` for another request under the same key). 409
    `email-taken` when the address has an account in the company, `login-id-taken` for a
    taken username, `permissions-need-sub-admin` for permissions with another role; 422
    for a login domain that is not the company's."""
    ctx = identity(request)
    # With a key, the kit answers a repeated request from what the first one answered; the
    # user id still derives from the key, so a first run that stopped half way finishes on
    # the retry instead of making a second account.
    key = idempotency_key(request.headers) or str(uuid.uuid4())

    async def run() -> Answer:
        user = await handlers.create_user(commands.CreateUser(
            company_id=company_of(principal), actor_id=principal.subject,
            request_id=f"{principal.subject}:{key}", **body.model_dump(mode="json")), ctx)
        return Answer(201, user_view(user), {"Location": f"/v1/users/{user.id}"})
    return await idempotent(request, principal, ctx.store.idempotency, run)


@routes.get("/v1/users/{user_id}", response=User, path_params=UserPath, access=READERS,
            tags=TAGS, problems=(404,))
async def get_user(request: web.Request, principal: Principal) -> User:
    """Read one user of your company

    Company administrators, and sub-administrators with `users:read` or `users:manage`.
    404 `user-not-found` for a user not in the caller's company."""
    return user_view(await handlers.read_user(
        commands.ReadUser(company_of(principal), _user_id(request)), identity(request)))


@routes.put("/v1/users/{user_id}/role", body=RoleChange, response=User, path_params=UserPath,
            access=MANAGERS, tags=TAGS, problems=(403, 404, 409))
async def change_role(request: web.Request, body: RoleChange, principal: Principal) -> User:
    """Change a user's role

    Company administrators, and sub-administrators with `users:manage` (for users and
    billing administrators only). A new role; for a sub-administrator also its delegated
    permissions (only a company administrator gives administrator roles or permissions:
    403 `role-not-allowed`; nobody changes their own: 403 `own-account`). 409
    `permissions-need-sub-admin` for permissions with another role."""
    return user_view(await handlers.change_role(commands.ChangeRole(
        company_of(principal), principal.subject, _user_id(request), body.role,
        list(body.permissions)), identity(request)))


@routes.post("/v1/users/{user_id}/deactivation", response=User, path_params=UserPath,
             access=MANAGERS, tags=TAGS, problems=(403, 404))
async def deactivate(request: web.Request, principal: Principal) -> User:
    """Deactivate a user

    Company administrators, and sub-administrators with `users:manage` (for users and
    billing administrators only; 403 otherwise, and for one's own account). The user can
    no longer log in; their sessions end."""
    return user_view(await handlers.deactivate(_managed(request, principal), identity(request)))


@routes.post("/v1/users/{user_id}/reactivation", response=User, path_params=UserPath,
             access=MANAGERS, tags=TAGS, problems=(403, 404))
async def reactivate(request: web.Request, principal: Principal) -> User:
    """Reactivate a user

    Company administrators, and sub-administrators with `users:manage` (for users and
    billing administrators only). A deactivated user can log in again."""
    return user_view(await handlers.reactivate(_managed(request, principal), identity(request)))


@routes.post("/v1/users/{user_id}/unlock", response=User, path_params=UserPath,
             access=MANAGERS, tags=TAGS, problems=(403, 404))
async def unlock(request: web.Request, principal: Principal) -> User:
    """Unlock a user

    Company administrators, and sub-administrators with `users:manage` (for users and
    billing administrators only). Lifts the lock after too many wrong passwords."""
    return user_view(await handlers.unlock_user(_managed(request, principal), identity(request)))


@routes.post("/v1/users/{user_id}/activation-code", response=Accepted, status=202,
             path_params=UserPath, access=CREATORS, tags=TAGS, problems=(403, 404, 409))
async def reissue_activation_code(request: web.Request, principal: Principal) -> Accepted:
    """Send a user a new activation code

    Company administrators, and sub-administrators with `users:invite`. A new activation
    code (valid `IDENTITY_ACTIVATION_CODE_DAYS`, 10, or `IDENTITY_ACTIVATION_CODE_HOURS`)
    goes to an account not yet activated; the previous code stops working. 409
    `user-status` for an account activated already."""
    await handlers.admin_reissue_activation_code(_managed(request, principal),
                                                 identity(request))
    return Accepted(detail="A new activation code is on its way; the previous one no longer "
                           "works.")


@routes.get("/v1/me/parent", response=ParentContact, access=Access(), tags=("account",),
            problems=(404,))
async def my_parent(request: web.Request, principal: Principal) -> ParentContact:
    """Read your master administrator's contact

    Any logged-in user: the contact of the company administrator the caller is under (for
    a sub-administrator, the one who delegated its permissions). A company administrator
    has none (404 `no-parent`)."""
    parent = await handlers.parent_of(
        commands.ReadParent(company_of(principal), principal.subject), identity(request))
    return ParentContact(user_id=parent.id, first_name=parent.first_name,
                         surname=parent.surname, email=parent.email, phone=parent.phone)
