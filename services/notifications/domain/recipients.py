"""How recipients appear in the delivery log: masked for people, hashed for search and dedup."""

from __future__ import annotations

import hashlib

import phonenumbers


class InvalidRecipient(ValueError):
    """An address or phone number no message can go to."""


def normalize_email(address: str) -> str:
    return address.strip().lower()


def normalize_phone(number: str, region: str = "HU") -> str:
    """E.164 (``+36301234567``); national numbers are read in ``region``."""
    text = number.strip()
    # A 9-digit Hungarian national number without the trunk prefix ("301234567", ID-6).
    if region == "HU" and text.isdigit() and len(text) == 9:
        text = "06" + text
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidRecipient("not a phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidRecipient("not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize(channel: str, address: str, region: str = "HU") -> str:
    return normalize_phone(address, region) if channel == "sms" else normalize_email(address)


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
