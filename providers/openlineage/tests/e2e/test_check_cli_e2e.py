"""
The configuration check as operators run it: ``airflow openlineage check`` (Airflow 3.3+, a provider
CLI command) and ``python -m airflow.providers.openlineage.check`` (every version), in subprocesses.

The reported source of an option is right whichever way it was set (``airflow.cfg``, an environment
variable, the default), an invalid value is reported with the provider's one-line warning, and the
API key never appears in the output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

_AIRFLOW_3_3 = __import__("airflow").__version__.startswith("3.3.")
API_KEY = "ak-cli-check-9q8w7e"


def _env(home: Path, **options: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "OPENLINEAGE"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
    )
    env.update({f"AIRFLOW__OPENLINEAGE__{name.upper()}": value for name, value in options.items()})
    return env


def _transport(receiver: Receiver) -> str:
    return json.dumps(
        {**receiver.transport(), "auth": {"type": "api_key", "apiKey": API_KEY}},
    )


def _module_check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "airflow.providers.openlineage.check", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def _options(result: subprocess.CompletedProcess) -> dict[str, dict]:
    return {option["name"]: option for option in json.loads(result.stdout)["options"]}


@pytest.mark.skipif(not _AIRFLOW_3_3, reason="provider CLI commands are loaded from Airflow 3.3 on")
def test_airflow_cli_command_delivers_the_probe(tmp_path):
    airflow_bin = str(Path(sys.executable).with_name("airflow"))
    with Receiver("healthy") as receiver:
        env = _env(tmp_path, transport=_transport(receiver), execution_timeout="5")
        result = subprocess.run(
            [airflow_bin, "openlineage", "check", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert receiver.wait_for(1, timeout=5)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["verdict"]["outcome"] == "delivered"
    assert report["verdict"]["http_status"] == 200
    assert report["listener_registered"] is True
    assert receiver.events[0]["job"] == {"namespace": "default", "name": "openlineage_check", "facets": {}}
    assert API_KEY not in result.stdout + result.stderr


def test_module_entry_point_reports_where_each_option_came_from(tmp_path):
    (tmp_path / "airflow.cfg").write_text("[openlineage]\nnamespace = from_cfg\n")
    with Receiver("healthy") as receiver:
        from_cfg = _module_check(_env(tmp_path, transport=_transport(receiver)), "--no-send", "--json")
        from_env = _module_check(
            _env(tmp_path, transport=_transport(receiver), namespace="from_env"), "--no-send", "--json"
        )
        (tmp_path / "airflow.cfg").write_text("")
        default = _module_check(_env(tmp_path, transport=_transport(receiver)), "--no-send", "--json")
    for result in (from_cfg, from_env, default):
        assert result.returncode == 0, result.stderr[-3000:]
        assert API_KEY not in result.stdout + result.stderr
    assert _options(from_cfg)["namespace"] == {
        "name": "namespace",
        "value": "from_cfg",
        "source": "airflow.cfg",
    }
    assert _options(from_env)["namespace"] == {
        "name": "namespace",
        "value": "from_env",
        "source": "env AIRFLOW__OPENLINEAGE__NAMESPACE",
    }
    assert _options(default)["namespace"]["source"] == "default"
    assert _options(default)["transport"]["source"] == "env AIRFLOW__OPENLINEAGE__TRANSPORT"
    assert API_KEY not in _options(default)["transport"]["value"]


def test_an_invalid_value_is_reported_with_the_one_line_warning(tmp_path):
    with Receiver("healthy") as receiver:
        env = _env(tmp_path, transport=_transport(receiver), execution_timeout="abc")
        result = _module_check(env, "--no-send")
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert output.count("Invalid value for [openlineage] execution_timeout: `abc`") == 1
    assert "execution_timeout=10s fits in" in result.stdout  # the default it falls back to


def test_a_hung_backend_bounds_the_command(tmp_path):
    with Receiver("hung") as receiver:
        env = _env(tmp_path, transport=_transport(receiver), execution_timeout="2")
        result = _module_check(env, "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["verdict"]["outcome"] == "timed_out"
