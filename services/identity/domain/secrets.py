"""One-time secrets: link tokens (high entropy, stored as SHA-256) and short codes (stored as
a keyed HMAC, because six digits are too few for a plain hash to hide)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Tokens are stored only as this hash; a lookup by hash needs no comparison of secrets."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_numeric_code(digits: int = 6) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(digits))


_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_activation_code(length: int = 10) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


def new_temporary_password() -> str:
    """A temporary password that meets the platform policy (ID-7)."""
    chars = [secrets.choice(string.ascii_uppercase), secrets.choice(string.ascii_lowercase),
             secrets.choice(string.digits), secrets.choice("!$?+*#"),
             *(secrets.choice(string.ascii_letters + string.digits) for _ in range(10))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def code_hash(pepper: str, purpose: str, code: str) -> str:
    return hmac.new(pepper.encode(), f"{purpose}:{code}".encode(), hashlib.sha256).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
