"""
Every public name of today's provider (2.20.3, and its release candidate 2.21.0rc1), read from its
wheels, exists here.

The wheel is unpacked without its dependencies and read with ``ast`` (see ``upstream_names.py``);
the names are then looked up on this provider. Any name missing here fails the test, except the
one listed in ``NOT_INTERFACE`` with the reason they are not part of 2.20.3's interface.
"""

from __future__ import annotations

import subprocess

import pytest
from conftest import UV
from upstream_names import missing_names, upstream_names

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(300)]

#: Names 2.20.3 defines that are not part of its interface.
NOT_INTERFACE = {
    # The setproctitle package's function, bound at module level for 2.20.3's process pool.
    "airflow.providers.openlineage.plugins.listener:setproctitle",
}


@pytest.fixture(scope="module", params=["2.20.3", "2.21.0rc1"])
def upstream_site(request, tmp_path_factory):
    site = tmp_path_factory.mktemp(f"upstream-{request.param}")
    subprocess.run(
        [
            UV,
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            f"apache-airflow-providers-openlineage=={request.param}",
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
    assert sorted(missing) == []
