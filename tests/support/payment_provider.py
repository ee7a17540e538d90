"""A small local card payment provider: the test tokenises a card here (as the portal's
payment form would) and billing asks it to confirm the token (``POST /v1/tokens/verify``)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.test_utils import TestServer


class PaymentProvider:
    def __init__(self) -> None:
        self.cards: dict[str, dict] = {}
        self.verifications = 0
        self.url = ""

    def tokenise(self, *, brand: str, last4: str, exp_month: int, exp_year: int) -> str:
        """A token for a card the provider holds (the card number itself stays here)."""
        token = f"tok_{uuid.uuid4().hex}"
        self.cards[token] = {"brand": brand, "last4": last4, "exp_month": exp_month,
                             "exp_year": exp_year}
        return token

    async def verify(self, request: web.Request) -> web.Response:
        self.verifications += 1
        body = await request.json()
        card = self.cards.get(body.get("token", ""))
        if card is None:
            return web.json_response({"error": "unknown token"}, status=404)
        return web.json_response({"token": body["token"], "status": "valid", **card})

    @classmethod
    @contextlib.asynccontextmanager
    async def serving(cls) -> AsyncIterator[PaymentProvider]:
        provider = cls()
        app = web.Application()
        app.router.add_post("/v1/tokens/verify", provider.verify)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        provider.url = str(server.make_url("")).rstrip("/")
        try:
            yield provider
        finally:
            await server.close()
