"""
Run a patch on a module right after it is first executed, before anything imports names from it.

Shared by the read-only probes of this folder and of ``bench/scheduler_hooks`` (which puts this
folder on ``sys.path``): each installs one finder for the modules it measures.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Callable, Collection
from types import ModuleType


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    def __init__(self, names: Collection[str], patch: Callable[[ModuleType], None]) -> None:
        self.names = frozenset(names)
        self.patch = patch

    def find_spec(self, name, path, target=None):  # type: ignore[no-untyped-def]
        if name not in self.names:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            self.patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def patch_after_import(names: Collection[str], patch: Callable[[ModuleType], None]) -> None:
    """Call ``patch(module)`` once each of ``names`` is imported (already imported: at once)."""
    for name in names:
        if name in sys.modules:
            patch(sys.modules[name])
    sys.meta_path.insert(0, _PatchAfterImport([n for n in names if n not in sys.modules], patch))
