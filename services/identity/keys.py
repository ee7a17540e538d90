"""Operations on identity's signing keys.

``python -m services.identity.keys rotate``: add a new signing key. Replicas pick it up
within IDENTITY_SIGNING_KEY_RELOAD_SECONDS; keys replaced longer ago than twice the
access-token lifetime are retired from the JWKS.

``python -m services.identity.keys rewrap``: encrypt every stored signing key under the
current key-encryption key. Rotating the key-encryption key: give every replica the new key in
IDENTITY_KEY_ENCRYPTION_KEY and the old one in IDENTITY_KEY_ENCRYPTION_KEYS_OLD, run
``rewrap``, then remove the old key.
"""

from __future__ import annotations

import argparse
import asyncio

from services.identity.app import key_encryption
from services.identity.settings import IdentitySettings
from services.identity.tokens import SigningKeys
from shared import mongo
from shared.config import DevelopmentDefaultRefused, refuse_development_defaults


async def run(settings: IdentitySettings, command: str) -> str:
    """``rotate`` or ``rewrap``; what was done, for the operator."""
    client = mongo.connect(settings.mongodb_url)
    try:
        keys = SigningKeys(client[settings.database_name]["signing_keys"],
                           key_encryption(settings))
        if command == "rotate":
            return f"new signing key: {await keys.rotate(2 * settings.access_token_seconds)}"
        rewritten = await keys.rewrap()
        return f"signing keys re-encrypted under the current key-encryption key: {rewritten}"
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.identity.keys")
    parser.add_argument("command", choices=["rotate", "rewrap"])
    args = parser.parse_args()
    settings = IdentitySettings()
    try:
        # A key written under the development key-encryption key would be readable by anyone.
        refuse_development_defaults(settings)
    except DevelopmentDefaultRefused as e:
        raise SystemExit(f"identity keys: {e}") from None
    print(asyncio.run(run(settings, args.command)))


if __name__ == "__main__":
    main()
