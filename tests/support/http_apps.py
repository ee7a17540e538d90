"""Small aiohttp apps built with the kit's HTTP layer, served by the unit tests of
``shared.http`` (the things app) and ``shared.auth`` (the billing-account app)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from aiohttp import web
from pydantic import BaseModel, Field

from shared.auth import BILLING_ADMIN, COMPANY_ADMIN, Access, Principal, TokenVerifier
from shared.errors import Gone
from shared.http import Routes, add_routes, new_app
from shared.metrics import Metrics


class Address(BaseModel):
    street: str = Field(min_length=1)
    postcode: str = Field(min_length=4, max_length=10)
    city: str


class NewThing(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    address: Address


class Thing(BaseModel):
    id: str
    name: str
    address: Address


class Order(StrEnum):
    newest = "newest"
    oldest = "oldest"


class ThingQuery(BaseModel):
    limit: int = Field(10, ge=1, le=100)
    order: Order = Order.newest


class ThingList(BaseModel):
    items: list[Thing]
    order: Order


class Category(BaseModel):
    """A category holding categories: a recursive schema."""

    name: str
    children: list[Category] = []


class ThingArchived(Gone):
    slug, title = "thing-archived", "The thing is archived"


LAMP = Thing(id="t-1", name="Lamp", address=Address(street="Main 1", postcode="1051",
                                                    city="Budapest"))

thing_routes = Routes()


@thing_routes.post("/v1/things", body=NewThing, response=Thing, status=201, tags=("things",))
async def create_thing(request: web.Request, body: NewThing) -> Thing:
    """Create a thing."""
    return Thing(id="t-9", **body.model_dump())


@thing_routes.get("/v1/things", query=ThingQuery, response=ThingList)
async def list_things(request: web.Request, query: ThingQuery) -> ThingList:
    """List things."""
    return ThingList(items=[LAMP][: query.limit], order=query.order)


@thing_routes.get("/v1/things/{id}", response=Thing, problems=(410,))
async def get_thing(request: web.Request) -> Thing:
    """One thing."""
    thing_id = request.match_info["id"]
    if thing_id == "archived":
        raise ThingArchived("This thing was archived.", archived_at="2026-01-31")
    if thing_id == "broken":
        raise RuntimeError("connection to mongodb://app:hunter2@db failed")
    if thing_id == "stored":
        # A stored document holds more than the response model declares.
        return {**LAMP.model_dump(), "id": "stored", "password_hash": "$argon2id$secret"}
    return LAMP.model_copy(update={"id": thing_id})


@thing_routes.delete("/v1/things/{id}", access=Access.of(roles=(COMPANY_ADMIN,)))
async def delete_thing(request: web.Request, principal: Principal) -> None:
    """Delete a thing."""


@thing_routes.get("/v1/categories", response=Category)
async def category_tree(request: web.Request) -> Category:
    """The category tree."""
    return Category(name="all", children=[Category(name="lamps")])


@thing_routes.get("/v1/summary")
async def summary(request: web.Request) -> dict:
    """Plain data holding models and datetimes."""
    return {"things": [LAMP], "at": datetime(2026, 1, 31, 12, 0, tzinfo=UTC)}


def thing_app(max_body_bytes: int = 64 * 1024) -> web.Application:
    verifier = TokenVerifier("http://127.0.0.1:9/.well-known/jwks.json",
                             issuer="bap-identity", audience="bap")
    app = new_app(metrics=Metrics("things"), verifier=verifier, max_body_bytes=max_body_bytes,
                  title="Things")
    add_routes(app, thing_routes)
    return app


# -- the billing-account app ------------------------------------------------------------------

ADMINS = Access.of(roles=(COMPANY_ADMIN, BILLING_ADMIN), permissions=("billing:manage",),
                   scopes=("billing:read",))

account_routes = Routes()


@account_routes.get("/v1/billing-account", access=ADMINS)
async def billing_account(request: web.Request, principal: Principal) -> dict:
    """The calling company's billing account."""
    return {"company_id": principal.company_id}


def account_app(verifier: TokenVerifier) -> web.Application:
    app = new_app(metrics=Metrics("billing"), verifier=verifier, max_body_bytes=1024,
                  title="Billing")
    add_routes(app, account_routes)
    return app
