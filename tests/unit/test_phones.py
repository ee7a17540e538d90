"""One phone normaliser: E.164, national numbers read as Hungarian unless told otherwise."""

from __future__ import annotations

import phonenumbers
import pytest

from shared.phones import (
    REGIONS,
    InvalidPhoneNumber,
    NotAMobileNumber,
    UnassignedPhoneNumber,
    normalize_phone,
    phone_key,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("written", ["+36301234567", "06301234567", "301234567",
                                     "+36 30 123 4567", " 06 30 123 4567 ", "0036301234567"])
def test_every_way_of_writing_a_hungarian_mobile_number_is_one_number(written: str) -> None:
    assert normalize_phone(written) == phone_key(written) == "+36301234567"


def test_national_numbers_are_read_in_the_region_given() -> None:
    assert normalize_phone("030 1234567", "DE") == "+49301234567"
    assert normalize_phone("+49 30 1234567") == "+49301234567"


@pytest.mark.parametrize("text", ["12", "not a number", "", "+36 1"])
def test_text_that_is_no_possible_number_is_refused_and_compares_only_to_itself(text: str
                                                                               ) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(text)
    assert phone_key(text) == "".join(text.split())


def test_valid_refuses_a_possible_number_no_numbering_plan_assigns() -> None:
    assert normalize_phone("+36 40 123 4567") == "+36401234567"  # of a possible length
    with pytest.raises(InvalidPhoneNumber, match="not a valid phone number"):
        normalize_phone("+36 40 123 4567", valid=True)
    with pytest.raises(InvalidPhoneNumber, match="not a valid phone number"):
        normalize_phone("12", valid=True)
    assert normalize_phone("301234567", valid=True) == "+36301234567"


@pytest.mark.parametrize("fixed_or_service", ["+36 1 234 5678", "+49 30 1234567",
                                              "+36 80 123 456"])
def test_mobile_only_refuses_fixed_lines_and_service_numbers(fixed_or_service: str) -> None:
    assert normalize_phone(fixed_or_service, valid=True)
    with pytest.raises(NotAMobileNumber, match="not a mobile number"):
        normalize_phone(fixed_or_service, valid=True, mobile_only=True)


@pytest.mark.parametrize(("mobile", "e164"), [("06 30 123 4567", "+36301234567"),
                                              ("+49 151 12345678", "+4915112345678")])
def test_mobile_only_takes_mobile_numbers(mobile: str, e164: str) -> None:
    assert normalize_phone(mobile, valid=True, mobile_only=True) == e164


def _international_as_before(text: str) -> str:
    """The rule an authorised contact's phone had before it used the kit: phonenumbers with no
    region, a valid number, E.164."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return "format"
    if not phonenumbers.is_valid_number(number):
        return "invalid"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize("text", [
    "+4930123456", "+49 30 123456", " +49 (30) 123-456 ", "+49\u00a030123456", "tel:+4930123456",
    "+36 30 123 4567", "+1 800 FLOWERS", "+49-30-123456 ext. 5", "0036301234567",
    "030 123456", "06 30 123 4567", "301234567", "+49\t30123456", "+49\n30123456",
    "+49 30\u2003123456", "+36 40 123 4567", "+999 123", "12", "", "not a number"])
def test_no_region_reads_only_the_international_format_as_written(text: str) -> None:
    try:
        got = normalize_phone(text, None, valid=True)
    except UnassignedPhoneNumber:
        got = "invalid"
    except InvalidPhoneNumber:
        got = "format"
    assert got == _international_as_before(text)


def test_no_region_reads_no_national_number() -> None:
    assert normalize_phone("+36 30 123 4567", None) == "+36301234567"
    for national in ("06 30 123 4567", "301234567", "030 1234567"):
        with pytest.raises(InvalidPhoneNumber):
            normalize_phone(national, None)


def test_the_regions_are_iso_country_codes() -> None:
    assert {"DE", "HU", "AT", "GB"} <= REGIONS
    assert "XX" not in REGIONS and "de" not in REGIONS
