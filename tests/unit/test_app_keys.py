"""The service's unit of dependencies is read back typed, and a wiring mistake says so."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from aiohttp import web

from shared.app_keys import UNIT, unit

pytestmark = pytest.mark.unit


@dataclass
class Things:
    name: str


@dataclass
class OtherThings:
    name: str


def test_unit_returns_the_stored_dependencies_typed() -> None:
    app = web.Application()
    things = Things("a")
    app[UNIT] = things
    assert unit(app, Things) is things


def test_unit_of_another_kind_is_a_type_error_naming_both() -> None:
    app = web.Application()
    app[UNIT] = OtherThings("b")
    with pytest.raises(TypeError, match=r"OtherThings.*Things"):
        unit(app, Things)


def test_unit_missing_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        unit(web.Application(), Things)
