"""SEPA direct debit: IBAN and BIC plausibility (schwifty), SEPA countries only, mandates."""

from __future__ import annotations

import re

from schwifty import BIC, IBAN

from services.billing.domain.errors import InvalidBic, InvalidIban, field_problem


def check_iban(raw: str, field: str = "iban") -> IBAN:
    try:
        iban = IBAN(raw)
    except ValueError:
        raise field_problem(InvalidIban, field, "iban",
                            "The IBAN is not valid (length, country format or check digits); "
                            "check it against the bank statement.") from None
    if not iban.in_sepa_zone:
        raise field_problem(InvalidIban, field, "sepa_country",
                            "SEPA direct debit needs an account in a SEPA country; "
                            "choose another payment method for this account.")
    return iban


def check_bic(raw: str, iban: IBAN, field: str = "bic") -> BIC:
    try:
        bic = BIC(raw)
    except ValueError:
        raise field_problem(InvalidBic, field, "bic",
                            "The BIC is not valid: 8 or 11 characters, e.g. COBADEFFXXX.") from None
    if bic.country_code != iban.country_code and not _same_sepa_scheme(bic, iban):
        raise field_problem(InvalidBic, field, "bic_country",
                            "The BIC belongs to another country than the IBAN; "
                            "send the BIC of the bank that holds the account.")
    return bic


def _same_sepa_scheme(bic: BIC, iban: IBAN) -> bool:
    # Monaco, San Marino and Andorra accounts are often held through French/Italian/Spanish BICs.
    return {bic.country_code, iban.country_code} in ({"FR", "MC"}, {"IT", "SM"}, {"IT", "VA"})


def mask_iban(iban: str) -> str:
    """What a person may see: country, check digits and the last four, e.g. ``DE89 •••• 3000``."""
    return f"{iban[:4]} •••• {iban[-4:]}"


def mandate_reference(company_id: str, n: int) -> str:
    """A SEPA mandate reference (max 35 characters of the allowed set), unique per company."""
    company = re.sub(r"[^A-Za-z0-9]", "", company_id)[:12].upper() or "X"
    return f"BAP-{company}-{n:04d}"
