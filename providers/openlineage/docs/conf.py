"""Self-contained Sphinx configuration of the provider docs (``sphinx-build -W -b html . _build``)."""

from __future__ import annotations

from pathlib import Path

import yaml

DOCS_DIR = Path(__file__).parent
PROVIDER_YAML = DOCS_DIR.parent / "provider.yaml"

project = "apache-airflow-providers-openlineage"
release = version = "2.22.0"
extensions: list[str] = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
root_doc = "index"


def _render_configuration_reference() -> str:
    """The ``[openlineage]`` option reference, rendered from provider.yaml (the source of truth)."""
    section = yaml.safe_load(PROVIDER_YAML.read_text())["config"]["openlineage"]
    lines = [section["description"].strip(), ""]
    for name, option in section["options"].items():
        lines += [f".. _config:openlineage__{name}:", "", name, "-" * len(name), ""]
        lines += [option["description"].strip(), ""]
        lines += [
            f":Type: {option['type']}",
            f":Default: ``{option['default'] if option['default'] not in (None, '') else '(empty)'}``",
            f":Environment variable: ``AIRFLOW__OPENLINEAGE__{name.upper()}``",
        ]
        if option.get("example") is not None:
            lines.append(f":Example: ``{option['example']}``")
        if option.get("version_added") is not None:
            lines.append(f":Version added: {option['version_added']}")
        lines.append("")
    return "\n".join(lines)


def _write_generated(app) -> None:
    target = DOCS_DIR / "_generated_options.rst.inc"
    text = _render_configuration_reference()
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def setup(app):
    app.connect("builder-inited", _write_generated)
