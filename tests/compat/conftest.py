"""Fixtures of the compatibility suite: a collection of the test's own database."""

from __future__ import annotations

import pytest
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase


@pytest.fixture
def coll(db: AsyncDatabase) -> AsyncCollection:
    return db["things"]
