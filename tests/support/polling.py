"""The one way a test waits for something asynchronous: ``eventually``.

No fixed sleeps as assertions: a test states what it waits for and for how long at most;
on time-out it fails saying what it waited for and the last thing it saw.

    doc = await eventually(lambda: coll.find_one({"_id": key}), message="the account")
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")

#: A check: a function (plain or async) whose truthy result ends the wait.
Check = Callable[[], T | Awaitable[T]]


async def eventually(check: Check[T], seconds: float = 15.0, interval: float = 0.05, *,
                     message: str | Callable[[], str] = "") -> T:
    """Call ``check`` every ``interval`` seconds until it returns something truthy, and return
    that. After ``seconds`` the test fails with ``message`` (or a callable giving it, read at
    that moment) and the last value ``check`` returned. An exception in ``check`` is not
    waited out: it ends the wait at once (an assertion inside a check is a real failure)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value: Any = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return cast(T, value)
        if asyncio.get_running_loop().time() > deadline:
            what = message() if callable(message) else message
            raise AssertionError(
                f"not within {seconds:g}s: {what or _describe(check)}; last value: {value!r}")
        await asyncio.sleep(interval)


def _describe(check: Callable[..., Any]) -> str:
    """Where the check was written, for a failure without a message."""
    try:
        lines, _ = inspect.getsourcelines(check)
        return " ".join(line.strip() for line in lines)[:300]
    except (OSError, TypeError):
        return getattr(check, "__qualname__", repr(check))
