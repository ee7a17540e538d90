"""Response models shared by several of identity's route modules."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

# Examples the API documents show (realistic, never a real secret).
EXAMPLE_USER_ID = "5f0c1d2e-8a4b-4c6d-9e7f-1a2b3c4d5e6f"
EXAMPLE_COMPANY_ID = "0b7e3c9a-2f41-4d8e-a6b5-7c1d2e3f4a5b"
EXAMPLE_ACCESS_TOKEN = ("eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiI1ZjBjMWQyZSJ9."
                        "bXktc2lnbmF0dXJlLWV4YW1wbGU")
EXAMPLE_LINK_TOKEN = "Qm9ZQ2p3dU1LTl9vc3dmX0J0bWN4Q0lKd3VqX2dGZWE"
EXAMPLE_NEW_PASSWORD = "Mond$Laterne42"


def new_password_field() -> Any:
    """A new password as the password forms take it (the policy is checked by the handler)."""
    return Field(min_length=1, max_length=200,
                 description="The new password; it must meet the company's password policy "
                             "(each broken rule is named in the 422)",
                 examples=[EXAMPLE_NEW_PASSWORD])


def repeat_field() -> Any:
    return Field(min_length=1, max_length=200, description="The new password again",
                 examples=[EXAMPLE_NEW_PASSWORD])


class Accepted(BaseModel):
    """The request was taken; what happens next goes by email or SMS."""

    detail: str = Field(description="What happens next, in words for the person",
                        examples=[("If this address can be registered, a verification "
                                   "email is on its way.")])


class PhoneAccount(BaseModel):
    """One account a mobile number logs in to, offered after its code was entered."""

    account_id: str = Field(description="The account (user id) to pick with "
                                        "POST /v1/sessions/phone/account",
                            examples=[EXAMPLE_USER_ID])
    company_id: str = Field(description="The company of the account",
                            examples=[EXAMPLE_COMPANY_ID])
    company_name: str = Field(description="The company's name, to tell the accounts apart",
                              examples=["Muster GmbH"])
    name: str = Field(description="The account holder's first name and surname",
                      examples=["Anna Schmidt"])


class Session(BaseModel):
    """The answer to a login step: tokens (``status`` ``authenticated``), or the next step:
    an SMS code (``code_required``) or a choice of account (``account_choice_required``)."""

    status: Literal["authenticated", "code_required", "account_choice_required"] = Field(
        description="authenticated: the tokens are here; code_required: enter the SMS code "
                    "with POST /v1/sessions/code; account_choice_required: pick one of "
                    "`accounts` with POST /v1/sessions/phone/account",
        examples=["authenticated"])
    access_token: str | None = Field(
        None, description="A JWT (EdDSA, keys at /.well-known/jwks.json) to send as "
                          "`Authorization: Bearer …`; only when authenticated",
        examples=[EXAMPLE_ACCESS_TOKEN])
    token_type: str | None = Field(None, description="Always `Bearer` when authenticated",
                                   examples=["Bearer"])
    expires_in: int | None = Field(None, description="Seconds the access token is valid "
                                                     "(IDENTITY_ACCESS_TOKEN_SECONDS, 600)",
                                   examples=[600])
    refresh_token: str | None = Field(
        None, description="Gets a new access token with POST /v1/sessions/refresh (single "
                          "use: each refresh answers a new one); ends with POST "
                          "/v1/sessions/logout",
        examples=["c3RhdGljLXJlZnJlc2gtdG9rZW4tZXhhbXBsZS0xMjM0NTY"])
    password_change_required: bool = Field(
        False, description="True after a temporary password: the token only allows changing "
                           "the password (POST /v1/me/password) and reading /v1/me",
        examples=[False])
    second_factor: Literal["sms"] | None = Field(
        None, description="The kind of code asked for; only with code_required",
        examples=["sms"])
    login_attempt_id: str | None = Field(
        None, description="Send it with the code (POST /v1/sessions/code) or to ask for a new "
                          "code (POST /v1/sessions/{attempt_id}/code-resend)",
        examples=["b1946ac92492d2347c6235b4d2611184"])
    phone_hint: str | None = Field(
        None, description="The number the code went to, its middle hidden",
        examples=["+36•••••••67"])
    code_expires_in: int | None = Field(None, description="Seconds the SMS code is valid",
                                        examples=[300])
    resend_after_seconds: int | None = Field(
        None, description="Seconds to wait before a new code may be asked for",
        examples=[30])
    # ID-6: the accounts a mobile number leads to, offered once its code was entered.
    accounts: list[PhoneAccount] | None = Field(
        None, description="The accounts the mobile number logs in to; only with "
                          "account_choice_required")
