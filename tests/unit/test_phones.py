"""One phone normaliser: E.164, national numbers read as Hungarian unless told otherwise."""

from __future__ import annotations

import pytest

from shared.phones import InvalidPhoneNumber, normalize_phone, phone_key

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
