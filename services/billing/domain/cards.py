"""Credit cards: the brands accepted (BIL-2) and the guard against full card numbers.

The API never takes a card number (PAN): only the payment provider's token, the brand, the
last four digits and the expiry. Anything in a request that looks like a full card number — a
Luhn-valid run of 13 to 19 digits, possibly grouped by spaces or dashes — refuses the whole
request before it is validated, stored or logged.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from schwifty import IBAN

# What the portal sends → the name shown to people. Diners Club and Discover are one network.
BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "diners_discover": "Diners Club/Discover",
    "jcb": "JCB",
}
BRAND_ALIASES = {"master_card": "mastercard", "mc": "mastercard", "diners": "diners_discover",
                 "diners_club": "diners_discover", "discover": "diners_discover"}

# A maximal run of digits, single spaces or dashes allowed between them.
_DIGIT_RUN = re.compile(r"(?<![\d])\d(?:[ -]?\d)+(?![\d])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _looks_like_pan(text: str) -> bool:
    for m in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"[ -]", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def _is_iban(text: str) -> bool:
    # A valid IBAN may hold a Luhn-valid digit run by chance; it is not a card number.
    try:
        IBAN(text)
        return True
    except ValueError:
        return False


def contains_card_number(value: Any) -> bool:
    """Whether any string, number or key anywhere in ``value`` looks like a full card number."""
    if isinstance(value, dict):
        return any(contains_card_number(k) or contains_card_number(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_card_number(v) for v in value)
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return _looks_like_pan(str(int(value)) if isinstance(value, float) and value.is_integer()
                               else str(value))
    if isinstance(value, str):
        return _looks_like_pan(value) and not _is_iban(value)
    return False


def brand(name: str) -> str | None:
    """The accepted brand code for ``name`` (case and separators ignored), or None."""
    key = re.sub(r"[\s/-]+", "_", name.strip().lower())
    key = BRAND_ALIASES.get(key, key)
    return key if key in BRANDS else None


def expired(month: int, year: int, today: date) -> bool:
    """A card is valid through the last day of its expiry month."""
    return (year, month) < (today.year, today.month)
