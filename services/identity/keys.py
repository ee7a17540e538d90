"""``python -m services.identity.keys rotate``: add a new signing key (operations).

Replicas pick it up within IDENTITY_SIGNING_KEY_RELOAD_SECONDS; keys replaced longer ago
than twice the access-token lifetime are retired from the JWKS.
"""

from __future__ import annotations

import argparse
import asyncio

from services.identity.settings import IdentitySettings
from services.identity.tokens import SigningKeys
from shared import mongo


async def rotate(settings: IdentitySettings) -> str:
    client = mongo.connect(settings.mongodb_url)
    try:
        keys = SigningKeys(client[settings.database_name]["signing_keys"])
        return await keys.rotate(keep_seconds=2 * settings.access_token_seconds)
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.identity.keys")
    parser.add_argument("command", choices=["rotate"])
    parser.parse_args()
    print(f"new signing key: {asyncio.run(rotate(IdentitySettings()))}")


if __name__ == "__main__":
    main()
