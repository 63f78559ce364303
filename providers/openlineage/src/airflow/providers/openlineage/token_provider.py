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
"""
Upstream's import path for the Airflow-connection token provider;
the code lives in :mod:`airflow.providers.openlineage.config.token_provider`.

This module *is* that module (one object under both names), so code that patches a name here patches
the code that uses it.
"""

from __future__ import annotations

import sys

from airflow.providers.openlineage.config import token_provider as _impl
from airflow.providers.openlineage.config.token_provider import *  # noqa: F403 - the names, for type checkers and readers

sys.modules[__name__] = _impl
