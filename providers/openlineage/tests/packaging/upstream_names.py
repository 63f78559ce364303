"""
Lists the public names of today's provider (2.20.3) from its source, without importing it.

Read with ``ast`` from the unpacked wheel, so the list is what the wheel really defines: module-level
functions, classes and assignments whose name does not start with ``_``, and the public methods and
attributes of those classes (TypedDict and dataclass fields included). Imported names are left out:
they belong to the module that defines them.

Run as a script to print what this provider still lacks::

    python upstream_names.py <dir holding airflow/providers/openlineage of 2.20.3>
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "airflow.providers.openlineage"


@dataclass(frozen=True)
class PublicName:
    """``module`` defines ``name``; ``member`` is set for a public attribute of class ``name``."""

    module: str
    name: str
    member: str | None = None

    def __str__(self) -> str:
        suffix = f".{self.member}" if self.member else ""
        return f"{self.module}:{self.name}{suffix}"


def _assigned_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    return []


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a module, including those under ``if TYPE_CHECKING``/version gates and ``try``."""
    for node in body:
        if isinstance(node, ast.If):
            if not _is_airflow_2_only(node):
                yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            yield from _top_level(node.body)
            for handler in node.handlers:
                yield from _top_level(handler.body)
        else:
            yield node


def _is_type_checking_only(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _is_airflow_2_only(node: ast.If) -> bool:
    """``if not AIRFLOW_V_3_0_PLUS:``: names Airflow 3 never sees."""
    test = node.test
    return (
        isinstance(test, ast.UnaryOp)
        and isinstance(test.op, ast.Not)
        and isinstance(test.operand, ast.Name)
        and test.operand.id == "AIRFLOW_V_3_0_PLUS"
    )


def _class_members(node: ast.ClassDef) -> set[str]:
    members: set[str] = set()
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            members.add(item.name)
        members.update(_assigned_names(item))
    return {member for member in members if not member.startswith("_")}


def names_in_module(module: str, source: str) -> set[PublicName]:
    tree = ast.parse(source)
    found: set[PublicName] = set()
    body = [node for node in tree.body if not (isinstance(node, ast.If) and _is_type_checking_only(node))]
    for node in _top_level(body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [node.name]
        elif isinstance(node, ast.ClassDef):
            names = [node.name]
            if not node.name.startswith("_"):
                found.update(PublicName(module, node.name, member) for member in _class_members(node))
        else:
            names = _assigned_names(node)
        found.update(PublicName(module, name) for name in names if not name.startswith("_"))
    return found


def upstream_names(site: Path) -> set[PublicName]:
    """Every public name under ``site/airflow/providers/openlineage``."""
    root = site / Path(*PACKAGE.split("."))
    found: set[PublicName] = set()
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(site).with_suffix("").parts
        module = ".".join(parts).removesuffix(".__init__")
        if any(part.startswith("_") and part != "__init__" for part in parts):
            continue
        found |= names_in_module(module, path.read_text())
    return found


def _has(name: PublicName) -> bool:
    try:
        module = importlib.import_module(name.module)
    except ImportError:
        return False
    if not hasattr(module, name.name):
        return False
    if name.member is None:
        return True
    owner = getattr(module, name.name)
    if hasattr(owner, name.member):
        return True
    # TypedDict keys and dataclass fields without defaults live in the annotations only.
    annotations: dict[str, object] = {}
    for klass in getattr(owner, "__mro__", ()):
        annotations.update(getattr(klass, "__annotations__", {}))
    return name.member in annotations


def missing_names(site: Path) -> list[PublicName]:
    """Public names of the provider under ``site`` that this provider does not have."""
    return sorted((name for name in upstream_names(site) if not _has(name)), key=str)


if __name__ == "__main__":
    gaps = missing_names(Path(sys.argv[1]))
    print("\n".join(map(str, gaps)))
    print(f"{len(gaps)} missing", file=sys.stderr)
