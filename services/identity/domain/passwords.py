"""The password policy (ID-3): each rule has a name, and every violated rule is reported."""

from __future__ import annotations

import string
from dataclasses import dataclass

SPECIALS = "!$/()=?+*#'-_·:,;"
ALLOWED = set(string.ascii_letters + string.digits + SPECIALS)
UMLAUTS = set("äöüÄÖÜß")


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 8
    max_length: int = 32

    def violations(self, password: str, username: str | None = None) -> list[str]:
        """Names of the rules ``password`` breaks, in a stable order; empty when it passes."""
        broken = []
        if not self.min_length <= len(password) <= self.max_length:
            broken.append("length")
        if not any(c in string.ascii_letters for c in password):
            broken.append("letter")
        if not any(c in string.digits for c in password):
            broken.append("digit")
        if not any(c in SPECIALS for c in password):
            broken.append("special_character")
        if any(c in UMLAUTS for c in password):
            broken.append("no_umlauts")
        if any(c not in ALLOWED and c not in UMLAUTS for c in password):
            broken.append("allowed_characters")
        if username and username.lower() in password.lower():
            broken.append("not_username")
        return broken


RULE_MESSAGES = {
    "length": "8 to 32 characters",
    "letter": "at least one letter",
    "digit": "at least one digit",
    "special_character": f"at least one of {SPECIALS}",
    "no_umlauts": "no umlauts and no ß",
    "allowed_characters": f"only a-z, A-Z, 0-9 and {SPECIALS}",
    "not_username": "must not contain the username",
}
