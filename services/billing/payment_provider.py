"""Adapter (the card payment provider): the provider as billing sees it: it confirms that a
token stands for a card of the brand, last four digits and expiry the portal sent. Card numbers
never reach billing.

``HttpCardProvider`` talks to the provider's API (``POST {url}/v1/tokens/verify`` with the
token; the answer names the card's brand, last4 and expiry, 404 for an unknown token).
``SandboxCardProvider`` is the local default with no provider configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from shared.logging import get_logger

log = get_logger("payment_provider")


@dataclass(frozen=True)
class CardOnFile:
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class ProviderUnavailable(Exception):
    pass


class CardProvider(Protocol):
    async def card_for(self, token: str) -> CardOnFile | None:
        """The card behind ``token``, or None when the provider does not know the token."""

    async def close(self) -> None: ...


class HttpCardProvider:
    def __init__(self, url: str, timeout_seconds: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout_seconds))

    async def card_for(self, token: str) -> CardOnFile | None:
        try:
            async with self._session.post(f"{self.url}/v1/tokens/verify",
                                          json={"token": token}) as r:
                if r.status == 404:
                    return None
                r.raise_for_status()
                body = await r.json()
            return CardOnFile(brand=str(body["brand"]), last4=str(body["last4"]),
                              exp_month=int(body["exp_month"]), exp_year=int(body["exp_year"]))
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError, TypeError) as e:
            # The token is a credential of the provider: never in a log line.
            log.warning("payment provider did not answer", error=type(e).__name__)
            raise ProviderUnavailable() from None

    async def close(self) -> None:
        await self._session.close()


class SandboxCardProvider:
    """Local development only: a ``tok_sandbox_…`` token stands for whatever card was sent."""

    TOKEN = re.compile(r"tok_sandbox_[A-Za-z0-9_]{4,}")

    async def card_for(self, token: str) -> CardOnFile | None:
        return None if not self.TOKEN.fullmatch(token) else CardOnFile("*", "*", 0, 0)

    async def close(self) -> None:
        return None
