"""provider.yaml is the source of truth; the generated module must match it."""

from __future__ import annotations

import shutil
import subprocess
import sys

import yaml
from conftest import PROVIDER_DIR, REPO_ROOT

from airflow.providers.openlineage.get_provider_info import get_provider_info

GENERATOR = REPO_ROOT / "scripts" / "generate_provider_info.py"


def test_generated_module_matches_provider_yaml():
    data = yaml.safe_load((PROVIDER_DIR / "provider.yaml").read_text())
    # 2.20.3's keys, plus `cli` (the `airflow openlineage check` command, loaded by Airflow 3.3+).
    keys = ("package-name", "name", "description", "integrations", "operators", "plugins", "cli", "config")
    expected = {k: data[k] for k in keys}
    assert get_provider_info() == expected
    assert len(expected["config"]["openlineage"]["options"]) == 23


def test_check_fails_on_drifted_copy(tmp_path):
    drifted_yaml = tmp_path / "provider.yaml"
    generated = tmp_path / "get_provider_info.py"
    shutil.copy(PROVIDER_DIR / "provider.yaml", drifted_yaml)
    subprocess.run([sys.executable, GENERATOR, drifted_yaml, generated], check=True)
    ok = subprocess.run([sys.executable, GENERATOR, "--check", drifted_yaml, generated])
    assert ok.returncode == 0
    drifted_yaml.write_text(drifted_yaml.read_text().replace('default: "10"', 'default: "11"'))
    drift = subprocess.run(
        [sys.executable, GENERATOR, "--check", drifted_yaml, generated], capture_output=True
    )
    assert drift.returncode == 1
    assert b"out of date" in drift.stdout


def test_every_upstream_option_is_declared():
    """2.20.3's options (``emission_policy`` is ours too), plus the spool's two and the child-job three."""
    options = get_provider_info()["config"]["openlineage"]["options"]
    own = {
        "spool_dir",
        "spool_max_size_mb",
        "child_process_parent_job_info",
        "kubernetes_inject_parent_job_info",
        "docker_inject_parent_job_info",
    }
    assert set(options) - own == {
        "config_conn_id",
        "config_path",
        "custom_run_facets",
        "dag_state_change_process_pool_size",
        "debug_mode",
        "disable_source_code",
        "disabled",
        "disabled_for_operators",
        "emission_policy",
        "execution_timeout",
        "execute_in_thread",
        "extractors",
        "include_full_task_info",
        "namespace",
        "selective_enable",
        "spark_inject_parent_job_info",
        "spark_inject_transport_info",
        "transport",
    }
    assert options["execution_timeout"]["default"] == "10"
    assert options["spool_dir"]["default"] == ""  # off unless set: an upgrade changes nothing
    assert options["execute_in_thread"]["default"] == "False"
