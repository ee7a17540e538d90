"""ID-3: the password policy, each violated rule reported by name."""

import pytest
from pydantic import ValidationError

from services.identity.domain.passwords import (
    PasswordPolicy,
    common_password_count,
    contains_username,
    is_common,
)

pytestmark = pytest.mark.unit
POLICY = PasswordPolicy()


@pytest.mark.parametrize("password,rules", [
    ("Sicher!Pass42", []),
    ("Ab1!", ["too_short"]),
    ("A" * 30 + "1!x", ["too_long"]),
    ("40958372!", ["letter"]),
    ("12345678!", ["letter", "common_password"]),
    ("Abcdefgh!", ["digit"]),
    ("Abcdefgh1", ["special_character"]),
    ("Grüne!1234", ["umlaut"]),
    ("Grosse!1234ß", ["eszett"]),
    ("Grüße!1234", ["umlaut", "eszett"]),
    ("Sicher.Pass42!", ["allowed_characters"]),
    ("Sicher Pass42!", ["allowed_characters"]),
    ("Sicher·Pass42", []),
])
def test_each_platform_rule_is_reported_by_name(password, rules):
    assert POLICY.violations(password) == rules


def test_every_special_character_of_the_policy_is_allowed():
    for c in "!$/()=?+*#'-_·:,;":
        assert POLICY.violations(f"Sicher{c}Pass42") == [], c


def test_several_broken_rules_are_all_reported():
    assert POLICY.violations("äb") == ["too_short", "digit", "special_character", "umlaut"]


def test_seed001_each_policy_line_has_its_own_rule_name():
    """Seed 001 lists "8 bis 32 Zeichen" and "keine Umlaute und kein scharfes S" as lines;
    the portal names exactly the part that is wrong."""
    assert "too_short" in POLICY.violations("Ab1!")
    assert "too_long" in POLICY.violations("Ab1!" * 9)
    assert POLICY.violations("Schön!Pass42") == ["umlaut"]
    assert POLICY.violations("Strasse!Paß42") == ["eszett"]
    assert {POLICY.message(r) for r in ("too_short", "too_long", "umlaut", "eszett")} == {
        "at least 8 characters", "at most 32 characters", "no umlauts (ä, ö, ü)",
        "no sharp s (ß)"}


def test_password_may_not_contain_the_username_or_a_part_of_it():
    assert POLICY.violations("xx!annamuster1", username="annamuster") == ["not_username"]
    assert contains_username("Muster!2024x", "anna.muster@firma")
    assert not contains_username("Sicher!Pass42", "anna.muster@firma")


@pytest.mark.parametrize("password,username", [
    ("ab_cd_kmwzmh1", "ab_cd_kmwzmh12"),   # a part of the username (seed 001: ID-3)
    ("AB_CD_KMWZMH12!", "ab_cd_kmwzmh12"),  # the username itself, other case
    ("Xy!kmwz2024", "ab_cd_kmwzmh12"),      # 4 consecutive characters of it
    ("Q!1_cd_x99", "ab_cd_kmwzmh12"),       # a run across a separator
    ("Firma!2024x", "anna.muster@firma"),   # the company part of name@company
    ("Anna!2024xy", "anna.muster@firma"),   # the name part
])
def test_password_with_any_four_consecutive_characters_of_the_username_is_refused(
        password, username):
    assert "not_username" in POLICY.violations(password, username=username)


@pytest.mark.parametrize("password,username", [
    ("Xy!kmw2024z", "ab_cd_kmwzmh12"),      # only 3 in a row
    ("Sicher!Pass42", "anna.muster@firma"),
])
def test_password_sharing_fewer_than_four_consecutive_characters_is_accepted(
        password, username):
    assert "not_username" not in POLICY.violations(password, username=username)


def test_common_passwords_are_refused_also_with_digits_and_specials_around_them():
    assert common_password_count() >= 10_000
    assert is_common("password") and is_common("Password1!") and is_common("!!qwerty2024")
    assert POLICY.violations("Password1!") == ["common_password"]
    assert not is_common("Sicher!Pass42")


def test_company_policy_can_be_stricter():
    strict = PasswordPolicy(min_length=12, min_character_classes=4, history=10)
    assert strict.violations("sicher!pass42") == ["character_classes"]
    assert strict.violations("Sicher!Pa42") == ["too_short"]
    assert strict.violations("Sicher!Pass42x") == []


@pytest.mark.parametrize("field,value", [("min_length", 7), ("min_character_classes", 2),
                                         ("history", 4)])
def test_company_policy_can_never_be_weaker_than_the_platforms(field, value):
    with pytest.raises(ValidationError) as e:
        PasswordPolicy(**{field: value})
    assert e.value.errors()[0]["loc"] == (field,)
