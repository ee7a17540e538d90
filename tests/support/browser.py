"""Headless Chromium driven over the DevTools protocol: open a page, read what it shows.

The browser is Debian's `chromium` (`python -m scripts.browser` installs it); it talks to
nothing but the pages it is sent to. Each browser gets a throwaway profile and is killed,
by its own process id, when the block ends.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from scripts.browser import FLAGS, chromium
from tests.support.polling import eventually
from tests.support.processes import free_port


class Page:
    """One tab: navigate, then evaluate JavaScript until it gives what the test waits for."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self.ids)
        await self.ws.send_json({"id": msg_id, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json(timeout=30)
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg["result"]

    async def open(self, url: str) -> None:
        await self.call("Page.enable")
        result = await self.call("Page.navigate", url=url)
        assert "errorText" not in result, result
        # Until then the previous page (or none) may still answer the expressions.
        await self.wait_for(f"location.href === {json.dumps(url)} "
                            "&& document.readyState === 'complete'")

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression,
                                 returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, seconds: float = 30) -> Any:
        """The first truthy value of ``expression``, polled until ``seconds`` pass."""
        shown = ""

        async def value() -> Any:
            nonlocal shown
            found = await self.evaluate(expression)
            if not found:
                shown = await self.evaluate("document.body ? document.body.innerText : ''")
            return found

        return await eventually(value, seconds, 0.2, message=lambda: (
            f"{expression!r} to be true; the page shows: {str(shown)[:2000]}"))


@contextlib.asynccontextmanager
async def headless_chromium(seconds: float = 30) -> AsyncIterator[Page]:
    """A Chromium with one blank tab, driven over its DevTools websocket."""
    binary = chromium()
    assert binary is not None, (
        "Chromium is missing: `make test-e2e` installs it (`python -m scripts.browser`)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bap-chromium-",
                                     ignore_cleanup_errors=True) as tmp:
        process = _launch(str(binary), tmp, port)
        try:
            async with aiohttp.ClientSession() as session:
                pages = await _pages(session, f"http://127.0.0.1:{port}", process, seconds)
                async with session.ws_connect(pages[0]["webSocketDebuggerUrl"],
                                              max_msg_size=0) as ws:
                    yield Page(ws)
        finally:
            _stop(process)


def _launch(binary: str, tmp: str, port: int) -> subprocess.Popen:
    """Start the browser (returns at once); its output goes to a file in ``tmp``, never a pipe
    that could fill up."""
    with open(f"{tmp}/chromium.log", "wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={tmp}/profile",
             f"--remote-debugging-port={port}", "--remote-debugging-address=127.0.0.1",
             "about:blank"], stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # its renderers and helpers share this process group


def _stop(process: subprocess.Popen) -> None:
    """End this browser and every helper process it started (its own process group): a
    throwaway profile needs no orderly shutdown."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


async def _pages(session: aiohttp.ClientSession, base: str, process: subprocess.Popen,
                 seconds: float) -> list[dict[str, Any]]:
    """The browser's open tabs, once its DevTools endpoint answers."""
    async def pages() -> list[dict[str, Any]]:
        assert process.poll() is None, f"Chromium exited with {process.returncode}"
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"{base}/json/list") as r:
                return [t for t in await r.json() if t["type"] == "page"]
        return []

    return await eventually(pages, seconds, 0.2, message="Chromium's DevTools to answer")


def operations_of(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation in an OpenAPI document."""
    return {(method.upper(), path) for path, item in openapi["paths"].items()
            for method in item}


# What Swagger UI shows: one block per operation, its method and path in the summary line.
SHOWN_OPERATIONS = """JSON.stringify([...document.querySelectorAll('.opblock')].map(b => [
  (b.querySelector('.opblock-summary-method')?.textContent || '').trim(),
  b.querySelector('.opblock-summary-path')?.dataset.path || '']))"""


def shown_operations(value: str) -> set[tuple[str, str]]:
    return {(method, path) for method, path in json.loads(value)}
