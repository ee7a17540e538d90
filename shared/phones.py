"""Phone numbers: the one normaliser of the platform (E.164 with ``phonenumbers``).

National numbers are read in a region, Hungary by default: ``06 30 123 4567``,
``301234567`` (a 9-digit Hungarian number written without its trunk prefix) and
``+36 30 123 4567`` are all ``+36301234567``. With no region (``None``) only a number written
in international format (``+`` and the country code) is one, read as written.

- ``normalize_phone``: the number to send to or store, or ``InvalidPhoneNumber`` for text that
  is not a possible phone number (``valid=True``: ``UnassignedPhoneNumber`` for a number its
  numbering plan does not assign; ``mobile_only=True``: ``NotAMobileNumber`` for a fixed
  line, premium-rate or other service number, which SMS pumping would pay);
- ``phone_key``: the form two numbers are compared in (e.g. a contract's access number and a
  mobile-number login's ``phone`` claim): the E.164 number, or for anything else the text
  without whitespace, so it matches nothing but itself;
- ``REGIONS``: the regions ``phonenumbers`` knows, by ISO 3166-1 alpha-2 code (a country code
  in an address is checked against them).
"""

from __future__ import annotations

import phonenumbers

__all__ = ["DEFAULT_REGION", "REGIONS", "InvalidPhoneNumber", "NotAMobileNumber",
           "UnassignedPhoneNumber", "normalize_phone", "phone_key"]

DEFAULT_REGION = "HU"
REGIONS: frozenset[str] = frozenset(phonenumbers.SUPPORTED_REGIONS)


class InvalidPhoneNumber(ValueError):
    """Text that is not a possible phone number."""


class UnassignedPhoneNumber(InvalidPhoneNumber):
    """A number its numbering plan does not assign (``valid=True``)."""


class NotAMobileNumber(InvalidPhoneNumber):
    """A phone number that can not receive SMS codes."""


# A number its numbering plan does not tell apart from a mobile one counts as mobile.
MOBILE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def normalize_phone(text: str, region: str | None = DEFAULT_REGION, *, valid: bool = False,
                    mobile_only: bool = False) -> str:
    """``text`` in E.164 (``+36301234567``); national numbers are read in ``region``
    (``None``: none is, only the international format as written is a number). ``valid``: the
    number must be one its numbering plan assigns, not merely of a possible length;
    ``mobile_only``: it must be a mobile number."""
    # Without a region nothing is read nationally; phonenumbers' own rules of what may stand
    # between the digits apply unchanged.
    number = text if region is None else "".join(text.split())
    if region == "HU" and number.isdigit() and len(number) == 9:
        number = "06" + number
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("not a phone number") from None
    if valid and not phonenumbers.is_valid_number(parsed):
        raise UnassignedPhoneNumber("not a valid phone number")
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber("not a possible phone number")
    if mobile_only and phonenumbers.number_type(parsed) not in MOBILE:
        raise NotAMobileNumber("not a mobile number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_key(text: str, region: str = DEFAULT_REGION) -> str:
    """What ``text`` is compared as: its E.164 number, or the text without whitespace."""
    try:
        return normalize_phone(text, region)
    except InvalidPhoneNumber:
        return "".join(text.split())
