"""The one error hierarchy of the platform; the HTTP layer turns each into RFC 9457 problem details.

    Problem                      any error a client can be told about (status, type, title)
    ├── InvalidInput             422, with one entry per field and rule
    ├── Unauthenticated          401
    ├── Forbidden                403
    ├── NotFound                 404
    ├── Conflict                 409 (also: optimistic concurrency lost too often)
    └── TooManyRequests          429
    PermanentEventError          a consumed event that can never succeed: parked at once
"""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str | None = None, *, slug: str | None = None,
                 title: str | None = None, status: int | None = None, **extra: Any) -> None:
        super().__init__(detail or title or self.title)
        self.detail = detail
        if slug:
            self.slug = slug
        if title:
            self.title = title
        if status:
            self.status = status
        self.extra = extra

    @property
    def type(self) -> str:
        return f"/problems/{self.slug}"

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 members, then the extension members (which never replace them)."""
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        for name, value in self.extra.items():
            body.setdefault(name, value)
        return body


class InvalidInput(Problem):
    status, slug, title = 422, "validation-error", "The request is not valid"

    def __init__(self, errors: list[dict[str, Any]], detail: str | None = None, **kw: Any):
        super().__init__(detail or "; ".join(f"{e['field']}: {e['rule']}" for e in errors),
                         errors=errors, **kw)
        self.errors = errors


class Unauthenticated(Problem):
    status, slug, title = 401, "unauthenticated", "Authentication required"


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class TooManyRequests(Problem):
    status, slug, title = 429, "too-many-requests", "Too many requests"


def database_unavailable() -> Problem:
    """The answer while the database can not be reached (every operation documents 503)."""
    return Problem("The database can not be reached right now; try again shortly.",
                   status=503, retry_after=5, slug="service-unavailable",
                   title="Service unavailable")


class PermanentEventError(Exception):
    """A consumed event that can never be processed: it is parked at once with this reason."""
