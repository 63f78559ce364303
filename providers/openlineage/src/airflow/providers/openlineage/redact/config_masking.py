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
Mask secrets in a configuration value before it goes into a log line.

A bad ``transport`` value is usually half-written JSON, so it cannot be parsed and masked field by
field. It fails closed instead: every quoted value is masked unless its key is a known harmless one
(``type``, ``url``, ``endpoint``, ...), credentials in URLs are masked, and what is left goes through
Airflow's secrets masker.
"""

from __future__ import annotations

import re

MASK = "***"
# Keys whose values are shown: they name where events go, never how to authenticate.
_SHOWN_KEYS = frozenset(
    {
        "type",
        "url",
        "endpoint",
        "timeout",
        "compression",
        "verify",
        "name",
        "namespace",
        "topic",
        "log_file_path",
        "append",
        "flush",
        "transports",
        "continue_on_failure",
        "sort",
    }
)
_QUOTED_PAIR = re.compile(
    r"""(?P<key>["'])(?P<name>[^"']{0,200})(?P=key)(?P<sep>\s*:\s*)(?P<q>["'])(?P<value>(?:\\.|(?!(?P=q)).)*)(?P<end>(?P=q)|$)"""
)
_BARE_VALUE = re.compile(r"""(?P<name>[A-Za-z_][\w-]{0,100})(?P<sep>\s*[:=]\s*)(?P<value>[^\s,;}"']+)""")
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][\w+.-]*://)[^/@\s\"']+@")
_SECRET_NAME = re.compile(r"(?i)(pass|secret|token|key|auth|credential|cert|private|bearer|signature)")


def _shown(name: str) -> bool:
    return name.strip().lower() in _SHOWN_KEYS


def mask_config_text(text: str) -> str:
    """``text`` with every value that might be a secret replaced by ``***``."""

    def quoted(match: re.Match[str]) -> str:
        value = match["value"] if _shown(match["name"]) else MASK
        return f"{match['key']}{match['name']}{match['key']}{match['sep']}{match['q']}{value}{match['end']}"

    def bare(match: re.Match[str]) -> str:
        if _SECRET_NAME.search(match["name"]) is None:
            return match.group(0)
        return f"{match['name']}{match['sep']}{MASK}"

    masked = _QUOTED_PAIR.sub(quoted, text)
    masked = _BARE_VALUE.sub(bare, masked)
    masked = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", masked)
    return _airflow_masked(masked)


def mask_known_secrets(text: str) -> str:
    """Credentials in URLs and every secret Airflow's masker knows; other text is left as it is."""
    return _airflow_masked(_URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text))


def _airflow_masked(text: str) -> str:
    for module_name in ("airflow.sdk._shared.secrets_masker", "airflow._shared.secrets_masker"):
        try:
            module = __import__(module_name, fromlist=["redact"])
            text = str(module.redact(text))
        except Exception:  # noqa: BLE001 - masking is best effort on top of the rules above
            continue
    return text


__all__ = ["MASK", "mask_config_text", "mask_known_secrets"]
