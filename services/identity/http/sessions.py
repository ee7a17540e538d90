"""Login, SMS code, mobile-number login, refresh, logout, client credentials, JWKS."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from services.identity.domain import commands
from services.identity.domain.registration import EXAMPLE_PASSWORD, Phone
from services.identity.handlers import clients as client_handlers
from services.identity.handlers import login_codes, session_tokens
from services.identity.handlers import phone_login as phone_handlers
from services.identity.handlers import sessions as handlers
from services.identity.http import identity, routes
from services.identity.http.models import EXAMPLE_ACCESS_TOKEN, EXAMPLE_USER_ID, Session
from shared.http import client_address, json_response

ATTEMPT_ID = "b1946ac92492d2347c6235b4d2611184"
REFRESH_TOKEN = "c3RhdGljLXJlZnJlc2gtdG9rZW4tZXhhbXBsZS0xMjM0NTY"


class PasswordLogin(BaseModel):
    """A login id and its password."""

    login: str = Field(min_length=3, max_length=254,
                       description="Email address, username, name@<login domain>, or a "
                                   "contract holder's customer number",
                       examples=["anna.schmidt@muster-gmbh.de"])
    password: str = Field(min_length=1, max_length=200, description="The password",
                          examples=[EXAMPLE_PASSWORD])


class CodeEntry(BaseModel):
    """The SMS code of a login attempt."""

    login_attempt_id: str = Field(min_length=1, max_length=64,
                                  description="From the answer that asked for the code",
                                  examples=[ATTEMPT_ID])
    code: str = Field(pattern=r"^[0-9]{6}$", description="The 6-digit code from the SMS",
                      examples=["482073"])


class PhoneLogin(BaseModel):
    """The mobile number to log in with."""

    phone: Phone = Field(description="Mobile number: 9-digit national (301234567, read as "
                                     "Hungarian) or E.164",
                         examples=["+36301234567"])


class PhoneAccountChoice(BaseModel):
    """The account picked from those a mobile number's login offered."""

    login_attempt_id: str = Field(min_length=1, max_length=64,
                                  description="The login attempt whose code was entered",
                                  examples=[ATTEMPT_ID])
    account_id: str = Field(min_length=1, max_length=100,
                            description="One of the `accounts` offered",
                            examples=[EXAMPLE_USER_ID])


class RefreshGrant(BaseModel):
    """A refresh token."""

    refresh_token: str = Field(min_length=20, max_length=200,
                               description="The refresh token of the session",
                               examples=[REFRESH_TOKEN])


class ClientCredentials(BaseModel):
    """An internal client's credentials (OAuth 2.0 client credentials grant, as JSON)."""

    grant_type: Literal["client_credentials"] = Field(description="Always client_credentials",
                                                      examples=["client_credentials"])
    client_id: str = Field(min_length=1, max_length=100, description="The client's id",
                           examples=["support-desk"])
    client_secret: str = Field(min_length=1, max_length=200, description="The client's secret",
                               examples=["s3cr3t-0f-the-support-desk-client"])
    scope: str | None = Field(None, max_length=1000,
                              description="Space-separated scopes wanted, all of them the "
                                          "client's; default: every scope of the client",
                              examples=["contracts:support"])


class ClientToken(BaseModel):
    """An internal client's access token."""

    access_token: str = Field(description="A JWT to send as `Authorization: Bearer …`",
                              examples=[EXAMPLE_ACCESS_TOKEN])
    token_type: str = Field(description="Always Bearer", examples=["Bearer"])
    expires_in: int = Field(description="Seconds the token is valid", examples=[600])
    scope: str = Field(description="The scopes granted, space-separated",
                       examples=["contracts:support"])


class Jwk(BaseModel):
    """A public key (RFC 8037 OKP key, Ed25519)."""

    kty: str = Field(description="Key type", examples=["OKP"])
    crv: str = Field(description="Curve", examples=["Ed25519"])
    x: str = Field(description="The public key, base64url",
                   examples=["11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"])
    kid: str = Field(description="Key id, as in an access token's header",
                     examples=["3f2a9c1e8b7d4a6f90e1d2c3b4a59687"])
    alg: str = Field(description="Signing algorithm", examples=["EdDSA"])
    use: str = Field(description="Always sig", examples=["sig"])


class Jwks(BaseModel):
    """The keys access tokens are signed with."""

    keys: list[Jwk] = Field(description="Every active key; the newest signs")


@routes.get("/.well-known/jwks.json", response=Jwks, tags=("tokens",))
async def jwks(request: web.Request) -> web.Response:
    """The public keys tokens are signed with

    Anyone may call it. The JSON Web Key Set that verifies identity's access tokens (EdDSA);
    a token's `kid` names its key. Keys rotate: cache it for a minute (`Cache-Control`) and
    fetch it again for an unknown `kid`."""
    return json_response(identity(request).keys.jwks(),
                         headers={"Cache-Control": "public, max-age=60"})


@routes.post("/v1/sessions", body=PasswordLogin, response=Session, tags=("login",),
             problems=(401, 429))
async def log_in(request: web.Request, body: PasswordLogin) -> Session:
    """Log in with login id and password

    Anyone may call it. Answers with tokens, or asks for the SMS code (`code_required`)
    when the company has the SMS step on. A wrong login id or password, a locked or an
    inactive account all answer the same 401 `login-failed`; after
    `IDENTITY_LOGIN_FAILURES_BEFORE_LOCK` (5) wrong passwords the account is locked for
    `IDENTITY_LOCK_MINUTES` (15). 429 with `Retry-After` when the SMS allowances of the
    user, its phone or its company are used up."""
    answer = await handlers.password_login(commands.LogIn(body.login, body.password),
                                           identity(request))
    return Session(**answer.model_dump())


@routes.post("/v1/sessions/code", body=CodeEntry, response=Session, tags=("login",),
             problems=(401, 410, 429))
async def enter_code(request: web.Request, body: CodeEntry) -> Session:
    """Finish a login with the SMS code

    Anyone with a login attempt may call it. Answers with tokens; a mobile number several
    accounts use answers `account_choice_required` with the accounts: pick one with POST
    /v1/sessions/phone/account. A wrong code answers 401 `code-invalid` with `tries_left`;
    after `IDENTITY_SMS_CODE_TRIES` (5), 429 `too-many-tries` (start the login again); an
    expired code (`IDENTITY_SMS_CODE_SECONDS`, 300) 410 `code-expired`."""
    answer = await login_codes.verify_code(
        commands.EnterLoginCode(body.login_attempt_id, body.code), identity(request))
    return Session(**answer.model_dump())


class AttemptPath(BaseModel):
    """The login attempt a path names."""

    attempt_id: str = Field(min_length=1, description="The `login_attempt_id` of the answer "
                                                      "that asked for the code",
                            examples=[ATTEMPT_ID])


@routes.post("/v1/sessions/{attempt_id}/code-resend", response=Session, path_params=AttemptPath,
             tags=("login",), problems=(401, 429))
async def resend_code(request: web.Request) -> Session:
    """Send a new SMS code for a login attempt

    Anyone with a login attempt may call it, after `resend_after_seconds`
    (`IDENTITY_SMS_RESEND_COOLDOWN_SECONDS`, 30; sooner answers 429 with `Retry-After`). An
    attempt that used its tries is dead: 429 `too-many-tries`, start the login again; an
    unknown or finished attempt answers 401 `code-invalid`. A mobile-number login's resend
    counts like a new one (per client IP and per number)."""
    ctx = identity(request)
    answer = await login_codes.resend_code(commands.ResendLoginCode(
        request.match_info["attempt_id"],
        client_address(request, ctx.settings.trusted_proxy_hops)), ctx)
    return Session(**answer.model_dump())


@routes.post("/v1/sessions/phone", body=PhoneLogin, response=Session, tags=("login",),
             problems=(429,))
async def phone_login(request: web.Request, body: PhoneLogin) -> Session:
    """Log in with a mobile number

    Anyone may call it; an SMS code follows (finish with POST /v1/sessions/code). The
    answer, the tries and the number's hourly SMS limit are the same whether or not an
    account uses the number. A few logins per client IP and hour
    (`IDENTITY_PHONE_LOGINS_PER_IP_PER_HOUR`, 30; 429 with `Retry-After`). The token reaches
    only the number's own functions that the company allows (`phone_login_permissions`)."""
    ctx = identity(request)
    answer = await phone_handlers.phone_login(commands.LogInWithPhone(
        body.phone, client_address(request, ctx.settings.trusted_proxy_hops)), ctx)
    return Session(**answer.model_dump())


@routes.post("/v1/sessions/phone/account", body=PhoneAccountChoice, response=Session,
             tags=("login",), problems=(401, 422))
async def choose_phone_account(request: web.Request, body: PhoneAccountChoice) -> Session:
    """Pick the account a mobile-number login enters

    Anyone whose mobile-number login answered `account_choice_required`. Logs in to the
    account picked from those offered (single use, valid as long as the code was). 401
    `code-invalid` for an unknown or used attempt; 422 for an account not offered."""
    answer = await phone_handlers.choose_phone_account(
        commands.ChoosePhoneAccount(body.login_attempt_id, body.account_id), identity(request))
    return Session(**answer.model_dump())


@routes.post("/v1/sessions/refresh", body=RefreshGrant, response=Session, tags=("login",),
             problems=(401,))
async def refresh(request: web.Request, body: RefreshGrant) -> Session:
    """Get a new access token with a refresh token

    Anyone holding a refresh token. The refresh token is replaced (rotation): use the new
    one next time. Presenting a refresh token already used ends every session of its
    family; 401 `refresh-token-invalid` for a used, expired or revoked token or after a
    password change."""
    answer = await session_tokens.refresh(commands.RefreshSession(body.refresh_token),
                                          identity(request))
    return Session(**answer.model_dump())


@routes.post("/v1/sessions/logout", body=RefreshGrant, status=204, tags=("login",))
async def log_out(request: web.Request, body: RefreshGrant) -> None:
    """Log out

    Anyone holding a refresh token. The session's refresh tokens stop working (the access
    token runs out within `expires_in`). Answers 204 also for an unknown token."""
    await session_tokens.log_out(commands.LogOut(body.refresh_token), identity(request))


@routes.post("/v1/oauth/token", body=ClientCredentials, response=ClientToken,
             tags=("tokens",), problems=(401, 403))
async def client_token(request: web.Request, body: ClientCredentials) -> ClientToken:
    """Get a token for an internal client

    Internal clients (support desk, back-office systems) configured in
    `IDENTITY_INTERNAL_CLIENTS`: a token by client credentials, for the requested scopes (by
    default all of the client's). 401 `invalid-client` for an unknown client or a wrong
    secret; 403 `invalid-scope` for a scope the client does not have."""
    issued = await client_handlers.client_token(
        commands.IssueClientToken(body.client_id, body.client_secret, body.scope),
        identity(request))
    return ClientToken(**issued.model_dump())
