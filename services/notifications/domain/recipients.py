"""How recipients appear in the delivery log: masked for people, hashed for search and dedup."""

from __future__ import annotations

import hashlib

from shared.phones import InvalidPhoneNumber, normalize_phone


class InvalidRecipient(ValueError):
    """An address or phone number no message can go to."""


def normalize_email(address: str) -> str:
    return address.strip().lower()


def normalize(channel: str, address: str, region: str = "HU") -> str:
    if channel != "sms":
        return normalize_email(address)
    try:
        return normalize_phone(address, region)
    except InvalidPhoneNumber as e:
        raise InvalidRecipient(str(e)) from None


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(number: str) -> str:
    return f"{number[:4]}•••{number[-2:]}" if len(number) > 6 else "•••"


def mask(channel: str, address: str) -> str:
    return mask_phone(address) if channel == "sms" else mask_email(address)


def recipient_key(address: str) -> str:
    """The searchable, non-reversible key of a normalized address (sha256)."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:32]
