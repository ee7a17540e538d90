"""Subscriptions (BIL-5): a product of the catalogue booked with a number of licences."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from services.billing.domain.catalogue import Product
from services.billing.domain.stored import Stored
from shared.errors import InvalidInput


class Subscription(Stored):
    """A booked product (BIL-5), priced as booked."""

    id: str
    product_id: str
    product_name: str
    licences: int
    unit_price_minor: int
    currency: str
    status: Literal["active", "awaiting_payment_method", "cancelled"]
    booked_at: datetime
    booked_by: str
    started_at: datetime | None
    cancelled_at: datetime | None

    @property
    def monthly_amount_minor(self) -> int:
        return self.licences * self.unit_price_minor


def check_licences(product: Product, licences: int) -> None:
    if licences > product.max_licences:
        raise InvalidInput(
            [{"field": "licences", "rule": "max_licences",
              "message": f"{product.name} can be booked with at most {product.max_licences} "
                         "licences."}])
