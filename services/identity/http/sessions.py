"""Login, SMS code, mobile-number login, refresh, logout, client credentials, JWKS."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from services.identity.domain.registration import Phone
from services.identity.handlers import clients as client_handlers
from services.identity.handlers import phone_login as phone_handlers
from services.identity.handlers import sessions as handlers
from services.identity.http import IDENTITY, routes
from services.identity.http.models import Session
from shared.http import client_address, json_response


class PasswordLogin(BaseModel):
    login: str = Field(min_length=3, max_length=254,
                       description="email address, username, or name@company")
    password: str = Field(min_length=1, max_length=200)


class CodeEntry(BaseModel):
    login_attempt_id: str = Field(min_length=1, max_length=64)
    code: str = Field(pattern=r"^[0-9]{6}$")


class PhoneLogin(BaseModel):
    phone: Phone = Field(description="mobile number: 9-digit national (301234567) or E.164")


class PhoneAccountChoice(BaseModel):
    login_attempt_id: str = Field(min_length=1, max_length=64)
    account_id: str = Field(min_length=1, max_length=100)


class RefreshGrant(BaseModel):
    refresh_token: str = Field(min_length=20, max_length=200)


class ClientCredentials(BaseModel):
    grant_type: Literal["client_credentials"]
    client_id: str = Field(min_length=1, max_length=100)
    client_secret: str = Field(min_length=1, max_length=200)
    scope: str | None = Field(None, max_length=1000)


class ClientToken(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


@routes.get("/.well-known/jwks.json", tags=("tokens",))
async def jwks(request: web.Request) -> web.Response:
    """The public keys access tokens are signed with (JWKS, rotated by kid)."""
    return json_response(request.app[IDENTITY].keys.jwks(),
                         headers={"Cache-Control": "public, max-age=60"})


@routes.post("/v1/sessions", body=PasswordLogin, response=Session, tags=("login",),
             problems=(401, 429))
async def log_in(request: web.Request, body: PasswordLogin) -> Session:
    """ID-4/ID-5: log in with login id and password; answers with tokens, or asks for the
    SMS code when the company has the SMS step on."""
    return Session(**await handlers.password_login(request.app[IDENTITY], body.login,
                                                   body.password))


@routes.post("/v1/sessions/code", body=CodeEntry, response=Session, tags=("login",),
             problems=(401, 410, 429))
async def enter_code(request: web.Request, body: CodeEntry) -> Session:
    """ID-5/ID-6: finish a login with the SMS code. A mobile number several accounts use
    answers `account_choice_required` with the accounts: pick one with
    `POST /v1/sessions/phone/account`."""
    return Session(**await handlers.verify_code(request.app[IDENTITY], body.login_attempt_id,
                                                body.code))


@routes.post("/v1/sessions/{attempt_id}/code-resend", response=Session, tags=("login",),
             problems=(401, 429))
async def resend_code(request: web.Request) -> Session:
    """ID-5: send a new SMS code for the same login attempt (after a short wait). An attempt
    that used its tries is dead: 429 `too-many-tries`, start the login again. A mobile-number
    login's resend counts like a new one (per client IP and per number)."""
    ctx = request.app[IDENTITY]
    return Session(**await handlers.resend_code(
        ctx, request.match_info["attempt_id"],
        client_address(request, ctx.settings.trusted_proxy_hops)))


@routes.post("/v1/sessions/phone", body=PhoneLogin, response=Session, tags=("login",),
             problems=(429,))
async def phone_login(request: web.Request, body: PhoneLogin) -> Session:
    """ID-6: log in with a mobile number; an SMS code follows. The answer, the tries and the
    number's hourly SMS limit are the same whether or not an account uses the number; a few
    logins per hour per client IP. The token reaches only the number's own functions that the
    company allows (`phone_login_permissions`)."""
    ctx = request.app[IDENTITY]
    return Session(**await phone_handlers.phone_login(
        ctx, body.phone, client_address(request, ctx.settings.trusted_proxy_hops)))


@routes.post("/v1/sessions/phone/account", body=PhoneAccountChoice, response=Session,
             tags=("login",), problems=(401, 422))
async def choose_phone_account(request: web.Request, body: PhoneAccountChoice) -> Session:
    """ID-6: the number's code was entered and several accounts (companies) use the number:
    log in to the one picked from those offered (single use, valid as long as a code)."""
    return Session(**await phone_handlers.choose_phone_account(
        request.app[IDENTITY], body.login_attempt_id, body.account_id))


@routes.post("/v1/sessions/refresh", body=RefreshGrant, response=Session, tags=("login",),
             problems=(401,))
async def refresh(request: web.Request, body: RefreshGrant) -> Session:
    """A new access token for a refresh token; the refresh token is replaced (rotation)."""
    return Session(**await handlers.refresh(request.app[IDENTITY], body.refresh_token))


@routes.post("/v1/sessions/logout", body=RefreshGrant, status=204, tags=("login",))
async def log_out(request: web.Request, body: RefreshGrant) -> None:
    """ID-4: log out: the session's refresh tokens stop working."""
    await handlers.log_out(request.app[IDENTITY], body.refresh_token)


@routes.post("/v1/oauth/token", body=ClientCredentials, response=ClientToken,
             tags=("tokens",), problems=(401, 403))
async def client_token(request: web.Request, body: ClientCredentials) -> ClientToken:
    """Internal clients (support desk, back office): a token by client credentials."""
    return ClientToken(**await client_handlers.client_token(
        request.app[IDENTITY], body.client_id, body.client_secret, body.scope))
