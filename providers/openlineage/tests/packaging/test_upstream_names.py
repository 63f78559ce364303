"""
Every public name of today's provider (2.20.3), read from its wheel, exists here.

The wheel is unpacked without its dependencies and read with ``ast`` (see ``upstream_names.py``);
the names are then looked up on this provider. ``STILL_MISSING`` lists the gaps not closed yet
(issue #16); a name missing from this provider and not listed there fails the test, and so does a
listed name that now exists (the list only shrinks).
"""

from __future__ import annotations

import subprocess

import pytest
from conftest import UV
from upstream_names import missing_names, upstream_names

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(300)]

#: Names 2.20.3 defines that are not part of its interface.
NOT_INTERFACE = {
    # Defined only when PYTEST_VERSION is set (its test-time replacement for functools.cache).
    "airflow.providers.openlineage.conf:decorator",
    # The setproctitle package's function, bound at module level for 2.20.3's process pool.
    "airflow.providers.openlineage.plugins.listener:setproctitle",
}

#: Gaps still open (issue #16): the ``*Info`` dict classes, the redactor class and the task-event
#: facet builders of ``utils.utils``.
STILL_MISSING = {
    *(
        f"airflow.providers.openlineage.utils.utils:{name}"
        for name in (
            "AssetInfo",
            "AssetInfo.includes",
            "DagInfo",
            "DagInfo.casts",
            "DagInfo.includes",
            "DagInfo.renames",
            "DagInfo.serialize_timetable",
            "DagInfo.timetable_summary",
            "DagRunInfo",
            "DagRunInfo.casts",
            "DagRunInfo.dag_version_info",
            "DagRunInfo.deadlines",
            "DagRunInfo.duration",
            "DagRunInfo.includes",
            "DagRunInfo.team_name",
            "InfoJsonEncodable",
            "InfoJsonEncodable.casts",
            "InfoJsonEncodable.excludes",
            "InfoJsonEncodable.includes",
            "InfoJsonEncodable.renames",
            "OpenLineageRedactor",
            "OpenLineageRedactor.from_masker",
            "TaskGroupInfo",
            "TaskGroupInfo.includes",
            "TaskGroupInfo.renames",
            "TaskInfo",
            "TaskInfo.casts",
            "TaskInfo.includes",
            "TaskInfo.renames",
            "TaskInfoComplete",
            "TaskInfoComplete.excludes",
            "TaskInfoComplete.includes",
            "TaskInstanceInfo",
            "TaskInstanceInfo.casts",
            "TaskInstanceInfo.includes",
        )
    ),
}


@pytest.fixture(scope="module")
def upstream_site(tmp_path_factory):
    site = tmp_path_factory.mktemp("upstream-2.20.3")
    subprocess.run(
        [
            UV,
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            "apache-airflow-providers-openlineage==2.20.3",
        ],
        check=True,
        timeout=240,
    )
    return site


def test_the_wheel_is_read(upstream_site):
    names = {str(name) for name in upstream_names(upstream_site)}
    # A sample of names other providers import, so an empty or wrong read cannot pass.
    assert "airflow.providers.openlineage.utils.utils:get_job_name" in names
    assert "airflow.providers.openlineage.sqlparser:SQLParser.generate_openlineage_metadata_from_sql" in names
    assert len(names) > 300


def test_no_new_gap(upstream_site):
    missing = {str(name) for name in missing_names(upstream_site)} - NOT_INTERFACE
    assert sorted(missing - STILL_MISSING) == []


def test_the_list_of_open_gaps_only_shrinks(upstream_site):
    missing = {str(name) for name in missing_names(upstream_site)}
    assert sorted(STILL_MISSING - missing) == []
