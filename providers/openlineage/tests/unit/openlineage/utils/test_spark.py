"""Spark helpers read the transport through ``utils.spark.get_openlineage_listener`` (patched by callers)."""

from __future__ import annotations

from unittest import mock

from openlineage.client.transport.http import HttpConfig, HttpTransport

from airflow.providers.openlineage.utils import spark


def test_transport_properties_come_from_the_patched_listener():
    transport = HttpTransport(
        HttpConfig.from_dict({"type": "http", "url": "https://lineage.example", "endpoint": "api/v1/lineage"})
    )
    listener = mock.MagicMock()
    listener.adapter.get_or_create_openlineage_client.return_value.transport = transport
    with mock.patch(
        "airflow.providers.openlineage.utils.spark.get_openlineage_listener", return_value=listener
    ):
        properties = spark.inject_transport_information_into_spark_properties({"keep": "me"}, context={})
    assert properties["keep"] == "me"
    assert properties["spark.openlineage.transport.type"] == "http"
    assert properties["spark.openlineage.transport.url"] == "https://lineage.example"
    assert properties["spark.openlineage.transport.endpoint"] == "api/v1/lineage"
