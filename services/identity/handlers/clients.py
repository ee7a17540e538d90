"""Tokens for internal clients (support desk, back-office systems) by client credentials."""

from __future__ import annotations

import hashlib
import secrets

from pydantic import BaseModel

from services.identity.domain.commands import IssueClientToken
from services.identity.handlers import Identity
from services.identity.tokens import access_token
from shared.errors import Forbidden, Unauthenticated


class IssuedClientToken(BaseModel):
    """An internal client's access token."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str


async def client_token(cmd: IssueClientToken, identity: Identity) -> IssuedClientToken:
    """Client credentials for the support desk and back-office systems."""
    client_id, client_secret, scope = cmd.client_id, cmd.client_secret, cmd.scope
    given = hashlib.sha256(client_secret.encode()).hexdigest()
    match = None
    for client in identity.settings.internal_clients:
        same_id = secrets.compare_digest(client.client_id.encode(), client_id.encode())
        same_secret = secrets.compare_digest(client.secret_sha256.lower().encode(),
                                             given.encode())
        if same_id and same_secret:
            match = client
    if match is None:
        raise Unauthenticated("Unknown client or wrong secret.", slug="invalid-client")
    requested = set(scope.split()) if scope else set(match.scopes)
    if not requested <= set(match.scopes):
        raise Forbidden("The client may not ask for these scopes.", slug="invalid-scope",
                        not_allowed=sorted(requested - set(match.scopes)))
    lifetime = identity.settings.access_token_seconds
    token = access_token(identity.keys, issuer=identity.settings.token_issuer,
                         audience=identity.settings.token_audience, subject=match.client_id,
                         lifetime=lifetime, typ="client", scope=" ".join(sorted(requested)))
    return IssuedClientToken(access_token=token, token_type="Bearer", expires_in=lifetime,
                             scope=" ".join(sorted(requested)))
