"""Docs that must follow the code: the public-name list of the Public API page."""

from __future__ import annotations


def test_public_api_page_lists_every_name_the_compat_test_checks():
    import importlib.util

    from conftest import PROVIDER_DIR

    spec = importlib.util.spec_from_file_location(
        "probe", PROVIDER_DIR / "tests" / "packaging" / "compat_probe.py"
    )
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    page = (PROVIDER_DIR / "docs" / "public-api.rst").read_text()
    missing = [
        f"{module}.{name}"
        for module, names in probe.PUBLIC_NAMES.items()
        for name in names
        if f"``{module}``" not in page or f"``{name}``" not in page
    ]
    assert missing == []
