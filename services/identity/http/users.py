"""User administration routes (ID-2, ID-7, ID-12): administrators create accounts, list
users, change roles and delegated permissions, deactivate, reactivate and unlock them; a
user sees its master administrator (``/v1/me/parent``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.identity.domain import users as rules
from services.identity.domain.registration import Language, Name, Phone
from services.identity.domain.users import Permission, Role, Status, Username
from services.identity.handlers import users as handlers
from services.identity.http import IDENTITY, routes
from services.identity.http.models import Accepted
from shared.auth import COMPANY_ADMIN, Access, Principal
from shared.http import json_response
from shared.parsing import UniqueList

READERS = Access.of(roles=(COMPANY_ADMIN,), permissions=("users:read", "users:manage"))
CREATORS = Access.of(roles=(COMPANY_ADMIN,), permissions=("users:invite",))
MANAGERS = Access.of(roles=(COMPANY_ADMIN,), permissions=("users:manage",))
TAGS = ("users",)


class User(BaseModel):
    user_id: str
    email: EmailStr
    username: str | None = None
    first_name: str
    surname: str
    phone: str | None = None
    language: str
    roles: list[str]
    permissions: list[str]
    parent_user_id: str | None = None
    status: Status
    locked: bool = Field(description="too many wrong passwords; an administrator can unlock")
    password_change_required: bool
    created_at: datetime | None = None


class UserPage(BaseModel):
    items: list[User]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; "
                                                "null on the last page")


class UserQuery(BaseModel):
    role: Role | None = None
    status: Status | None = None
    cursor: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=200)


class NewUser(BaseModel):
    """An account an administrator creates for someone (ID-2, ID-7)."""

    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    first_name: Name
    surname: Name
    role: Role
    permissions: UniqueList[Permission] = Field(
        default_factory=list, max_length=len(rules.DELEGABLE),
        description="delegated permissions; only for role sub_admin (ID-12)")
    language: Language | None = Field(None, description="default: the company's language")
    phone: Phone | None = None
    username: Username | None = Field(
        None, description="login id: 6–32 characters, or name@<the company's login domain> "
                          "(ID-14; admin@ only for a company administrator); for "
                          "temporary_password "
                          "accounts (with an activation code the person chooses one)")
    onboarding: Literal["activation_code", "temporary_password"] = Field(
        "activation_code",
        description="activation_code: the person gets a code valid "
                    "IDENTITY_ACTIVATION_CODE_DAYS (10) or IDENTITY_ACTIVATION_CODE_HOURS and "
                    "chooses username and password (ID-2); temporary_password: the account is "
                    "active with a generated password to change at the first login (ID-7)")


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    permissions: UniqueList[Permission] = Field(default_factory=list,
                                          max_length=len(rules.DELEGABLE))


class ParentContact(BaseModel):
    """A sub-administrator's master administrator (ID-12)."""

    user_id: str
    first_name: str
    surname: str
    email: EmailStr
    phone: str | None = None


def user_view(doc: dict) -> User:
    return User(user_id=doc["_id"], email=doc["email"], username=doc.get("username"),
                first_name=doc["first_name"], surname=doc["surname"], phone=doc.get("phone"),
                language=doc.get("language", "en"), roles=doc["roles"],
                permissions=doc.get("permissions", []),
                parent_user_id=doc.get("parent_user_id"), status=doc["status"],
                locked=rules.is_locked(doc),
                password_change_required=bool(doc.get("must_change_password")),
                created_at=doc.get("created_at"))


def _user_id(request: web.Request) -> str:
    return request.match_info["user_id"]


@routes.get("/v1/users", query=UserQuery, response=UserPage, access=READERS, tags=TAGS)
async def list_users(request: web.Request, query: UserQuery, principal: Principal
                     ) -> UserPage:
    """ID-12: the company's users, by id, filtered by role or status; page with `cursor`."""
    docs, cursor = await handlers.list_users(
        request.app[IDENTITY], principal.company_id, role=query.role, status=query.status,
        after=query.cursor, limit=query.limit)
    return UserPage(items=[user_view(d) for d in docs], next_cursor=cursor)


@routes.post("/v1/users", body=NewUser, response=User, status=201, access=CREATORS,
             tags=TAGS, problems=(409,))
async def create_user(request: web.Request, body: NewUser, principal: Principal
                      ) -> web.Response:
    """ID-2 / ID-7: create an account for someone, with an activation code (default) or a
    temporary password. Send `Idempotency-Key` to make a repeated request create nothing
    new."""
    key = request.headers.get("Idempotency-Key", "").strip()[:100] or str(uuid.uuid4())
    doc = await handlers.create_user(request.app[IDENTITY], principal.company_id,
                                     principal.subject, body.model_dump(mode="json"),
                                     request_id=f"{principal.subject}:{key}")
    return json_response(user_view(doc), status=201,
                         headers={"Location": f"/v1/users/{doc['_id']}"})


@routes.get("/v1/users/{user_id}", response=User, access=READERS, tags=TAGS, problems=(404,))
async def get_user(request: web.Request, principal: Principal) -> User:
    """ID-12: one user of the company."""
    return user_view(await handlers.user_in_company(request.app[IDENTITY],
                                                    principal.company_id, _user_id(request)))


@routes.put("/v1/users/{user_id}/role", body=RoleChange, response=User, access=MANAGERS,
            tags=TAGS, problems=(404, 409))
async def change_role(request: web.Request, body: RoleChange, principal: Principal) -> User:
    """ID-12: a new role; for a sub-administrator also its delegated permissions (only a
    company administrator gives administrator roles or permissions)."""
    return user_view(await handlers.change_role(
        request.app[IDENTITY], principal.company_id, principal.subject, _user_id(request),
        body.role, list(body.permissions)))


@routes.post("/v1/users/{user_id}/deactivation", response=User, access=MANAGERS, tags=TAGS,
             problems=(404,))
async def deactivate(request: web.Request, principal: Principal) -> User:
    """ID-12: the user can no longer log in; their sessions end."""
    return user_view(await handlers.deactivate(request.app[IDENTITY], principal.company_id,
                                               principal.subject, _user_id(request)))


@routes.post("/v1/users/{user_id}/reactivation", response=User, access=MANAGERS, tags=TAGS,
             problems=(404,))
async def reactivate(request: web.Request, principal: Principal) -> User:
    """ID-12: a deactivated user can log in again."""
    return user_view(await handlers.reactivate(request.app[IDENTITY], principal.company_id,
                                               principal.subject, _user_id(request)))


@routes.post("/v1/users/{user_id}/unlock", response=User, access=MANAGERS, tags=TAGS,
             problems=(404,))
async def unlock(request: web.Request, principal: Principal) -> User:
    """ID-12: lift the lock after too many wrong passwords."""
    return user_view(await handlers.unlock_user(request.app[IDENTITY], principal.company_id,
                                                principal.subject, _user_id(request)))


@routes.post("/v1/users/{user_id}/activation-code", response=Accepted, status=202,
             access=CREATORS, tags=TAGS, problems=(404, 409))
async def reissue_activation_code(request: web.Request, principal: Principal) -> Accepted:
    """ID-2: send a new activation code (valid the configured time, 10 days by default) to
    an account not yet activated."""
    await handlers.admin_reissue_activation_code(request.app[IDENTITY], principal.company_id,
                                                 principal.subject, _user_id(request))
    return Accepted(detail="A new activation code is on its way; the previous one no longer "
                           "works.")


@routes.get("/v1/me/parent", response=ParentContact, access=Access(), tags=("account",),
            problems=(404,))
async def my_parent(request: web.Request, principal: Principal) -> ParentContact:
    """ID-12: a sub-administrator's master administrator; a master administrator has none
    (404 `no-parent`)."""
    parent = await handlers.parent_of(request.app[IDENTITY], principal.company_id,
                                      principal.subject)
    return ParentContact(user_id=parent["_id"], first_name=parent["first_name"],
                         surname=parent["surname"], email=parent["email"],
                         phone=parent.get("phone"))
