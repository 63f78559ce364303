"""
Other providers' OpenLineage unit tests, from their PyPI sdists, run against today's provider and ours.

Run by ``ci/compat/run.sh`` with the compat venv's Python. For each provider sdist under ``--sdists``,
the test files of ``tests/unit`` that mention OpenLineage (plus the extra files named in ``EXTRA``)
run once with each provider build installed in the same venv (``uv pip install --no-deps``): the
reference builds (today's provider, 2.20.3 and 2.21.0rc1) and ours. A test that passes with any
reference build and not with ours is a regression: the exit status is 1 and the regressions are
listed. Tests that fail with every build (they need a cloud, a database, or Airflow's source tree)
are counted, not judged.

The sdists' own ``conftest.py`` loads Airflow's in-tree test plugin, which needs Airflow's source
tree; ``--noconftest`` leaves it out, so files that need its fixtures fail with every build alike.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

#: Test files without "openlineage" in them that exercise this provider's SQL helpers.
EXTRA: dict[str, list[str]] = {
    "apache-airflow-providers-google": [
        "tests/unit/google/cloud/transfers/test_sql_to_gcs.py",
        "tests/unit/google/cloud/transfers/test_mssql_to_gcs.py",
    ],
    "apache-airflow-providers-amazon": ["tests/unit/amazon/aws/hooks/test_redshift_sql.py"],
}
#: Files that need a provider this venv cannot build (mysqlclient needs MySQL's C headers).
SKIP_FILES = {"tests/unit/google/cloud/transfers/test_mysql_to_gcs.py"}


@dataclass
class Outcomes:
    """Per test id: True (passed), False (failed or errored); skipped tests are left out."""

    by_test: dict[str, bool] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return sum(self.by_test.values())


def _project_name(sdist_dir: Path) -> str:
    for line in (sdist_dir / "PKG-INFO").read_text().splitlines():
        if line.startswith("Name: "):
            return line.removeprefix("Name: ").strip()
    raise ValueError(f"no Name in {sdist_dir / 'PKG-INFO'}")


def _test_files(sdist_dir: Path, project: str) -> list[str]:
    files = set(EXTRA.get(project, []))
    for path in sorted((sdist_dir / "tests" / "unit").rglob("test_*.py")):
        if "openlineage" in path.read_text(errors="replace").lower():
            files.add(str(path.relative_to(sdist_dir)))
    return sorted(f for f in files if f not in SKIP_FILES and (sdist_dir / f).exists())


def _install(python: Path, build: str) -> None:
    subprocess.run(
        ["uv", "pip", "install", "-q", "-p", str(python), "--no-deps", "--reinstall", build],
        check=True,
        timeout=300,
    )


def _run_tests(python: Path, sdist_dir: Path, files: list[str], airflow_home: Path) -> Outcomes:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        env = {
            **os.environ,
            "PYTHONPATH": str(sdist_dir / "tests"),
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
            # Unset in the tests' own plugin too: no transport means nothing leaves the machine.
            "AIRFLOW__OPENLINEAGE__TRANSPORT": "",
        }
        subprocess.run(
            [
                str(python),
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--noconftest",
                "--continue-on-collection-errors",
                "-o",
                "asyncio_default_fixture_loop_scope=function",
                "--timeout=120",
                f"--junitxml={report}",
                *files,
            ],
            cwd=sdist_dir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=1200,
            check=False,
        )
        outcomes = Outcomes()
        if not report.exists():
            return outcomes
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            test_id = f"{case.get('classname')}::{case.get('name')}"
            children = {child.tag for child in case}
            if "skipped" in children:
                continue
            outcomes.by_test[test_id] = not ({"failure", "error"} & children)
        return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--python", type=Path, required=True, help="the compat venv's python")
    parser.add_argument("--sdists", type=Path, required=True, help="directory of unpacked provider sdists")
    parser.add_argument("--ours", required=True, help="this provider's wheel (or source directory)")
    parser.add_argument(
        "--reference",
        action="append",
        required=True,
        help="a reference build, e.g. apache-airflow-providers-openlineage==2.20.3 (repeatable)",
    )
    parser.add_argument("--airflow-home", type=Path, required=True)
    args = parser.parse_args()

    sdist_dirs = sorted(p for p in args.sdists.iterdir() if (p / "PKG-INFO").exists())
    plan = {d: _test_files(d, _project_name(d)) for d in sdist_dirs}
    builds = [*args.reference, args.ours]
    results: dict[str, dict[Path, Outcomes]] = {}
    for build in builds:
        _install(args.python, build)
        results[build] = {
            d: _run_tests(args.python, d, files, args.airflow_home) for d, files in plan.items()
        }

    label = {build: build.rsplit("==", 1)[-1] if "==" in build else "ours" for build in builds}
    header = ["provider", "files", "tests", *(f"pass {label[b]}" for b in builds), "regressions"]
    rows: list[list[str]] = []
    regressions: list[str] = []
    for d, files in plan.items():
        ours = results[args.ours][d].by_test
        tests = set().union(*(results[b][d].by_test for b in builds))
        lost = sorted(
            test
            for test in tests
            if any(results[ref][d].by_test.get(test) for ref in args.reference) and not ours.get(test)
        )
        regressions += [f"{_project_name(d)}: {test}" for test in lost]
        rows.append(
            [
                _project_name(d).removeprefix("apache-airflow-providers-"),
                str(len(files)),
                str(len(tests)),
                *(str(results[b][d].passed) for b in builds),
                str(len(lost)),
            ]
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    if regressions:
        print("\npass with a reference build, not with ours:")
        print("\n".join(f"  {r}" for r in regressions))
        return 1
    if not any(results[args.ours][d].by_test for d in plan):
        print("no test ran: the lane is broken", file=sys.stderr)
        return 1
    print("\nno regression against the reference builds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
