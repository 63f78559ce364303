"""The check command against real HTTP receivers on 127.0.0.1: one verdict and exit code per fault."""

from __future__ import annotations

import json
import time

import pytest
from receiver import Receiver, unused_port

from airflow.providers.openlineage import check

API_KEY = "ak-check-5ecr3t-key"


def _configure(monkeypatch, url: str, **extra: str) -> None:
    transport = {
        "type": "http",
        "url": url,
        "endpoint": "api/v1/lineage",
        "timeout": 300,
        "auth": {"type": "api_key", "apiKey": API_KEY},
    }
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(transport))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT", extra.pop("timeout", "2"))
    for name, value in extra.items():
        monkeypatch.setenv(f"AIRFLOW__OPENLINEAGE__{name.upper()}", value)


def _run(argv: list[str]) -> tuple[int, str, float]:
    printed: list[str] = []
    started = time.monotonic()
    code = check.main(argv, out=printed.append)
    return code, "\n".join(printed), time.monotonic() - started


@pytest.mark.parametrize(
    ("mode", "outcome", "code"),
    [
        ("healthy", "delivered", 0),
        ("hung", "timed_out", 1),
        ("refused", "refused", 1),
        ("unauthorized", "auth_rejected", 1),
        ("error", "http_error", 1),
        ("tls", "tls_error", 1),
    ],
)
def test_each_fault_gets_its_verdict_and_exit_code(monkeypatch, caplog, mode, outcome, code):
    with Receiver("healthy" if mode in ("refused", "tls") else mode) as receiver:
        url = receiver.url
        if mode == "refused":
            url = f"http://127.0.0.1:{unused_port()}"
        if mode == "tls":
            url = receiver.url.replace("http://", "https://")  # TLS to a plain-HTTP port
        _configure(monkeypatch, url)
        exit_code, output, seconds = _run(["--json"])
        if mode == "healthy":
            assert receiver.wait_for(1, timeout=5)
            assert receiver.events[0]["job"]["name"] == "openlineage_check"
    report = json.loads(output)
    assert report["verdict"]["outcome"] == outcome, report["verdict"]
    assert exit_code == code
    assert report["verdict"]["advice"]
    assert seconds < 2 + 1.5  # bounded by execution_timeout plus a small margin, even when hung
    if mode in ("healthy", "unauthorized", "error"):
        assert report["verdict"]["http_status"] == {"healthy": 200, "unauthorized": 401, "error": 500}[mode]
    assert API_KEY not in output
    assert API_KEY not in caplog.text
    assert report["transport"]["auth"] == "api_key"
    assert "apiKey" not in json.dumps(report["transport"])


def test_text_report_names_every_option_and_masks_the_key(monkeypatch):
    with Receiver("healthy") as receiver:
        _configure(monkeypatch, receiver.url, execute_in_thread="True")
        exit_code, output, _ = _run([])
    assert exit_code == 0
    assert API_KEY not in output
    for option in ("transport", "execution_timeout", "execute_in_thread", "namespace", "emission_policy"):
        assert f"  {option} " in output
    assert "(env AIRFLOW__OPENLINEAGE__TRANSPORT)" in output
    assert "Emission mode: thread" in output
    assert "DELIVERED" in output


def test_no_send_reports_without_sending(monkeypatch):
    with Receiver("healthy") as receiver:
        _configure(monkeypatch, receiver.url)
        exit_code, output, _ = _run(["--no-send", "--json"])
        assert receiver.requests == 0
    assert exit_code == 0
    assert json.loads(output)["verdict"]["outcome"] == "not_sent"


def test_a_rejected_policy_rule_is_reported(monkeypatch):
    with Receiver("healthy") as receiver:
        _configure(
            monkeypatch,
            receiver.url,
            emission_policy=json.dumps([{"scope": {}, "controls": {"emitt": False}}]),
        )
        _, output, _ = _run(["--no-send", "--json"])
    rejected = json.loads(output)["emission_policy"]["rejected"]
    assert rejected == [{"rule": 0, "problem": "unknown control(s) ['emitt']"}]


def test_an_unusable_configuration_exits_2(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__CONFIG_PATH", str(tmp_path / "missing.yml"))
    exit_code, output, _ = _run(["--json"])
    assert exit_code == 2
    assert json.loads(output)["verdict"]["outcome"] == "config_error"


def test_the_spool_is_reported_off_on_or_unusable(monkeypatch, tmp_path):
    from airflow.providers.openlineage import conf
    from airflow.providers.openlineage.emission import spool

    def spool_dir(value: str) -> None:
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__SPOOL_DIR", value)
        conf.clear_cache()
        spool.reset_opened()

    _configure(monkeypatch, f"http://127.0.0.1:{unused_port()}")
    _, output, _ = _run(["--no-send"])
    assert "Spool: off" in output
    (tmp_path / "spool").mkdir()
    spool_dir(str(tmp_path / "spool"))
    _, output, _ = _run(["--no-send", "--json"])
    assert json.loads(output)["spool"] == {
        "enabled": True,
        "directory": str(tmp_path / "spool"),
        "files": 0,
        "bytes": 0,
        "oldest": None,
    }
    spool_dir(str(tmp_path / "missing"))
    _, output, _ = _run(["--no-send"])
    assert f"Spool: OFF, [openlineage] spool_dir={tmp_path / 'missing'} is missing or not writable" in output
