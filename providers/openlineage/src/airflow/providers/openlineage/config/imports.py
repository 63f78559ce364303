# Licensed to the Apache Software Foundation (ASF) under one
# or more contributor license agreements.  See the NOTICE file
# distributed with this work for additional information
# regarding copyright ownership.  The ASF licenses this file
# to you under the Apache License, Version 2.0 (the
# "License"); you may not use this file except in compliance
# with the License.  You may obtain a copy of the License at
#
#   http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing,
# software distributed under the License is distributed on an
# "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
# KIND, either express or implied.  See the License for the
# specific language governing permissions and limitations
# under the License.
"""Import objects named in configuration; an unimportable path is reported once and skipped."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from airflow.providers.openlineage.conf import warn_bad_value


def try_import_from_string(path: str) -> Any:
    """Import ``package.module.attribute``; raises ImportError when it cannot."""
    module_path, _, attribute = path.strip().rpartition(".")
    if not module_path:
        raise ImportError(f"`{path}` is not a dotted path")
    module = importlib.import_module(module_path)
    try:
        return getattr(module, attribute)
    except AttributeError as err:
        raise ImportError(f"module `{module_path}` has no attribute `{attribute}`") from err


def import_configured(option: str, paths: Iterable[str]) -> list[Any]:
    """Import every path of ``[openlineage] option``, warning once for each one that fails."""
    imported = []
    for path in sorted(paths):
        try:
            imported.append(try_import_from_string(path))
        except Exception as err:  # noqa: BLE001 - a bad path must not stop the task
            warn_bad_value(option, path, f"cannot import it ({type(err).__name__}: {err}), skipping it")
    return imported
