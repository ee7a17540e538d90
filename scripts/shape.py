"""The house rules `make lint` checks besides ruff and mypy: the shape every service keeps.

- no module in ``services/`` or ``shared/`` over 400 lines;
- MongoDB is called only from a service's store (``store.py``, ``repository.py``, a ``store/``
  package) and its read side (``views.py``, a ``views/`` package), and from the kit;
- every ``web.AppKey`` is declared in ``shared/app_keys.py``;
- no ``assert isinstance`` standing in for a type (``python -O`` drops asserts).

``python -m scripts.shape`` prints each breach as ``path:line: rule`` and exits 1 if any.
``--count`` prints the number of MongoDB calls per module instead (the closing figures).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400
# The collection methods of PyMongo that reach the server.
MONGO_CALLS = frozenset({
    "find", "find_one", "insert_one", "insert_many", "update_one", "update_many",
    "delete_one", "delete_many", "find_one_and_update", "find_one_and_delete",
    "find_one_and_replace", "replace_one", "aggregate", "count_documents",
    "estimated_document_count", "distinct", "bulk_write", "create_index", "create_indexes",
    "drop",
})
APP_KEYS = Path("shared/app_keys.py")


def modules() -> Iterator[Path]:
    for top in ("services", "shared"):
        yield from sorted((ROOT / top).rglob("*.py"))


def may_call_mongo(rel: Path) -> bool:
    """The kit, and a service's store and views."""
    if rel.parts[0] == "shared":
        return True
    return any(p in ("store", "views") for p in rel.parts[:-1]) or rel.name in (
        "store.py", "repository.py", "views.py")


def mongo_calls(tree: ast.AST) -> Iterator[int]:
    """Lines calling a collection method (``x.find_one(...)``; ``str.find`` has one argument
    that is a string literal and is not counted)."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in MONGO_CALLS):
            if node.func.attr == "find" and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                continue
            yield node.lineno


def breaches(path: Path) -> Iterator[str]:
    rel = path.relative_to(ROOT)
    text = path.read_text()
    lines = text.count("\n") + (not text.endswith("\n") and bool(text))
    if lines > MAX_LINES:
        yield f"{rel}:1: {lines} lines; split it by job (at most {MAX_LINES})"
    tree = ast.parse(text, str(rel))
    if not may_call_mongo(rel):
        for line in mongo_calls(tree):
            yield f"{rel}:{line}: MongoDB call outside the service's store and views"
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "AppKey" and rel != APP_KEYS):
            yield f"{rel}:{node.lineno}: web.AppKey outside {APP_KEYS}"
        if (isinstance(node, ast.Assert) and isinstance(node.test, ast.Call)
                and isinstance(node.test.func, ast.Name) and node.test.func.id == "isinstance"):
            yield f"{rel}:{node.lineno}: assert isinstance (gone under python -O): type it"


def count() -> int:
    total = 0
    for path in modules():
        rel = path.relative_to(ROOT)
        n = sum(1 for _ in mongo_calls(ast.parse(path.read_text(), str(rel))))
        if n and rel.parts[0] == "services":
            where = "store/views" if may_call_mongo(rel) else "OUTSIDE"
            print(f"{n:4d}  {where:11s}  {rel}")
            total += 0 if may_call_mongo(rel) else n
    print(f"MongoDB calls in services outside stores and views: {total}")
    return 0


def main(argv: list[str]) -> int:
    if "--count" in argv:
        return count()
    found = [b for path in modules() for b in breaches(path)]
    for b in found:
        print(b)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
