"""The password policy (ID-3): each rule has a name, and every violated rule is reported.
Each line of the policy has its own rule name (``too_short`` apart from ``too_long``,
``umlaut`` apart from ``eszett``), so the portal can say exactly what is wrong.

The platform policy is the floor; a company administrator may make it stricter (longer
minimum, more character classes, longer history) but never weaker.
"""

from __future__ import annotations

import string
from functools import lru_cache

from pydantic import BaseModel, Field

SPECIALS = "!$/()=?+*#'-_·:,;"
ALLOWED = frozenset(string.ascii_letters + string.digits + SPECIALS)
UMLAUTS = frozenset("äöüÄÖÜ")
ESZETT = frozenset("ßẞ")
MIN_LENGTH, MAX_LENGTH = 8, 32
MIN_CLASSES = 3  # letter, digit, special
HISTORY = 5
# Shortest run of the username's characters a password may not contain (ID-3).
USERNAME_RUN = 4

RULE_MESSAGES = {
    "too_short": "at least {min} characters",
    "too_long": f"at most {MAX_LENGTH} characters",
    "letter": "at least one letter",
    "digit": "at least one digit",
    "special_character": f"at least one of {SPECIALS}",
    "character_classes": "characters from at least {classes} of: lower case, upper case, "
                         "digits, special characters",
    "umlaut": "no umlauts (ä, ö, ü)",
    "eszett": "no sharp s (ß)",
    "allowed_characters": f"only a-z, A-Z, 0-9 and {SPECIALS}",
    "not_username": "must not be the username, contain it or any 4 consecutive characters "
                    "of it",
    "not_recently_used": "must differ from the last {history} passwords",
    "common_password": "must not be a commonly used password",
    "repeat_matches": "the repeated password must be the same",
}


class PasswordPolicy(BaseModel):
    """A company's password requirements; the defaults are the platform's."""

    min_length: int = Field(MIN_LENGTH, ge=MIN_LENGTH, le=MAX_LENGTH,
                            description=f"Shortest password, {MIN_LENGTH}–{MAX_LENGTH} "
                                        "characters", examples=[12])
    # Of lower case, upper case, digit, special: 3 means the platform rule (letter, digit,
    # special); 4 also asks for both cases.
    min_character_classes: int = Field(
        MIN_CLASSES, ge=MIN_CLASSES, le=4,
        description="3: a letter, a digit and a special character; 4: also both upper and "
                    "lower case", examples=[4])
    history: int = Field(HISTORY, ge=HISTORY, le=24,
                         description="How many previous passwords a new one must differ "
                                     f"from, {HISTORY}–24", examples=[10])

    def message(self, rule: str) -> str:
        return RULE_MESSAGES[rule].format(min=self.min_length,
                                          classes=self.min_character_classes,
                                          history=self.history)

    def violations(self, password: str, username: str | None = None) -> list[str]:
        """Names of the rules ``password`` breaks (history aside), in a stable order."""
        broken = []
        if len(password) < self.min_length:
            broken.append("too_short")
        if len(password) > MAX_LENGTH:
            broken.append("too_long")
        has_letter = any(c in string.ascii_letters for c in password)
        if not has_letter:
            broken.append("letter")
        if not any(c in string.digits for c in password):
            broken.append("digit")
        if not any(c in SPECIALS for c in password):
            broken.append("special_character")
        if self.min_character_classes > MIN_CLASSES and not (
                any(c.islower() for c in password if c in ALLOWED)
                and any(c.isupper() for c in password if c in ALLOWED)):
            broken.append("character_classes")
        if any(c in UMLAUTS for c in password):
            broken.append("umlaut")
        if any(c in ESZETT for c in password):
            broken.append("eszett")
        if any(c not in ALLOWED and c not in UMLAUTS and c not in ESZETT for c in password):
            broken.append("allowed_characters")
        if username and contains_username(password, username):
            broken.append("not_username")
        if is_common(password):
            broken.append("common_password")
        return broken


def contains_username(password: str, username: str) -> bool:
    """ID-3 "not the username or a part of it": the password equals or contains the username,
    or any run of ``USERNAME_RUN`` consecutive characters of it (case-insensitive; for a
    ``name@company`` login id that covers both parts). A shorter username counts whole."""
    pw = password.lower()
    name = username.lower()
    if len(name) < USERNAME_RUN:
        return name in pw
    return any(name[i:i + USERNAME_RUN] in pw for i in range(len(name) - USERNAME_RUN + 1))


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    # 30 000 most common passwords from the zxcvbn project's frequency lists.
    # zxcvbn ships no type information (no py.typed, no stubs package pinned).
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]
    return frozenset(FREQUENCY_LISTS["passwords"])


def common_password_count() -> int:
    return len(_common())


def is_common(password: str) -> bool:
    """A common password, also with digits or special characters added around it."""
    lowered = password.lower()
    core = lowered.strip("0123456789" + SPECIALS)
    alnum = "".join(c for c in lowered if c.isalnum())
    common = _common()
    return lowered in common or alnum in common or (len(core) >= 4 and core in common)

