"""The one error hierarchy of the platform.

An error says what went wrong in the domain's words: a problem type (``slug``), a ``title``,
a ``detail`` and extension members. It never carries an HTTP status: the kit's HTTP layer
(``shared.http``) answers each *category* below with one status, so a problem type has the
same status in every service::

    Problem                      any error a client can be told about
    ├── BadRequest               400  the request can not be read as sent
    ├── Unauthenticated          401
    ├── Forbidden                403
    ├── NotFound                 404
    ├── MethodNotAllowed         405
    ├── Conflict                 409  (also: optimistic concurrency lost too often)
    ├── Gone                     410  was valid once (an expired link or code)
    ├── PayloadTooLarge          413
    ├── UnsupportedMediaType     415
    ├── Unprocessable            422  understood, but refused as it stands
    │   ├── InvalidInput         422  with one entry per field and rule (``errors``)
    │   └── IdempotencyKeyReused 422  the same Idempotency-Key for another request
    ├── TooManyRequests          429
    ├── InternalError            500
    └── Unavailable              503  a dependency is down; the client may retry
    PermanentEventError          a consumed event that can never succeed: parked at once

A service's error subclasses the category it belongs to and names its own type::

    class CardExpired(InvalidInput):
        slug, title = "card-expired", "The card has expired"
"""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    """Any error a client can be told about (RFC 9457 problem details, without the status)."""

    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str | None = None, *, slug: str | None = None,
                 title: str | None = None, **extra: Any) -> None:
        super().__init__(detail or title or self.title)
        self.detail = detail
        if slug:
            self.slug = slug
        if title:
            self.title = title
        self.extra = extra

    @property
    def type(self) -> str:
        return f"/problems/{self.slug}"


class BadRequest(Problem):
    slug, title = "bad-request", "Bad request"


class Unauthenticated(Problem):
    slug, title = "unauthenticated", "Authentication required"


class Forbidden(Problem):
    slug, title = "forbidden", "Not allowed"


class NotFound(Problem):
    slug, title = "not-found", "Not found"


class MethodNotAllowed(Problem):
    slug, title = "method-not-allowed", "Method not allowed"


class Conflict(Problem):
    slug, title = "conflict", "Conflict"


class Gone(Problem):
    slug, title = "gone", "Gone"


class PayloadTooLarge(Problem):
    slug, title = "payload-too-large", "Payload too large"


class UnsupportedMediaType(Problem):
    slug, title = "unsupported-media-type", "Unsupported media type"


class Unprocessable(Problem):
    slug, title = "unprocessable", "The request can not be processed"


class InvalidInput(Unprocessable):
    slug, title = "validation-error", "The request is not valid"

    def __init__(self, errors: list[dict[str, Any]], detail: str | None = None,
                 **kw: Any) -> None:
        super().__init__(detail or "; ".join(f"{e['field']}: {e['rule']}" for e in errors),
                         errors=errors, **kw)
        self.errors = errors


class TooManyRequests(Problem):
    slug, title = "too-many-requests", "Too many requests"


class InternalError(Problem):
    slug, title = "internal-error", "Internal error"


class Unavailable(Problem):
    slug, title = "service-unavailable", "Service unavailable"


# -- Idempotency-Key (shared.idempotency) ------------------------------------------------------
class InvalidIdempotencyKey(BadRequest):
    slug, title = "invalid-idempotency-key", "The Idempotency-Key header is not valid"


class IdempotencyKeyReused(Unprocessable):
    slug = "idempotency-key-reused"
    title = "The Idempotency-Key was used for another request"


class IdempotencyRequestInProgress(Conflict):
    slug = "idempotency-request-in-progress"
    title = "A request with this Idempotency-Key is still running"


def database_unavailable() -> Unavailable:
    """The answer while the database can not be reached (every operation documents 503)."""
    return Unavailable("The database can not be reached right now; try again shortly.",
                       retry_after=5)


class PermanentEventError(Exception):
    """A consumed event that can never be processed: it is parked at once with this reason."""
