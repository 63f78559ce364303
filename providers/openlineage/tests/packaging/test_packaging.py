"""
The wheel: namespace layout, entry points, data files; an in-place upgrade over upstream 2.20.3; a
version above every release of today's provider, so ``pip install --upgrade`` picks this one.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
import zipfile

import pytest
from conftest import REPO_ROOT, UV
from packaging.version import Version

from airflow.providers.openlineage import __version__

DISTRIBUTION = "apache-airflow-providers-openlineage"

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "airflow/__init__.py" not in names
    assert "airflow/providers/__init__.py" not in names
    assert "airflow/providers/openlineage/__init__.py" in names
    assert "airflow/providers/openlineage/get_provider_info.py" in names
    assert "airflow/providers/openlineage/facets/AirflowRunFacet.json" in names
    (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode().replace(" ", "")
    assert "[apache_airflow_provider]" in text
    assert "provider_info=airflow.providers.openlineage.get_provider_info:get_provider_info" in text
    assert "[airflow.plugins]" in text
    assert "openlineage=airflow.providers.openlineage.plugins.openlineage:OpenLineageProviderPlugin" in text


def test_upgrade_over_upstream_replaces_it_in_place(wheel, tmp_path):
    venv = tmp_path / "venv"
    constraints = REPO_ROOT / "ci" / "constraints-airflow-3.3.2.txt"
    python = venv / "bin" / "python"
    subprocess.run([UV, "venv", "-q", "-p", "3.11", str(venv)], check=True, timeout=120)
    subprocess.run(
        [
            UV,
            "pip",
            "install",
            "-q",
            "-p",
            str(python),
            "-r",
            str(constraints),
            "apache-airflow-providers-openlineage==2.20.3",
        ],
        check=True,
        timeout=600,
    )
    read_options = (
        "import json; from airflow.providers.openlineage.get_provider_info import get_provider_info as g;"
        " print(json.dumps(sorted(g()['config']['openlineage']['options'])))"
    )
    upstream_options = json.loads(
        subprocess.run(
            [python, "-c", read_options], check=True, capture_output=True, text=True, timeout=120
        ).stdout
    )
    subprocess.run([UV, "pip", "install", "-q", "-p", str(python), str(wheel)], check=True, timeout=300)
    site = next((venv / "lib").glob("python3*/site-packages"))
    package = site / "airflow" / "providers" / "openlineage"
    ours = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("airflow/providers/openlineage/")}
    installed = {
        str(p.relative_to(site)) for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    assert installed == ours  # no file of the old provider left behind
    env = {
        "AIRFLOW_HOME": str(tmp_path / "home"),
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": '{"type": "console"}',
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'home' / 'airflow.db'}",
    }
    providers = subprocess.run(
        [venv / "bin" / "airflow", "providers", "list"], env=env, capture_output=True, text=True, timeout=300
    )
    assert "apache-airflow-providers-openlineage" in providers.stdout
    line = next(row for row in providers.stdout.splitlines() if "apache-airflow-providers-openlineage" in row)
    assert __version__ in line
    options = subprocess.run(
        [venv / "bin" / "airflow", "config", "list", "--section", "openlineage", "--show-values"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    from airflow.providers.openlineage.get_provider_info import get_provider_info

    declared = get_provider_info()["config"]["openlineage"]["options"]
    assert set(upstream_options) <= set(declared), set(upstream_options) - set(
        declared
    )  # 2.20.3's options kept
    for option, spec in declared.items():
        if option == "transport":  # set in env above
            assert 'transport = {"type": "console"}' in options.stdout
        elif spec["default"] is None:
            assert f"# {option} = " in options.stdout, options.stdout[-2000:]
        else:
            assert f"{option} = {spec['default']}".rstrip() in options.stdout, options.stdout[-2000:]
    plugins = subprocess.run(
        [venv / "bin" / "airflow", "plugins"], env=env, capture_output=True, text=True, timeout=300
    )
    assert "OpenLineageProviderPlugin" in plugins.stdout


def _published_versions() -> list[Version]:
    """Every version of the distribution on PyPI, pre-releases included (three tries, then fail)."""
    url = f"https://pypi.org/pypi/{DISTRIBUTION}/json"
    for attempt in range(3):
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                releases = json.load(response)["releases"]
            return sorted(Version(v) for v, files in releases.items() if files)
        except OSError as err:
            if attempt == 2:
                pytest.fail(
                    f"PyPI did not answer ({err}): cannot tell whether {__version__} is still the newest"
                )
            time.sleep(5)
    raise AssertionError("unreachable")


def test_version_sorts_above_every_release_of_todays_provider():
    """Equal versions count as installed: ours must stay above upstream's newest release or candidate."""
    published = [v for v in _published_versions() if v != Version(__version__)]
    assert Version("2.21.0rc1") in published  # the read is real: today's release candidate is listed
    newest = max(published)
    assert Version(__version__) > newest, (
        f"today's provider published {newest}; raise this provider's version above it "
        "(pyproject.toml, __init__.py, provider.yaml, docs)"
    )


def test_pip_upgrade_over_2_21_0rc1_picks_this_provider(wheel, tmp_path):
    """With today's release candidate installed, plain ``pip install --upgrade`` (PyPI and our wheel
    both offered) chooses ours and replaces it in place."""
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    constraints = REPO_ROOT / "ci" / "constraints-airflow-3.3.2.txt"
    subprocess.run([UV, "venv", "-q", "--seed", "-p", "3.11", str(venv)], check=True, timeout=120)
    subprocess.run(
        [UV, "pip", "install", "-q", "-p", str(python), "-r", str(constraints), f"{DISTRIBUTION}==2.21.0rc1"],
        check=True,
        timeout=600,
    )
    read_version = [str(python), "-c", f"import importlib.metadata as m; print(m.version('{DISTRIBUTION}'))"]
    before = subprocess.run(
        read_version, check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()
    assert before == "2.21.0rc1"
    upgrade = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--upgrade",
            "--find-links",
            str(wheel.parent),
            DISTRIBUTION,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert upgrade.returncode == 0, upgrade.stderr[-3000:]
    after = subprocess.run(
        read_version, check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()
    assert after == __version__
    site = next((venv / "lib").glob("python3*/site-packages"))
    package = site / "airflow" / "providers" / "openlineage"
    ours = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("airflow/providers/openlineage/")}
    installed = {
        str(p.relative_to(site)) for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    assert installed == ours  # nothing of 2.21.0rc1 left behind
