"""Events identity consumes, declared in one table (none yet: the identity issue adds them)."""

from __future__ import annotations

from shared.bus import Subscription


def subscriptions(ctx: object | None) -> list[Subscription]:
    return []
