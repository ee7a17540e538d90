"""What the OpenAPI document says about an operation beyond its models: the texts (summary,
description, the requirement ids moved out of them), the headers it reads and writes, the
problems it can answer with an example each, and who may call it (``shared.openapi`` puts
them together).

Requirement ids (``ID-3``, ``BIL-2``, ``Seed 004``) are internal: the summary and the
description leave them out and ``x-requirements`` keeps them for the team's traceability.
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any

from shared.protocol import PROBLEM_JSON

if TYPE_CHECKING:
    from shared.auth import Access
    from shared.http.routes import Route

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# The internal requirement ids of docs/DOMAIN.md and the seed pages' numbers.
REQUIREMENT_ID = re.compile(r"\b(?:ID|BIL|CON|NOT|PLT)-\d+\b|\b[Ss]eeds? \d{3}\b")
_ID = r"(?:(?:ID|BIL|CON|NOT|PLT)-\d+|[Ss]eeds? \d{3})"
# "ID-2 / ID-7: ", "ID-8 (seed 002): ", "Seed 004 / ID-6: " at the start of a docstring.
_LEADING_IDS = re.compile(rf"^\s*{_ID}(?:\s*(?:/|,|and|&)\s*{_ID})*(?:\s*\([^)]*\))?\s*:\s*")
# "(ID-6)", "(seed 002, ID-8)" anywhere.
_BRACKETED_IDS = re.compile(rf"\s*\(\s*{_ID}(?:\s*(?:/|,|and|&)\s*{_ID})*\s*\)")
_SENTENCE_END = re.compile(r"(?<![ .]e\.g)(?<![ .]i\.e)(?<!\bvs)[.;!?](?=\s|$)")
SUMMARY_MAX = 120


def requirement_ids(text: str) -> list[str]:
    found: list[str] = []
    for m in REQUIREMENT_ID.finditer(text):
        if m.group(0) not in found:
            found.append(m.group(0))
    return found


def without_requirement_ids(text: str) -> str:
    """``text`` for a client: the requirement ids and what only joined them left out."""
    text = _LEADING_IDS.sub("", text)
    text = _BRACKETED_IDS.sub("", text)
    text = REQUIREMENT_ID.sub("", text)
    text = re.sub(r"\(\s*[,/]?\s*\)", "", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return text[:1].upper() + text[1:]


def operation_texts(r: Route) -> tuple[str, str, list[str]]:
    """(summary, description, requirement ids) of a route: an explicit ``summary=`` or the
    first sentence of the docstring's first paragraph; an explicit ``description=`` or the
    docstring (without a first paragraph that is only the summary; a long explicit summary's
    further sentences lead it)."""
    doc = inspect.cleandoc(r.handler.__doc__ or "")
    ids = requirement_ids(" ".join((r.summary, r.description, doc)))
    paragraphs = [p for p in re.split(r"\n\s*\n", doc) if p.strip()]
    source = r.summary or (paragraphs[0] if paragraphs else "")
    clean = " ".join(without_requirement_ids(source).split())
    end = _SENTENCE_END.search(clean)
    summary = clean[:end.start()] if end else clean
    rest = clean[end.end():].strip() if end else ""
    if len(summary) > SUMMARY_MAX:
        summary = summary[:SUMMARY_MAX].rsplit(" ", 1)[0] + "…"
    if r.description:
        body = r.description
    elif not r.summary and paragraphs and not rest and len(paragraphs) > 1:
        body = "\n\n".join(paragraphs[1:])  # the first paragraph was a title
    else:
        body = doc
    body = without_requirement_ids(body)
    if r.summary and rest and rest not in body:
        body = f"{rest}\n\n{body}".strip()
    return summary.rstrip(" :,"), body or summary, ids


def access_text(access: Access) -> str:
    """Who may call, in words, for the operation's description."""
    parts = []
    if access.users:
        if access.roles or access.permissions:
            names = [f"`{n}`" for n in sorted(access.roles)]
            names += [f"delegated permission `{n}`" for n in sorted(access.permissions)]
            parts.append("users of a company with " + " or ".join(names))
        else:
            parts.append("any user of a company")
        if access.phone_permission:
            parts.append(f"a mobile-number login whose company allows "
                         f"`{access.phone_permission}` (its own number's data only)")
        elif access.allow_phone_login:
            parts.append("a mobile-number login (its own number's data only)")
    if access.scopes:
        parts.append("internal clients with scope "
                     + " or ".join(f"`{s}`" for s in sorted(access.scopes)))
    text = "**Who may call:** " + "; ".join(parts) + "."
    if access.allow_pending_password_change:
        text += " Also a user who must change their password first."
    return text


def security(access: Access) -> tuple[list[dict[str, list[str]]], dict[str, Any]]:
    """The operation's security requirements (OpenAPI 3.1 lets a bearer requirement list the
    roles it needs) and the ``x-required-*`` extensions naming roles, permissions, scopes."""
    reqs: list[dict[str, list[str]]] = []
    if access.users:
        reqs.append({"bearer": sorted(access.roles | access.permissions)})
    if access.scopes:
        reqs.append({"internalClient": sorted(access.scopes)})
    ext: dict[str, Any] = {}
    if access.users and access.roles:
        ext["x-required-roles"] = sorted(access.roles)
    if access.users and access.permissions:
        ext["x-required-permissions"] = sorted(access.permissions)
    if access.scopes:
        ext["x-required-scopes"] = sorted(access.scopes)
    if access.phone_permission or access.allow_phone_login:
        ext["x-phone-login"] = access.phone_permission or "allowed"
    return reqs, ext


def security_schemes(scopes: list[str], token_url: str) -> dict[str, Any]:
    return {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": "A user's access token from identity's login "
                                  "(`POST /v1/sessions`). A requirement lists the roles "
                                  "or delegated permissions of which the user needs one."},
        "internalClient": {"type": "oauth2", "description": (
            "Support desk and back-office systems: a token by client credentials from "
            "identity (`POST /v1/oauth/token`, client id and secret as JSON) carrying the "
            "scopes the client was configured with (`IDENTITY_INTERNAL_CLIENTS`)."),
            "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": {
                s: f"Internal clients' access: {s}" for s in scopes}}}},
    }


def token_url(jwks_url: str) -> str:
    """Where internal clients get tokens: identity, whose JWKS every service reads."""
    if "/.well-known/" not in jwks_url:
        return "/v1/oauth/token"
    return jwks_url.split("/.well-known/", 1)[0] + "/v1/oauth/token"


# Headers every operation or some read and write.
CORRELATION = "X-Correlation-ID"
_CORRELATION_TEXT = ("Ties the request to the logs of every service it reaches. Send your "
                     "own (1-100 of `A-Z a-z 0-9 . _ : -`) or one is made; answered back.")
CORRELATION_PARAMETER = {"name": CORRELATION, "in": "header", "required": False,
                         "description": _CORRELATION_TEXT,
                         "schema": {"type": "string"}, "example": "portal-7f3a9c2e"}
IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Makes retries safe: a repeated request with the same key and body "
                   "answers the first request's response without doing it again; the same "
                   "key with another body is refused (409). 1-255 visible ASCII characters, "
                   "e.g. a UUID.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255,
               "pattern": "^[\\x21-\\x7e]{1,255}$"},
    "example": "5f0b9a7e-1c7d-4b55-9a0e-2f1d6c3b8e41"}
_HEADER_TEXTS = {
    CORRELATION: ("The request's correlation id (the one sent, or the one made).",
                  "portal-7f3a9c2e"),
    "Retry-After": ("Seconds to wait before trying again.", 30),
    "Location": ("The address of the resource this request created or started.",
                 "/v1/things/3f0c1c9e-5b1a-4b6e-9d2f-0a7c2b1e4d55"),
    "Idempotent-Replayed": ("`true` when this is the stored answer to an earlier request "
                            "with the same `Idempotency-Key`.", "true"),
    "WWW-Authenticate": ("The authentication scheme (RFC 6750).",
                         'Bearer error="invalid_token"'),
}


def header(name: str, *, required: bool, kind: str = "string") -> dict[str, Any]:
    text, example = _HEADER_TEXTS[name]
    return {"description": text, "required": required, "schema": {"type": kind},
            "example": example}


PROBLEM_TEXTS: dict[int, tuple[str, str, str, str]] = {
    # status: (response description, slug, title, example detail)
    400: ("The request is malformed (for a body: not valid JSON)", "malformed-json",
          "Malformed JSON", "The body is not valid JSON."),
    401: ("No access token, or one that is not valid (expired, wrong signature), or wrong "
          "credentials", "unauthenticated", "Authentication required",
          "Send an access token as 'Authorization: Bearer <token>'."),
    403: ("The caller's role, permissions or scopes do not allow this", "forbidden",
          "Not allowed", "Your role does not allow this."),
    404: ("No such resource in the caller's company (or an unknown or used link/code)",
          "not-found", "Not found", "No such resource."),
    409: ("The resource's state does not allow this now", "conflict", "Conflict",
          "The resource was changed by another request; read it and try again."),
    410: ("The link or code has expired", "expired", "Expired", "The link has expired."),
    413: ("The body is too large", "payload-too-large", "Payload too large",
          "The body is larger than 1048576 bytes."),
    415: ("The body is not of a media type this operation reads", "unsupported-media-type",
          "Unsupported media type", "Send the body as application/json."),
    422: ("Fields that break a rule: one entry per field and rule", "validation-error",
          "The request is not valid", "email: value_error"),
    429: ("Too many requests of this kind; `Retry-After` says when to try again",
          "too-many-requests", "Too many requests",
          "Too many requests of this kind; try again later."),
    503: ("A service this operation depends on (database, signing keys, provider) is "
          "unavailable for now; `Retry-After` says when to try again",
          "service-unavailable", "Service unavailable",
          "The database can not be reached right now; try again shortly."),
}


def problem_response(status: int, path: str, description: str | None = None
                     ) -> dict[str, Any]:
    """A problem answer with its headers and an example."""
    text, slug, title, detail = PROBLEM_TEXTS.get(
        status, ("See the problem type", "http-error", "Error", "See the problem type."))
    example: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status,
                               "detail": detail, "instance": path,
                               "correlation_id": "portal-7f3a9c2e"}
    if status == 422:
        example["errors"] = [{"field": "email", "rule": "value_error",
                              "message": "value is not a valid email address"}]
    if status == 403:
        example["required_roles"] = ["company_admin"]
    headers = {CORRELATION: header(CORRELATION, required=True)}
    if status in (429, 503):
        headers["Retry-After"] = header("Retry-After", required=False, kind="integer")
        example["retry_after"] = 30
    if status == 401:
        headers["WWW-Authenticate"] = header("WWW-Authenticate", required=False)
    return {"description": description or text, "headers": headers,
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF, "example": example}}}
