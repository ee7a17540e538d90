"""One-time passwords of customer numbers (CON-1, CON-2): generated with ``secrets``, valid the
configured time (``otp_valid_days`` or ``otp_valid_hours``; 10 days by default), stored as a
keyed hash (HMAC-SHA256 with a server-side pepper: the password is short, so a plain hash
could be brute-forced from a stolen database) and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from services.contracts.domain.model import Record

# No 0/O, 1/I/L: the password is typed from a letter.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 12  # 31^12 ≈ 2^59


class OneTimePassword(Record):
    """What is kept of a customer number's password: its keyed hash, when it was issued and
    expires, and (once linked with) which company it is bound to and when it was used up."""

    hash: str = ""
    issued_at: datetime | None = None
    expires_at: datetime
    used_at: datetime | None = None
    bound_company_id: str | None = None


def generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(typed: str) -> str:
    """What the customer typed, without spaces or dashes, in upper case."""
    return "".join(c for c in typed.upper() if c not in " -\t")


def digest(customer_number: str, password: str, pepper: bytes) -> str:
    """The keyed hash stored for ``password``, bound to its customer number."""
    message = f"{customer_number}\x00{normalise(password)}".encode()
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()


def matches(stored: str, customer_number: str, typed: str, pepper: bytes) -> bool:
    return hmac.compare_digest(stored, digest(customer_number, typed, pepper))


def issue(customer_number: str, now: datetime, *, valid_days: float,
          pepper: bytes) -> tuple[str, OneTimePassword]:
    """A new password and the record kept of it (hash, issue and expiry time)."""
    password = generate()
    record = OneTimePassword(hash=digest(customer_number, password, pepper), issued_at=now,
                             expires_at=now + timedelta(days=valid_days))
    return password, record
