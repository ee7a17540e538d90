"""How the stores hand their writes to the relay of their process (``Relay.wake``), and the
bound on what waits there (``Admission``).

A write with events is saved claimed for this process's relay and handed over; the relay
publishes it at once. A burst of commands can write faster than the broker confirms, so
without a bound the handed-over aggregates pile up, every event waits behind the whole burst
and the oldest outlive their claim. ``Admission`` lets a write with events start only while
fewer than ``limit`` aggregates are handed over or being published (those only waiting for
their removal do not count); otherwise it waits (first come, first served) until one is
confirmed. The commands then go at the pace the events flow.
The wait is bounded, and skipped while the relay is not running or failing (a broker away):
the write is then saved as before, and whatever its relay does not take a poll claims.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.mongo import Reservation, Written

if TYPE_CHECKING:
    from shared.relay import Relay

# Aggregates handed over or publishing beyond which writes with events wait for room: enough
# to keep as many publishes awaiting their confirm as a producer publishing directly would
# (the confirm's round trip, not CPU, bounds the rate on a busy broker), few enough that an
# event waits behind few others.
MAX_IN_FLIGHT = 128


class Admission:
    """Room for writes with events: ``wait`` until fewer than ``limit`` are in flight (as
    ``in_flight()`` counts them) or ``max_wait`` seconds have passed; ``freed`` (called when
    the relay lets an aggregate go) lets the longest waiting ones in."""

    def __init__(self, limit: int, in_flight: Callable[[], int]) -> None:
        self.limit = limit
        self._in_flight = in_flight
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def wait(self, max_wait: float) -> None:
        # Behind those already waiting even when there is room: first come, first served.
        if not self._waiters and self._in_flight() < self.limit:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, max_wait)
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def freed(self) -> None:
        room = self.limit - self._in_flight()
        while room > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                room -= 1

    def open_all(self) -> None:
        """Let every waiter in (the relay stops or fails: nothing is worth waiting for)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)


class Handoff:
    """``Relay.wake``: called by the stores after a write with events (``EventsHandoff``).

    ``wake()`` says something was written that the relay has to look for; ``wake(written)``
    hands over an aggregate the write claimed for this relay with ``reserve()``. Either wakes
    one idle worker. ``room()``, awaited before such a write, is the relay's back-pressure.
    """

    __slots__ = ("_relay",)

    def __init__(self, relay: Relay) -> None:
        self._relay = relay

    def __call__(self, written: Written | None = None) -> None:
        self._relay._woken(written)

    def reserve(self) -> Reservation | None:
        return self._relay._reserve()

    async def room(self) -> None:
        relay = self._relay
        if relay.running and not relay._failing:
            await relay.admission.wait(relay._margin)
