"""One HTTP status per problem type, across the kit and every service.

Errors carry no status: the kit answers each error category with one status
(``shared.http.STATUS_BY_CATEGORY``). These tests collect every error class of ``shared`` and
``services`` (and every place that names a problem type when raising one, ``slug="…"``) and
prove a problem type can not answer with two statuses.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections import defaultdict
from pathlib import Path

import pytest

import services
import shared
from shared.errors import IdempotencyKeyReused, Problem
from shared.http import STATUS_BY_CATEGORY, status_of

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

def _import_everything() -> None:
    for package in (shared, services):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if info.name.rsplit(".", 1)[-1] != "__main__":  # would start the service
                importlib.import_module(info.name)


def every_error_class() -> list[type[Problem]]:
    _import_everything()
    found: list[type[Problem]] = []
    todo: list[type[Problem]] = [Problem]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [c for c in found if c.__module__.startswith(("shared.", "services."))]


def slugs_named_when_raising(classes: list[type[Problem]]) -> list[tuple[str, type[Problem], str]]:
    """``(slug, class, where)`` for every ``SomeError(..., slug="…")`` in shared/ and services/."""
    by_name: dict[str, list[type[Problem]]] = defaultdict(list)
    for cls in classes:
        by_name[cls.__name__].append(cls)
    out = []
    for path in [*(ROOT / "shared").rglob("*.py"), *(ROOT / "services").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = (node.func.id if isinstance(node.func, ast.Name) else
                    node.func.attr if isinstance(node.func, ast.Attribute) else None)
            for kw in node.keywords:
                if (kw.arg == "slug" and isinstance(kw.value, ast.Constant)
                        and isinstance(kw.value.value, str) and name in by_name):
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    out.extend((kw.value.value, cls, where) for cls in by_name[name])
    return out


def test_every_problem_type_has_one_status_in_every_service() -> None:
    classes = every_error_class()
    statuses: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for cls in classes:
        statuses[cls.slug][status_of(cls)].append(f"{cls.__module__}.{cls.__qualname__}")
    named = slugs_named_when_raising(classes)
    for slug, cls, where in named:
        statuses[slug][status_of(cls)].append(where)
    # Every service's errors were found: its error classes, or its problems named by slug.
    found = {cls.__module__ for cls in classes} | {where.replace("/", ".") for *_, where in named}
    for where in ("shared.errors", "services.identity", "services.billing",
                  "services.contracts", "services.notifications"):
        assert any(name.startswith(where) for name in found), where
    several = {slug: dict(by_status) for slug, by_status in statuses.items()
               if len(by_status) > 1}
    assert several == {}


def test_no_error_class_defines_an_http_status() -> None:
    with_status = [f"{c.__module__}.{c.__qualname__}" for c in every_error_class()
                   if "status" in vars(c)]
    assert with_status == []
    assert not hasattr(Problem("x"), "status")


def test_every_error_class_answers_with_the_status_of_its_category() -> None:
    for cls in every_error_class():
        category = next(k for k in cls.__mro__ if k in STATUS_BY_CATEGORY)
        assert status_of(cls) == STATUS_BY_CATEGORY[category]


def test_a_reused_idempotency_key_is_422_as_the_idempotency_key_draft_says() -> None:
    assert status_of(IdempotencyKeyReused) == 422
