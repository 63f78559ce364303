"""
Real providers that import this one, installed beside it: amazon, postgres, sqlite, common-sql,
common-compat, common-io and standard (pinned in ``ci/constraints-compat-airflow-3.3.2.txt``).

Every module of theirs that mentions this provider imports; every public name they (and DAG authors)
use exists; their OpenLineage code paths that need no cloud access return what they did with the
provider we replace.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import REPO_ROOT, UV

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]

PROBE = Path(__file__).with_name("compat_probe.py")


@pytest.fixture(scope="module")
def probe(wheel, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compat")
    venv = tmp / "venv"
    python = venv / "bin" / "python"
    constraints = REPO_ROOT / "ci" / "constraints-compat-airflow-3.3.2.txt"
    subprocess.run([UV, "venv", "-q", "-p", "3.11", str(venv)], check=True, timeout=120)
    subprocess.run(
        [UV, "pip", "install", "-q", "-p", str(python), "-r", str(constraints)], check=True, timeout=900
    )
    subprocess.run(
        [UV, "pip", "install", "-q", "-p", str(python), "--no-deps", str(wheel)], check=True, timeout=300
    )
    env = {
        "AIRFLOW_HOME": str(tmp / "home"),
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp / 'airflow.db'}",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "compat",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {
                "type": "http",
                "url": "http://127.0.0.1:9",
                "endpoint": "api/v1/lineage",
                "timeout": 2,
                "auth": {"type": "api_key", "apiKey": "compat-key"},
            }
        ),
        # Refused at once: the SQL operator's information-schema lookup fails fast and falls back.
        "AIRFLOW_CONN_PG": "postgres://user:pw@127.0.0.1:9/appdb",
    }
    result = subprocess.run(
        [str(python), str(PROBE)], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_their_modules_import(probe):
    imported = [module for module, outcome in probe["imports"].items() if outcome == "ok"]
    assert len(imported) >= 25, probe["imports"]
    failed = {module: error for module, error in probe["imports"].items() if error.startswith("failed")}
    assert failed == {}


def test_every_public_name_exists(probe):
    assert probe["missing"] == []


def test_their_openlineage_code_paths(probe):
    paths = probe["code_paths"]
    errors = {
        name: value["error"] for name, value in paths.items() if isinstance(value, dict) and "error" in value
    }
    assert errors == {}
    sql = paths["sql_operator"]
    assert sorted(sql["inputs"]) == [
        ["postgres://127.0.0.1:9", "appdb.public.v"],
        ["postgres://127.0.0.1:9", "appdb.s.u"],
    ]
    assert sql["outputs"] == [["postgres://127.0.0.1:9", "appdb.s.t"]]
    assert sql["sql"] == "INSERT INTO s.t SELECT a FROM s.u JOIN v ON true"
    assert paths["postgres_namespace"] == "postgres://pg.example:5433"
    assert paths["redshift_namespace"].startswith("redshift://")
    assert paths["s3_asset"] == ["s3://bucket", "dir/key.csv"]
    assert paths["s3_copy_operator"] == {"inputs": [["s3://a", "x.csv"]], "outputs": [["s3://b", "y.csv"]]}
    # common-io names these itself (path without its leading slash).
    assert paths["file_transfer"] == {"inputs": [["file", "tmp/a.csv"]], "outputs": [["file", "tmp/b.csv"]]}
    assert paths["version_gate"] == "allowed"

    conf = paths["trigger_conf"]
    assert conf["k"] == 1
    parent = conf["openlineage"]
    assert parent["parentJobName"] == "upstream_dag.submit"
    assert parent["parentJobNamespace"] == "compat"
    assert parent["rootParentJobName"] == "upstream_dag"

    spark = paths["spark_properties"]
    assert spark["a"] == "b"
    assert spark["spark.openlineage.parentRunId"] == parent["parentRunId"]
    assert spark["spark.openlineage.rootParentRunId"] == parent["rootParentRunId"]
    assert spark["spark.openlineage.transport.type"] == "http"
    assert spark["spark.openlineage.transport.url"] == "http://127.0.0.1:9"
    assert spark["spark.openlineage.transport.timeoutInMillis"] == "2000"
    assert spark["spark.openlineage.transport.auth.apiKey"] == "Bearer compat-key"

    glue, emr = paths["glue_and_emr"]["glue"], paths["glue_and_emr"]["emr"]
    assert glue["--conf"].startswith("x=y --conf spark.openlineage.parentJobNamespace=compat --conf ")
    (defaults,) = emr["applicationConfiguration"]
    assert defaults["classification"] == "spark-defaults"
    assert defaults["properties"]["spark.openlineage.parentJobName"] == "upstream_dag.submit"
