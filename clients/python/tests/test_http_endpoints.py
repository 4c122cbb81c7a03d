"""The server's HTTP listener (``warden serve --http-address``) as Prometheus and Kubernetes see
it: scraped with ``urllib.request`` and parsed by ``prometheus_client``'s text parser, the one
Python exporters and tests use."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from warden_client import Client, InvalidArgument


def _http_base(server: Any) -> str:
    """``http://127.0.0.1:PORT`` from the line the server prints once it listens."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"^warden: http listening on (\S+)$", server.log.read_text(), re.MULTILINE)
        if found:
            return f"http://{found.group(1)}"
        time.sleep(0.05)
    raise AssertionError(f"no 'http listening' line in {server.log}")


def _get(url: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_metrics_parse_as_prometheus_text(start_server: Callable[..., Any]) -> None:
    server = start_server("--http-address", "127.0.0.1:0")
    base = _http_base(server)
    with Client(server.socket) as client:
        client.register_content_type("lab.experiment")
        client.put_user("ada")
        client.grant("lab.change_experiment", user="ada", content_type="lab.experiment", pk=4)
        for _ in range(3):
            assert client.check("lab.change_experiment", user="ada", content_type="lab.experiment", pk=4)
        with pytest.raises(InvalidArgument):
            client.check("lab.change_experiment", user="", content_type="lab.experiment", pk=4)

    # The gauges are set once a second by the server: wait for a round after the grant.
    deadline = time.monotonic() + 60
    while True:
        status, headers, text = _get(base + "/metrics")
        assert status == 200
        families = {family.name: family for family in text_string_to_metric_families(text)}
        grants = families.get("warden_index_grants")
        if (grants and grants.samples[0].value == 1) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"

    expected_types = {
        # prometheus_client names a counter family without its _total suffix; ours have none.
        "warden_requests": "counter",
        "warden_errors": "counter",
        "warden_watchers_cut_off": "counter",
        "warden_request_duration_seconds": "histogram",
        "warden_index_grants": "gauge",
        "warden_index_users": "gauge",
        "warden_index_objects": "gauge",
        "warden_revision": "gauge",
        "warden_watchers": "gauge",
        "warden_connections": "gauge",
        "warden_database_revision": "gauge",
        "warden_database_reachable": "gauge",
    }
    for name, kind in expected_types.items():
        assert name in families, f"no {name} in /metrics"
        assert families[name].type == kind, f"{name} is a {families[name].type}, not a {kind}"

    def value(family: str, sample: str, **labels: str) -> float:
        for candidate in families[family].samples:
            if candidate.name == sample and all(candidate.labels.get(k) == v for k, v in labels.items()):
                return candidate.value
        raise AssertionError(f"no {sample}{labels} in {family}")

    # The parser reads our counters as OpenMetrics ones: samples named NAME_total.
    assert value("warden_requests", "warden_requests_total", method="check") == 4
    assert value("warden_errors", "warden_errors_total", method="check", status="3") == 1
    assert value("warden_request_duration_seconds", "warden_request_duration_seconds_count", method="check") == 4
    buckets = [
        sample
        for sample in families["warden_request_duration_seconds"].samples
        if sample.name.endswith("_bucket") and sample.labels["method"] == "check"
    ]
    bounds = [sample.labels["le"] for sample in buckets]
    assert bounds[0] == "0.00001" and bounds[-2] == "10.0" and bounds[-1] == "+Inf" and len(bounds) == 20
    counts = [sample.value for sample in buckets]
    assert counts == sorted(counts) and counts[-1] == 4  # cumulative, ending at the count
    assert value("warden_database_reachable", "warden_database_reachable") == 1
    assert value("warden_index_grants", "warden_index_grants") == 1


def test_probes_and_refusals(start_server: Callable[..., Any]) -> None:
    server = start_server("--http-address", "127.0.0.1:0")
    base = _http_base(server)
    assert _get(base + "/healthz")[0] == 200
    status, _, body = _get(base + "/readyz")
    assert (status, body) == (200, "ready\n")
    assert _get(base + "/metrics", method="HEAD")[0] == 200
    assert _get(base + "/nothing")[0] == 404
    status, headers, _ = _get(base + "/metrics", method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
