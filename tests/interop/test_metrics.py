"""The Prometheus metrics against the binary (--metrics-listen): after known traffic, the
exposition read by the Prometheus client library's OpenMetrics parser has the counts of that
traffic (requests by service, operation and result; refused authentications), the live
subscriptions and the link state; nothing is served without --metrics-listen."""

import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from conftest import ADMIN, Gateway, create_pull_point, envelope, free_port, soap


def scrape(port: int) -> dict:
    r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/openmetrics-text")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_known_traffic_is_counted(tmp_path):
    port = free_port()
    g = Gateway(tmp_path, args=("--metrics-listen", f"127.0.0.1:{port}")).start()
    try:
        for _ in range(3):
            assert soap(g.url, "<tds:GetDeviceInformation/>", auth=ADMIN).status_code == 200
        for _ in range(2):
            assert soap(g.url, "<tds:GetDeviceInformation/>", auth=("admin", "wrong-password")).status_code == 400
        assert soap(g.url, "<tds:GetSystemDateAndTime/>").status_code == 200
        # A wrong HTTP Digest password: requests answers the challenge, gets 401 again.
        r = requests.post(g.url, data=envelope("<tds:GetDeviceInformation/>").encode(),
                          headers={"Content-Type": "application/soap+xml; charset=utf-8"},
                          auth=requests.auth.HTTPDigestAuth("admin", "wrong-password"), timeout=10)
        assert r.status_code == 401
        create_pull_point(g)
        m = scrape(port)
        ok = ("railgate_soap_requests_total", (("operation", "GetDeviceInformation"), ("result", "ok"), ("service", "device")))
        refused = ("railgate_soap_requests_total", (("operation", "GetDeviceInformation"), ("result", "ter:NotAuthorized"), ("service", "device")))
        assert m[ok] == 3, m
        assert m[refused] == 2
        assert m[("railgate_auth_failures_total", (("kind", "refused"),))] == 2
        # The challenge without credentials is not a failure; the wrong answer to it is.
        assert m[("railgate_auth_failures_total", (("kind", "digest"),))] == 1
        assert m[("railgate_soap_requests_total", (("operation", "CreatePullPointSubscription"), ("result", "ok"), ("service", "event")))] == 1
        assert m[("railgate_subscriptions", (("kind", "pull_point"),))] == 1
        assert ("railgate_events_stored_total", ()) in m
        # The monitoring events of the start were committed, and each commit timed.
        assert m[("railgate_events_stored_total", ())] >= 1
        assert m[("railgate_event_store_commit_seconds_count", ())] >= 1
        # A scrape does not count itself.
        again = scrape(port)
        assert again[ok] == 3
        assert requests.get(f"http://127.0.0.1:{port}/other", timeout=5).status_code == 404
        # The ONVIF port does not serve them.
        assert requests.get(g.url.replace("/onvif/device_service", "/metrics"), timeout=5).status_code != 200
    finally:
        assert g.stop() == 0, g.log()


def test_the_config_key_serves_them_and_nothing_is_served_without_it(tmp_path):
    port = free_port()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    g = Gateway(tmp_path / "a", config=f"metrics:\n  listen: [127.0.0.1:{port}]\n").start()
    try:
        assert ("railgate_events_stored_total", ()) in scrape(port)
        assert f"serving metrics at http://127.0.0.1:{port}/metrics" in g.log()
    finally:
        assert g.stop() == 0, g.log()
    other = Gateway(tmp_path / "b").start()
    try:
        assert "serving metrics" not in other.log()
    finally:
        assert other.stop() == 0
