"""Shared test fixtures: repository paths, configuration reset, OpenLineage spec validation."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
PROVIDER_DIR = REPO_ROOT / "providers" / "openlineage"
SPEC_DIR = REPO_ROOT.parent / "shared" / "openlineage-spec"


def _find_uv() -> str:
    """The venv's own uv (pinned in ci/constraints-*), else one on PATH or in ~/.local/bin."""
    candidates = [Path(sys.executable).with_name("uv"), shutil.which("uv"), Path.home() / ".local/bin/uv"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return "uv"  # not found: the packaging tests that need it fail with FileNotFoundError naming it


UV = _find_uv()
OWN_FACETS_DIR = PROVIDER_DIR / "src" / "airflow" / "providers" / "openlineage" / "facets"
sys.path.insert(0, str(REPO_ROOT / "dev"))


@pytest.fixture(autouse=True)
def _hangs_end_with_their_test():
    """Every simulated hang (``hang.hang``) of a test is released when the test ends."""
    from hang import RELEASE

    RELEASE.clear()
    yield
    RELEASE.set()


@pytest.fixture(autouse=True)
def _fresh_openlineage_config():
    """Each test reads the configuration anew and may warn anew."""
    from airflow.providers.openlineage import conf
    from airflow.providers.openlineage.config import client_config
    from airflow.providers.openlineage.emission import spool

    conf.clear_cache()
    client_config.reset()
    spool.reset_opened()
    yield
    conf.clear_cache()
    client_config.reset()
    spool.reset_opened()


@pytest.fixture(scope="session")
def shared_airflow(tmp_path_factory):
    """
    One seeded Airflow environment (DB, secrets, api-server) shared by the e2e modules.

    Starting one costs ~40 s; each module sets the ``[openlineage]`` options it needs per run
    (``e2e_support.configure_lineage``) and undoes any other change it makes.
    """
    from e2e_support import BIG_VALUE, seeded_airflow

    with seeded_airflow(tmp_path_factory.mktemp("shared-airflow"), {"big_value": BIG_VALUE}) as env:
        env.start_api_server()
        yield env


class SpecValidator:
    """Validates events against the official OpenLineage schemas and the provider's own facet schemas."""

    def __init__(self, spec_dir: Path) -> None:
        from referencing import Registry, Resource

        self._schemas: dict[str, dict[str, Any]] = {}
        resources = []
        for path in [spec_dir / "OpenLineage.json", *sorted((spec_dir / "facets").glob("*.json"))]:
            schema = json.loads(path.read_text())
            self._schemas[path.name] = schema
            resources.append((schema["$id"], Resource.from_contents(schema)))
        for path in sorted(OWN_FACETS_DIR.glob("*.json")):
            schema = json.loads(path.read_text())
            self._schemas[path.name] = schema
            resources.append((schema["$id"], Resource.from_contents(schema)))
        self._registry = Registry().with_resources(resources)

    def _validate(self, instance: Any, ref: str) -> None:
        from jsonschema import Draft202012Validator

        validator = Draft202012Validator({"$ref": ref}, registry=self._registry)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        assert not errors, f"{ref}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])

    def validate_event(self, event: dict[str, Any]) -> None:
        self._validate(event, self._schemas["OpenLineage.json"]["$id"])
        located = [("run", n, f) for n, f in event["run"].get("facets", {}).items()]
        located += [("job", n, f) for n, f in event["job"].get("facets", {}).items()]
        for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
            located += [("dataset", n, f) for n, f in (dataset.get("facets") or {}).items()]
        for where, name, facet in located:
            url = facet.get("_schemaURL", "")
            file_name = url.split("#")[0].rsplit("/", 1)[-1]
            if file_name in self._schemas and file_name != "OpenLineage.json":
                definition = url.split("#/$defs/")[-1]
                self._validate(facet, f"{self._schemas[file_name]['$id']}#/$defs/{definition}")
            own = _OWN_FACET_SCHEMAS.get((where, name))
            if own and (OWN_FACETS_DIR / f"{own}.json").exists():
                self._validate(facet, json.loads((OWN_FACETS_DIR / f"{own}.json").read_text())["$id"])


_OWN_FACET_SCHEMAS = {
    ("run", "airflow"): "AirflowRunFacet",
    ("run", "airflowDagRun"): "AirflowDagRunFacet",
    ("run", "airflowState"): "AirflowStateRunFacet",
    ("run", "debug"): "AirflowDebugRunFacet",
    ("run", "airflow_mappedTask"): "AirflowMappedTaskRunFacet",
    ("job", "airflow"): "AirflowJobFacet",
}


@pytest.fixture(scope="session")
def spec() -> SpecValidator:
    if not (SPEC_DIR / "OpenLineage.json").exists():
        pytest.skip(f"OpenLineage spec folder {SPEC_DIR} is absent; schema validation needs it")
    return SpecValidator(SPEC_DIR)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The provider wheel, built once per session (packaging tests)."""
    if not Path(UV).exists() and not shutil.which("uv"):
        pytest.skip("uv is not installed; scripts/setup-venv.sh installs it")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [UV, "build", "--wheel", "--out-dir", str(out), str(PROVIDER_DIR)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    from airflow.providers.openlineage import __version__

    (built,) = out.glob(f"apache_airflow_providers_openlineage-{__version__}-*.whl")
    return built
