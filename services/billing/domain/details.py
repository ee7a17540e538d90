"""Billing details (BIL-1): VAT ids checked per country with python-stdnum."""

from __future__ import annotations

from datetime import datetime

from stdnum.eu import vat
from stdnum.exceptions import ValidationError

from services.billing.domain.errors import InvalidVatId, field_problem
from services.billing.domain.stored import Stored


def check_vat_id(raw: str, field: str = "vat_id") -> str:
    """The VAT id in its compact form (``DE136695976``); ``InvalidVatId`` otherwise."""
    try:
        return vat.validate(raw)
    except ValidationError as e:
        # Each of stdnum's errors carries its explanation as a class attribute.
        why = getattr(e, "message", str(e))
        raise field_problem(InvalidVatId, field, "vat_id",
                            f"The VAT id is not valid for its country ({why}); it starts "
                            "with the country code, e.g. DE136695976.") from None


class Address(Stored):
    street: str
    additional: str | None
    postal_code: str
    city: str
    country: str


class BillingDetails(Stored):
    """Who invoices are addressed to and where they are sent (BIL-1)."""

    recipient: str
    address: Address
    invoice_email: str
    vat_id: str | None
    updated_at: datetime | None = None
    updated_by: str | None = None
