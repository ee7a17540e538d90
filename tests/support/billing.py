"""billing as tests meet it: the real app in the test's process, tokens from the tests' token
authority, a local card payment provider, and the steps a portal or the other services would
take (the ``billing`` and ``company`` fixtures are in ``tests/integration/conftest.py``)."""

from __future__ import annotations

from datetime import UTC, datetime

import aio_pika
import aiohttp

from shared.app_keys import DB
from shared.auth import COMPANY_ADMIN
from tests.support.payment_provider import PaymentProvider
from tests.support.polling import eventually
from tests.support.services import envelope, publish
from tests.support.tokens import TokenAuthority

PAN = "4111 1111 1111 1111"  # a test Visa number: Luhn-valid
IBAN_DE = "DE89 3704 0044 0532 0130 00"
NEXT_YEAR = datetime.now(UTC).year + 1


class Billing:
    """The running service, the outside parties, and a few steps a portal would take."""

    def __init__(self, server, authority: TokenAuthority, provider: PaymentProvider,
                 amqp_url: str, bus_prefix: str, http: aiohttp.ClientSession) -> None:
        self.server, self.authority, self.provider = server, authority, provider
        self.amqp_url, self.bus_prefix, self.http = amqp_url, bus_prefix, http
        self.app = server.app
        self.url = str(server.make_url("")).rstrip("/")

    def auth(self, company_id: str, *roles: str, sub: str | None = None,
             perms: list[str] = ()) -> dict[str, str]:
        return self.authority.headers(company_id=company_id, roles=list(roles), sub=sub,
                                      perms=list(perms))

    def admin(self, company_id: str) -> dict[str, str]:
        return self.auth(company_id, COMPANY_ADMIN, sub=f"admin-{company_id}")

    async def publish(self, *envelopes: dict) -> None:
        await publish(self.amqp_url, self.bus_prefix, *envelopes)

    async def open_company(self, company_id: str, email: str = "anna@example.com") -> None:
        await self.publish(envelope("identity.company.registered.v1", {
            "company_id": company_id, "company_name": f"{company_id} GmbH",
            "admin_user_id": "u-1", "admin_email": email, "admin_first_name": "Anna",
            "admin_surname": "Muster", "admin_phone": "+36301234567", "language": "de",
        }, company_id=company_id, source="/services/identity"))
        await eventually(lambda: self.app[DB]["accounts"].find_one({"_id": company_id}))

    def linked(self, company_id: str, number: str, kind: str = "landline") -> dict:
        return envelope("contracts.customer_number.linked.v1", {
            "company_id": company_id, "customer_number": number, "kind": kind,
            "link_type": "holder", "contract_ids": ["K-1"], "access_numbers": ["+4930123456"],
        }, company_id=company_id, source="/services/contracts")

    async def link(self, company_id: str, number: str, kind: str = "landline") -> None:
        await self.publish(self.linked(company_id, number, kind))
        await eventually(lambda: self.app[DB]["customer_numbers"].find_one(
            {"_id": f"{company_id}:{number}", "linked": True}))

    async def call(self, method: str, path: str, headers: dict, body=None,
                   **kw) -> tuple[int, dict]:
        async with self.http.request(method, self.url + path, headers=headers, json=body,
                                     **kw) as r:
            return r.status, await r.json(content_type=None)

    async def add_method(self, company_id: str, body: dict, headers: dict | None = None
                         ) -> tuple[int, dict]:
        return await self.call("POST", "/v1/payment-methods",
                               headers or self.admin(company_id), body)

    def card(self, brand: str = "visa", last4: str = "1111") -> dict:
        token = self.provider.tokenise(brand=brand, last4=last4, exp_month=12,
                                       exp_year=NEXT_YEAR)
        return {"kind": "credit_card", "provider_token": token, "brand": brand,
                "last4": last4, "exp_month": 12, "exp_year": NEXT_YEAR}


PAYPAL = {"kind": "paypal", "billing_agreement_id": "B-5YM39163N4795124R",
          "payer_email": "pay@muster.example"}
SEPA = {"kind": "sepa_debit", "iban": IBAN_DE, "bic": "COBADEFFXXX",
        "account_holder": "Muster GmbH", "mandate_accepted": True}


DETAILS = {"recipient": "Muster GmbH, Buchhaltung",
           "address": {"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin",
                       "country": "DE"},
           "invoice_email": "rechnung@muster.example", "vat_id": "DE 136 695 976"}


async def parked(amqp_url: str, bus_prefix: str, count: int, seconds: float = 20) -> list:
    """The first ``count`` messages of billing's parking queue (taken off it)."""
    found: list = []
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{bus_prefix}.billing.parked", passive=True)

        async def take():
            while (m := await queue.get(fail=False)) is not None:
                await m.ack()
                found.append(m)
            return len(found) >= count

        await eventually(take, seconds=seconds)
    finally:
        await connection.close()
    return found


ISSUED = "invoicing.invoice.issued.v1"


def invoice(company_id: str, n: int, *, issued_at: datetime | str = "2026-11-30T08:00:00Z",
            customer_number: str | None = None, **overrides) -> dict:
    data = {"invoice_id": f"inv-{n}", "company_id": company_id, "number": f"R-2026-{n:06d}",
            "issued_at": issued_at if isinstance(issued_at, str) else issued_at.isoformat(),
            "due_date": "2026-12-15", "currency": "EUR", "amount_minor": 4990,
            "lines": [{"description": "Microsoft 365 Business Basic", "quantity": 5,
                       "unit_price_minor": 998, "amount_minor": 4990}],
            "customer_number": customer_number, **overrides}
    return envelope(ISSUED, data, company_id=company_id, source="/invoicing")


async def invoices(billing, company_id: str, path: str = "/v1/invoices", headers=None,
                   **query) -> tuple[int, dict]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return await billing.call("GET", f"{path}?{qs}" if qs else path,
                              headers or billing.admin(company_id))
