"""The portal team's typed client: generated from each running service's ``/openapi.json``
with ``openapi-python-client`` (pinned in pyproject.toml), every generated module imports,
and the generated functions call the running services and read their answers as the
generated models."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import pkgutil
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.support.events import EventTap
from tests.support.identity import register_company
from tests.support.processes import SERVICES

pytestmark = pytest.mark.e2e

# What the generator can not turn into typed code and leaves out with a warning: the
# invitation import's raw-body alternatives (the multipart form, which it does generate, is
# what a client sends).
ACCEPTED_WARNINGS = ("Unsupported content type text/csv",
                     "Unsupported content type application/vnd.openxmlformats")


async def generate(name: str, document: dict, into: Path) -> str:
    """Generate ``bap_<name>_client`` under ``into``; the generator's warnings."""
    spec = into / f"{name}.json"
    spec.write_text(json.dumps(document))
    binary = Path(sys.executable).with_name("openapi-python-client")
    # Its post-generation hook runs ruff, installed beside it in the virtualenv.
    env = {**os.environ, "PATH": f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = await asyncio.create_subprocess_exec(
        str(binary), "generate", "--path", str(spec), "--meta", "none",
        "--output-path", str(into / f"bap_{name}_client"), cwd=into, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 180)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-4000:]
    return text


def warnings(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines()
            if line.strip() and not line.startswith((" ", "{", "}", "WARNING", "Generating",
                                                      "If you believe", "Warning(s)"))]


def import_everything(package: str) -> int:
    """Import every module of the generated package; how many there were."""
    root = importlib.import_module(package)
    count = 1
    for module in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        importlib.import_module(module.name)
        count += 1
    return count


async def test_a_typed_client_generated_from_the_documents_imports_and_calls_the_services(
        platform, amqp_url, bus_prefix, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    async with aiohttp.ClientSession() as http:
        for name in SERVICES:
            async with http.get(f"{platform[name].url}/openapi.json") as r:
                document = await r.json()
            output = await generate(name, document, tmp_path)
            unexpected = [w for w in warnings(output)
                          if not w.startswith(ACCEPTED_WARNINGS)]
            assert unexpected == [], output[-4000:]
            assert import_everything(f"bap_{name}_client") > 10
        async with EventTap(amqp_url, bus_prefix, "identity.#") as tap:
            admin = await register_company(http, platform["identity"].url, tap)

    from bap_billing_client import AuthenticatedClient as BillingClient
    from bap_billing_client.api.subscriptions import list_products
    from bap_billing_client.models import Products
    from bap_identity_client import AuthenticatedClient as IdentityClient
    from bap_identity_client.api.account import me
    from bap_identity_client.models import Me

    async with IdentityClient(base_url=platform["identity"].url,
                              token=admin.access_token) as client:
        answer = await me.asyncio_detailed(client=client, x_correlation_id="portal-typed-1")
    assert answer.status_code == 200
    assert isinstance(answer.parsed, Me) and answer.parsed.email == admin.email
    assert answer.headers["X-Correlation-ID"] == "portal-typed-1"
    async with BillingClient(base_url=platform["billing"].url,
                             token=admin.access_token) as client:
        products = await list_products.asyncio(client=client)
    assert isinstance(products, Products) and products.items
