"""Issue 9 part 9: secrets at rest and at start. identity's signing keys are encrypted under a
key-encryption key the database never sees; every secret setting can come from a file; no
service starts on a development default outside development mode."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import subprocess
import sys

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.identity.settings import IdentitySettings
from services.identity.tokens import KeyEncryption, KeyEncryptionError, SigningKeys
from tests.support.identity import register_company
from tests.support.processes import ROOT, ServiceProcess, free_port, platform_env

pytestmark = pytest.mark.security

KEK_A = base64.b64encode(b"A" * 32).decode()
KEK_B = base64.b64encode(b"B" * 32).decode()


def _public_keys(docs: list[dict]) -> set[bytes]:
    return {base64.urlsafe_b64decode(d["public_jwk"]["x"] + "==") for d in docs}


def _private_key_in(value: object, public_keys: set[bytes]) -> bool:
    """Whether ``value`` (any stored field, nested) holds, as PEM, DER or 32 raw bytes, the
    private half of one of ``public_keys``: something that would sign accepted tokens."""
    if isinstance(value, dict):
        return any(_private_key_in(v, public_keys) for v in value.values())
    if isinstance(value, list):
        return any(_private_key_in(v, public_keys) for v in value)
    candidates: list[bytes] = []
    if isinstance(value, bytes):
        candidates.append(value)
    elif isinstance(value, str):
        candidates.append(value.encode())
        for alt in (None, b"-_"):
            with contextlib.suppress(ValueError):
                candidates.append(base64.b64decode(value + "=" * (-len(value) % 4),
                                                   altchars=alt))
    for data in candidates:
        for load in (lambda d: serialization.load_pem_private_key(d, None),
                     lambda d: serialization.load_der_private_key(d, None),
                     Ed25519PrivateKey.from_private_bytes):
            try:
                public = load(data).public_key().public_bytes(serialization.Encoding.Raw,
                                                              serialization.PublicFormat.Raw)
            except Exception:
                continue
            if public in public_keys:
                return True
    return False


async def test_the_signing_keys_collection_holds_no_usable_private_key(identity):
    """Someone with a copy of the database cannot sign tokens the platform accepts."""
    url, app, tap, http = identity
    account = await register_company(http, url, tap)
    from services.identity.handlers import Identity
    from shared.app_keys import unit
    docs = await unit(app, Identity).store.signing_keys.find({}).to_list()
    assert docs
    for doc in docs:
        assert not _private_key_in(doc, _public_keys(docs)), doc.keys()
        assert "d" not in doc["public_jwk"]
    # The tokens it issues still verify against its JWKS.
    kid = jwt.get_unverified_header(account.access_token)["kid"]
    assert kid in {d["_id"] for d in docs}
    async with http.get(f"{url}/v1/me", headers=account.auth) as r:
        assert r.status == 200, await r.text()


async def test_a_sealed_key_moved_to_another_documents_kid_does_not_open(db):
    """The kid is bound to the ciphertext: keys cannot be swapped between documents."""
    keys = SigningKeys(db["signing_keys"], KeyEncryption.from_text(KEK_A))
    await keys.load()
    first = keys.kid
    await keys.rotate(keep_seconds=3600)
    docs = {d["_id"]: d for d in await db["signing_keys"].find({}).to_list()}
    other = next(k for k in docs if k != first)
    swapped = {**docs[other], "key_ciphertext": docs[first]["key_ciphertext"],
               "key_nonce": docs[first]["key_nonce"]}
    with pytest.raises(KeyEncryptionError):
        KeyEncryption.from_text(KEK_A).open(swapped)


async def test_a_key_stored_in_clear_by_an_earlier_version_is_encrypted_on_load(db):
    legacy = Ed25519PrivateKey.generate()
    pem = legacy.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption()).decode()
    await db["signing_keys"].insert_one({"_id": "legacy", "private_pem": pem,
                                         "status": "active", "activated": 1.0})
    keys = SigningKeys(db["signing_keys"], KeyEncryption.from_text(KEK_A))
    await keys.load()
    stored = await db["signing_keys"].find_one({"_id": "legacy"})
    assert not _private_key_in(stored, _public_keys([stored]))
    token = keys.sign({"sub": "x"})
    assert jwt.decode(token, legacy.public_key(), algorithms=["EdDSA"])["sub"] == "x"


async def test_rewrap_moves_every_key_to_the_new_key_encryption_key(db):
    """KEK rotation: new key current, old key in the _OLD list, rewrap; then the old key can
    go and everything still loads and signs with the same keys."""
    old = SigningKeys(db["signing_keys"], KeyEncryption.from_text(KEK_A))
    await old.load()
    await old.rotate(keep_seconds=3600)
    jwks_before = old.jwks()
    with pytest.raises(KeyEncryptionError):  # the new key alone cannot read them yet
        await SigningKeys(db["signing_keys"], KeyEncryption.from_text(KEK_B)).load()
    both = SigningKeys(db["signing_keys"], KeyEncryption.from_text(KEK_B, old=KEK_A))
    assert await both.rewrap() == 2
    only_new = SigningKeys(db["signing_keys"], KeyEncryption.from_text(KEK_B))
    await only_new.load()
    assert only_new.jwks() == jwks_before
    with pytest.raises(KeyEncryptionError):
        await SigningKeys(db["signing_keys"], KeyEncryption.from_text(KEK_A)).load()


def test_a_malformed_key_encryption_key_is_refused_naming_the_variable():
    with pytest.raises(KeyEncryptionError, match="IDENTITY_KEY_ENCRYPTION_KEY"):
        KeyEncryption.from_text(base64.b64encode(b"short").decode())


PEPPER_FROM_FILE = "pepper-from-a-file-4f0b9d2e7c1a5e83b6d0"


def test_a_weak_secret_counts_as_a_development_default(monkeypatch):
    """Replacing the default with "x" or a key of one repeated byte is no secret either."""
    for name in list(os.environ):
        if name.startswith("IDENTITY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IDENTITY_KEY_ENCRYPTION_KEY", KEK_B)
    monkeypatch.setenv("IDENTITY_CODE_PEPPER", "x")
    assert IdentitySettings().development_defaults() == ["IDENTITY_CODE_PEPPER"]
    monkeypatch.setenv("IDENTITY_CODE_PEPPER", PEPPER_FROM_FILE)
    monkeypatch.setenv("IDENTITY_KEY_ENCRYPTION_KEY", base64.b64encode(bytes(32)).decode())
    assert IdentitySettings().development_defaults() == ["IDENTITY_KEY_ENCRYPTION_KEY"]
    monkeypatch.setenv("IDENTITY_KEY_ENCRYPTION_KEY", KEK_B)
    assert IdentitySettings().development_defaults() == []


def test_every_secret_setting_can_be_read_from_a_file(tmp_path, monkeypatch):
    """SECRETS_DIR: one file per setting, as Docker and Kubernetes mount Secrets; an
    environment variable still wins."""
    for name in list(os.environ):
        if name.startswith("IDENTITY_") or name == "AMQP_URL":
            monkeypatch.delenv(name)
    (tmp_path / "identity_code_pepper").write_text(PEPPER_FROM_FILE)
    (tmp_path / "identity_key_encryption_key").write_text(KEK_B)
    (tmp_path / "AMQP_URL").write_text("amqp://svc:from-file@broker:5672/")
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
    settings = IdentitySettings()
    assert settings.code_pepper.get_secret_value() == PEPPER_FROM_FILE
    assert settings.key_encryption_key.get_secret_value() == KEK_B
    assert settings.amqp_url == "amqp://svc:from-file@broker:5672/"
    assert settings.development_defaults() == []
    monkeypatch.setenv("IDENTITY_CODE_PEPPER", "pepper-from-the-environment")
    assert IdentitySettings().code_pepper.get_secret_value() == "pepper-from-the-environment"


def _env_without_dev_mode(mongo_url: str, amqp_url: str, bus_prefix: str, unique: str,
                          **extra: str) -> dict[str, str]:
    ports = {name: free_port() for name in ("identity", "billing", "contracts",
                                            "notifications")}
    env = platform_env(mongo_url=mongo_url, amqp_url=amqp_url, bus_prefix=bus_prefix,
                       db_prefix=f"sec_{unique}", ports=ports, extra={})
    env.pop("BAP_DEV_MODE", None)
    env.pop("SECRETS_DIR", None)
    return {**env, **extra}


@pytest.mark.parametrize("service, variables", [
    ("identity", ["IDENTITY_CODE_PEPPER", "IDENTITY_KEY_ENCRYPTION_KEY"]),
    ("billing", ["BILLING_PAYMENT_PROVIDER_URL"]),
    ("contracts", ["CONTRACTS_OTP_PEPPER"]),
])
async def test_a_service_refuses_to_start_on_a_development_default_outside_development_mode(
        mongo_url, amqp_url, bus_prefix, unique, service, variables):
    env = _env_without_dev_mode(mongo_url, amqp_url, bus_prefix, unique)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", f"services.{service}", "all", cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode != 0
    text = output.decode()
    for variable in variables:
        assert variable in text
    assert "BAP_DEV_MODE" in text
    assert "Traceback" not in text


async def test_a_service_with_its_secrets_in_files_starts_without_development_mode(
        mongo_url, amqp_url, bus_prefix, unique, tmp_path):
    """The mounted-Secrets deployment: without the file contracts refuses to start, with
    its pepper in the file it starts and becomes ready."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    env = _env_without_dev_mode(mongo_url, amqp_url, bus_prefix, unique,
                                SECRETS_DIR=str(secrets))
    refused = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "services.contracts", "all"], cwd=ROOT,
        env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "CONTRACTS_OTP_PEPPER" in refused.stderr
    (secrets / "contracts_otp_pepper").write_text("a-long-random-production-pepper-7e2c91d04b")
    proc = ServiceProcess("contracts", int(env["CONTRACTS_HTTP_PORT"]), env,
                          tmp_path / "contracts.log")
    proc.start()
    try:
        await proc.wait_ready()
    finally:
        proc.stop()
        await _drop(mongo_url, amqp_url, bus_prefix, unique, "contracts")


async def test_the_rotate_command_refuses_the_development_key_encryption_key(
        mongo_url, amqp_url, bus_prefix, unique):
    """A key written under a key-encryption key everybody knows would be readable by all."""
    env = _env_without_dev_mode(mongo_url, amqp_url, bus_prefix, unique,
                                IDENTITY_CODE_PEPPER="a-long-random-production-pepper-7e2c91d04b")
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "services.identity.keys", "rotate"], cwd=ROOT,
        env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "IDENTITY_KEY_ENCRYPTION_KEY" in done.stderr


async def test_the_rotate_command_adds_an_encrypted_key(mongo_url, amqp_url, bus_prefix,
                                                      unique):
    env = _env_without_dev_mode(mongo_url, amqp_url, bus_prefix, unique,
                                IDENTITY_CODE_PEPPER="a-long-random-production-pepper-7e2c91d04b",
                                IDENTITY_KEY_ENCRYPTION_KEY=KEK_A)
    try:
        for _ in range(2):
            done = await asyncio.to_thread(
                subprocess.run, [sys.executable, "-m", "services.identity.keys", "rotate"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
        from shared import mongo
        client = mongo.connect(mongo_url)
        docs = await client[f"sec_{unique}_identity"]["signing_keys"].find({}).to_list()
        await client.close()
        assert len(docs) == 2 and not _private_key_in(docs, _public_keys(docs))
        kek = KeyEncryption.from_text(KEK_A)
        for d in docs:
            assert isinstance(serialization.load_der_private_key(kek.open(d), None),
                              Ed25519PrivateKey)
    finally:
        await _drop(mongo_url, amqp_url, bus_prefix, unique, "identity", topology=False)


async def _drop(mongo_url: str, amqp_url: str, bus_prefix: str, unique: str,
                service: str, topology: bool = True) -> None:
    from shared import mongo
    from shared.bus import Topology
    from tests.support.broker import delete_topology
    client = mongo.connect(mongo_url)
    await client.drop_database(f"sec_{unique}_{service}")
    await client.close()
    if topology:
        await delete_topology(amqp_url, Topology(bus_prefix, service), [0.2, 0.5, 1.0])
