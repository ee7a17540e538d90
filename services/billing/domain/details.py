"""Billing details (BIL-1): VAT ids checked per country with python-stdnum."""

from __future__ import annotations

from stdnum.eu import vat
from stdnum.exceptions import ValidationError

from services.billing.domain.errors import InvalidVatId, field_problem


def check_vat_id(raw: str, field: str = "vat_id") -> str:
    """The VAT id in its compact form (``DE136695976``); ``InvalidVatId`` otherwise."""
    try:
        return vat.validate(raw)
    except ValidationError as e:
        raise field_problem(InvalidVatId, field, "vat_id",
                            f"The VAT id is not valid for its country ({e.message}); it starts "
                            "with the country code, e.g. DE136695976.") from None
