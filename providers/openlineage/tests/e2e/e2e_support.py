"""Shared set-up of the end-to-end tests: one Airflow environment seeded with secrets, per module."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from harness import AirflowEnv

DAGS = Path(__file__).parent / "dags"
SECRET_PASSWORD = "s3cr3t-Passw0rd-e2e"
SECRET_API_KEY = "ak-9f8e7d6c5b4a-e2e"
MODES = {"fork": "False", "thread": "True"}
BIG_VALUE = "x" * (5 * 1024 * 1024)  # a ~5 MB Variable: big frames on the supervisor channel


def configure_lineage(env: AirflowEnv, **options: str) -> None:
    """Replace every ``[openlineage]`` option of ``env`` with ``options`` (names in lower case)."""
    for key in [k for k in env.env if k.startswith("AIRFLOW__OPENLINEAGE__")]:
        del env.env[key]
    for name, value in options.items():
        env.env[f"AIRFLOW__OPENLINEAGE__{name.upper()}"] = value


def seeded_airflow(
    tmp_dir: Path, extra_variables: dict[str, str] | None = None, airflow_bin: str | None = None
) -> AirflowEnv:
    """An environment with the secret connection and Variables the e2e DAGs read (api-server not started)."""
    variables = {"plain_value": "plain-42", "service_api_key": SECRET_API_KEY, **(extra_variables or {})}
    variables_file = tmp_dir / "variables.json"
    variables_file.write_text(json.dumps(variables))
    env = AirflowEnv(DAGS, airflow_bin=airflow_bin)
    env.run(
        [
            *("connections", "add", "secret_conn", "--conn-type", "postgres"),
            *("--conn-host", "db", "--conn-password", SECRET_PASSWORD),
        ],
        timeout=120,
    )
    env.run(["variables", "import", str(variables_file)], timeout=120)
    return env


def rest_api(
    env: AirflowEnv, method: str, path: str, token: str | None = None, body: dict | None = None
) -> Any:
    """One JSON request to ``env``'s api-server (``/auth/token`` gives the token, all admins here)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{env.port}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"{}")
