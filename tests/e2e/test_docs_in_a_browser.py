"""Each service's `/docs` renders its OpenAPI 3.1 document in a real browser (headless
Chromium, offline): every operation of `/openapi.json` is listed, and the invitation import
offers a file to upload. Swagger UI 4 showed "Unable to render this definition" instead."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.browser import (
    SHOWN_OPERATIONS,
    headless_chromium,
    operations_of,
    shown_operations,
)
from tests.support.processes import SERVICES

pytestmark = pytest.mark.e2e

RENDERED = ("!!document.body && (document.querySelectorAll('.opblock').length > 0 "
            "|| document.body.innerText.includes('Unable to render'))")


async def test_each_services_docs_page_lists_every_operation_in_a_browser(platform):
    async with aiohttp.ClientSession() as http, headless_chromium() as page:
        for name in SERVICES:
            url = platform[name].url
            async with http.get(f"{url}/openapi.json") as r:
                assert r.status == 200
                expected = operations_of(await r.json())
            assert expected, f"{name} documents no operation"
            await page.open(f"{url}/docs")
            await page.wait_for(RENDERED)
            text = await page.evaluate("document.body.innerText")
            assert "Unable to render" not in text, f"{name}: {text[:500]}"
            assert "OAS 3.1" in text
            # Swagger UI adds the blocks tag by tag: wait until every one is there.
            shown = shown_operations(await page.wait_for(
                f"document.querySelectorAll('.opblock').length >= {len(expected)} "
                f"&& {SHOWN_OPERATIONS}"))
            assert shown == expected, (
                f"{name}: missing {expected - shown}, extra {shown - expected}")


async def test_id11_invitation_import_offers_a_file_upload_in_the_docs(platform):
    """The multipart body is described well enough for Swagger UI to offer a file input."""
    url = platform["identity"].url
    async with headless_chromium() as page:
        await page.open(f"{url}/docs#/invitations/import_invitations")
        block = "document.querySelector('#operations-invitations-import_invitations')"
        await page.wait_for(f"!!({block} && {block}.querySelector('.try-out__btn'))")
        await page.evaluate(f"{block}.querySelector('.try-out__btn').click()")
        assert await page.wait_for(f"{block}.querySelector('input[type=file]') !== null")
        text = await page.evaluate(f"{block}.innerText")
        assert "multipart/form-data" in text
