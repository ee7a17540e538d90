"""How recipients appear in the delivery log: masked, and hashed for deduplication."""

import hashlib


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def recipient_key(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:24]
