"""Writes asked for at the same moment go as one command (shared/batching.py),
each caller still getting its own outcome."""

from __future__ import annotations

import asyncio

import pytest

from shared.batching import Batched


class Flushes:
    """A flush that records its batches; odd items fail, ``gate`` holds a flush on its way."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, items: list[int]) -> list[int | Exception]:
        self.batches.append(items)
        await self.gate.wait()
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


async def test_writes_asked_for_together_go_in_one_flush_each_with_its_own_outcome() -> None:
    flushes = Flushes()
    batched = Batched(flushes)
    results = await asyncio.gather(*(batched(i) for i in range(6)), return_exceptions=True)
    assert flushes.batches == [[0, 1, 2, 3, 4, 5]]
    assert results[0::2] == [0, 20, 40]
    assert [str(e) for e in results[1::2]] == ["odd 1", "odd 3", "odd 5"]


async def test_writes_asked_for_while_one_is_on_its_way_follow_it_together() -> None:
    flushes = Flushes()
    flushes.gate.clear()
    batched = Batched(flushes, max_batch=2)
    first = asyncio.create_task(batched(0))
    await asyncio.sleep(0.01)
    later = [asyncio.create_task(batched(i)) for i in (2, 4, 6)]
    await asyncio.sleep(0.01)
    assert flushes.batches == [[0]]
    flushes.gate.set()
    assert await first == 0
    assert await asyncio.gather(*later) == [20, 40, 60]
    assert flushes.batches == [[0], [2, 4], [6]]


async def test_a_write_cancelled_before_it_left_is_never_written() -> None:
    flushes = Flushes()
    flushes.gate.clear()
    batched = Batched(flushes)
    first = asyncio.create_task(batched(0))
    await asyncio.sleep(0.01)
    cancelled, kept = asyncio.create_task(batched(2)), asyncio.create_task(batched(4))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    flushes.gate.set()
    assert await first == 0 and await kept == 40
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert flushes.batches == [[0], [4]]


async def test_a_failed_command_fails_each_of_its_writes_and_the_next_command_goes() -> None:
    calls: list[list[int]] = []

    async def broken_once(items: list[int]) -> list[int | Exception]:
        calls.append(items)
        if len(calls) == 1:
            raise ConnectionError("gone")
        return items

    batched = Batched(broken_once)
    results = await asyncio.gather(batched(1), batched(2), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await batched(3) == 3
