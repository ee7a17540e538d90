"""A circuit breaker per channel: after ``threshold`` consecutive transient failures of the
primary provider within ``window`` seconds, the secondary takes over for ``cooldown`` seconds;
then the primary gets one try again (half-open) and closes the breaker when it succeeds."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CircuitBreaker:
    threshold: int = 3
    window: float = 300.0
    cooldown: float = 120.0
    failures: list[float] = field(default_factory=list)
    opened_at: float | None = None

    def use_secondary(self, now: float) -> bool:
        """Whether the next send should go to the secondary provider."""
        if self.opened_at is None:
            return False
        if now - self.opened_at >= self.cooldown:
            self.opened_at = None  # half-open: the primary gets the next try
            self.failures = [now] * (self.threshold - 1)  # one more failure opens it again
            return False
        return True

    def failed(self, now: float) -> None:
        self.failures = [t for t in self.failures if now - t < self.window] + [now]
        if len(self.failures) >= self.threshold:
            self.opened_at = now

    def succeeded(self) -> None:
        self.failures = []
        self.opened_at = None
