"""A bad configuration value is logged with every possible secret masked."""

from __future__ import annotations

import logging

import pytest

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.redact.config_masking import mask_config_text

KEY = "ak-live-5ecr3t"


@pytest.mark.parametrize(
    "raw",
    [
        f'{{"type": "http", "url": "http://h:5000", "auth": {{"type": "api_key", "apiKey": "{KEY}"}}',
        f'{{"type": "http", "url": "http://h", "auth": {{"type": "api_key", "apiKey": "{KEY}',  # cut off
        f"{{type: http, api_key: {KEY}}}",
        f'{{"type": "http", "url": "http://user:{KEY}@h:5000"',
        f'{{"type": "kafka", "config": {{"sasl.password": "{KEY}"}}',
        f'{{"type": "http", "custom_headers": {{"X-Whatever": "{KEY}"}}',
    ],
)
def test_secrets_are_masked(raw):
    masked = mask_config_text(raw)
    assert KEY not in masked
    assert "***" in masked


def test_where_events_go_is_still_shown():
    masked = mask_config_text('{"type": "http", "url": "http://lineage:5000", "endpoint": "api/v1/lineage"')
    assert '"type": "http"' in masked
    assert "http://lineage:5000" in masked


def test_the_bad_transport_warning_masks_the_key(monkeypatch, caplog):
    monkeypatch.setenv(
        "AIRFLOW__OPENLINEAGE__TRANSPORT", f'{{"type": "http", "auth": {{"apiKey": "{KEY}"}} oops'
    )
    with caplog.at_level(logging.WARNING, logger="airflow.providers.openlineage.conf"):
        assert conf.transport() == {}
    (line,) = [r.getMessage() for r in caplog.records]
    assert "[openlineage] transport" in line
    assert KEY not in line
