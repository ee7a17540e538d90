"""identity's HTTP API: parse the request model, call the use case, answer the response model."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, EmailStr, Field

from services.identity import handlers
from services.identity.domain.registration import CompleteRegistration, StartRegistration
from shared.auth import Access, Principal
from shared.errors import NotFound
from shared.http import Routes, json_response

routes = Routes()
IDENTITY = web.AppKey("identity", handlers.Identity)


class Accepted(BaseModel):
    detail: str


class VerifyLink(BaseModel):
    token: str = Field(min_length=20, max_length=200)


class LinkDetails(BaseModel):
    email: EmailStr
    expires_at: datetime


class Tokens(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


class RegistrationCompleted(Tokens):
    company_id: str
    user_id: str


class PasswordLogin(BaseModel):
    login: str = Field(min_length=3, max_length=254, description="email address or username")
    password: str = Field(min_length=1, max_length=200)


class Me(BaseModel):
    user_id: str
    company_id: str
    email: EmailStr
    first_name: str
    surname: str
    phone: str
    roles: list[str]


@routes.get("/.well-known/jwks.json", tags=("tokens",))
async def jwks(request: web.Request) -> web.Response:
    """The public keys access tokens are signed with (JWKS)."""
    return json_response(request.app[IDENTITY].keys.jwks(),
                         headers={"Cache-Control": "public, max-age=300"})


@routes.post("/v1/registrations", body=StartRegistration, response=Accepted, status=202,
             tags=("registration",))
async def start_registration(request: web.Request, body: StartRegistration) -> Accepted:
    """ID-1: send a verification link to an email address."""
    await handlers.start_registration(request.app[IDENTITY], body)
    return Accepted(detail="If this address can be registered, a verification email is on "
                           "its way. The link in it is valid for a limited time.")


@routes.post("/v1/registrations/verification", body=VerifyLink, response=LinkDetails,
             tags=("registration",), problems=(404, 409, 410))
async def verify_registration_link(request: web.Request, body: VerifyLink) -> LinkDetails:
    """ID-1: check a verification link before showing the registration form."""
    doc = await handlers.verify_registration_link(request.app[IDENTITY], body.token)
    return LinkDetails(email=doc["email"], expires_at=doc["expires_at"])


@routes.post("/v1/registrations/completion", body=CompleteRegistration,
             response=RegistrationCompleted, status=201, tags=("registration",),
             problems=(404, 409, 410))
async def complete_registration(request: web.Request, body: CompleteRegistration
                                ) -> RegistrationCompleted:
    """ID-1: create the company with this account as its company administrator."""
    return RegistrationCompleted(
        **await handlers.complete_registration(request.app[IDENTITY], body))


@routes.post("/v1/sessions", body=PasswordLogin, response=Tokens, tags=("login",),
             problems=(401,))
async def log_in(request: web.Request, body: PasswordLogin) -> Tokens:
    """ID-4: log in with email address and password."""
    return Tokens(**await handlers.log_in(request.app[IDENTITY], body.login, body.password))


@routes.get("/v1/me", response=Me, access=Access(), tags=("users",))
async def me(request: web.Request, principal: Principal) -> Me:
    """The calling user's own account."""
    user = await request.app[IDENTITY].store.users.get(
        {"_id": principal.subject, "company_id": principal.company_id})
    if user is None:
        raise NotFound("No such user.")
    return Me(user_id=user["_id"], company_id=user["company_id"], email=user["email"],
              first_name=user["first_name"], surname=user["surname"], phone=user["phone"],
              roles=user["roles"])
