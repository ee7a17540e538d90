"""How long something is valid, said in words (English, for problem texts): a validity is
configured in days or hours, and every text that states it says the configured one."""

from __future__ import annotations

from datetime import timedelta


def in_words(validity: timedelta) -> str:
    """``10 days``, ``48 hours``, ``1 hour``, ``30 minutes``: the largest whole unit."""
    seconds = round(validity.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
