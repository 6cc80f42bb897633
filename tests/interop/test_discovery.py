"""WS-Discovery with a real client (PyPI `wsdiscovery`) and railgate's own `railgate discover`.

Multicast must never leave the machine, so the whole exchange runs in a network namespace
this test creates (`unshare --net`, plus a user namespace when not root): only loopback
exists there, plus a veth pair with both ends inside. discovery_netns.py does the work inside and
reports what it saw as JSON."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import binary

HERE = Path(__file__).resolve().parent
TDS_TYPE = "http://www.onvif.org/ver10/device/wsdl|Device"


def in_namespace() -> list[str]:
    assert shutil.which("unshare"), "unshare (util-linux) is missing"
    assert shutil.which("ip"), "ip (iproute2) is missing: tests/run installs it"
    return ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--net", "--map-root-user"]


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("disc")
    out = subprocess.run(in_namespace() + [sys.executable, str(HERE / "discovery_netns.py"), str(binary()), str(workdir)],
                         capture_output=True, text=True, timeout=180, cwd=HERE)
    assert out.returncode == 0, out.stderr[-4000:] + out.stdout[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_hello_at_start_validates_and_carries_the_endpoint(seen):
    assert seen["hello_at_start"], seen["log_tail"]
    assert seen["hello_schema_errors"] == []
    hello = seen["hello_at_start"][0]
    assert seen["endpoint_reference"] in hello
    assert "onvif://www.onvif.org/name/lobby" in hello
    assert "AppSequence" in hello and "InstanceId=" in hello


def test_found_by_type_and_by_scope(seen):
    [device] = seen["by_type"]
    assert device["epr"] == seen["endpoint_reference"]
    assert TDS_TYPE in device["types"]
    # The probe came through disc0: its own address is advertised, and it works.
    assert device["xaddrs"] and all(x.startswith("http://10.77.0.1:") and x.endswith("/onvif/device_service")
                                    for x in device["xaddrs"]), device["xaddrs"]
    assert set(seen["xaddr_status"].values()) == {200}
    assert "onvif://www.onvif.org/name/lobby" in device["scopes"]
    assert [d["epr"] for d in seen["by_scope"]] == [seen["endpoint_reference"]]
    # RFC 3986 matching: a path prefix at segment boundaries matches.
    assert [d["epr"] for d in seen["by_scope_prefix"]] == [seen["endpoint_reference"]]
    assert seen["by_wrong_scope"] == []
    # The network video transmitter type is announced only when configured.
    assert seen["by_nvt_type"] == []


def test_directed_probe_is_answered_by_namespace(seen):
    assert len(seen["directed"]) >= 1
    assert "ProbeMatches" in seen["directed"][0] and seen["endpoint_reference"] in seen["directed"][0]
    assert seen["directed_schema_errors"] == []
    assert seen["directed_wrong_type"] == []


def test_a_filtered_address_gets_no_answer(seen):
    assert seen["filtered_directed"] == []
    assert len(seen["unfiltered_directed"]) >= 1 and "ProbeMatches" in seen["unfiltered_directed"][0]


def test_resolve_by_endpoint_reference(seen):
    assert seen["resolve"] and "ResolveMatches" in seen["resolve"][0], seen["resolve"]
    assert seen["endpoint_reference"] in seen["resolve"][0] and "/onvif/device_service" in seen["resolve"][0]
    assert seen["resolve_schema_errors"] == []
    assert seen["resolve_unknown"] == []


def test_new_scopes_are_announced_and_matched(seen):
    assert seen["hello_after_add_scopes"], "no Hello after AddScopes"
    assert [d["epr"] for d in seen["by_new_scope"]] == [seen["endpoint_reference"]]


def test_non_discoverable_hides_the_device(seen):
    assert seen["hidden_by_type"] == []
    assert seen["hidden_directed"] == []
    assert seen["hello_when_discoverable_again"] is True
    assert [d["epr"] for d in seen["visible_again"]] == [seen["endpoint_reference"]]


def test_railgate_discover_lists_the_device(seen):
    assert seen["discover_exit"] == 0, seen["discover_stderr"]
    assert seen["endpoint_reference"] in seen["discover_stdout"]
    assert "/onvif/device_service" in seen["discover_stdout"]


def test_floods_are_rate_limited_and_junk_is_harmless(seen):
    # 200 distinct probes from one address in a burst: at most the per-source budget is
    # answered (each answer may be sent twice, as SOAP-over-UDP repeats unicast messages).
    assert 1 <= seen["flood_answers"] <= 40, seen["flood_answers"]
    assert seen["alive_after_junk"] is True


def test_bye_on_clean_shutdown(seen):
    assert seen["stop_status"] == 0
    assert seen["bye"], seen["log_tail"]
    assert seen["endpoint_reference"] in seen["bye"][0]
    assert seen["bye_schema_errors"] == []


def test_a_reload_turns_discovery_off_and_on_again_with_new_types(seen):
    assert seen["reload_off_bye"], seen["log_tail"]
    assert seen["reload_off_directed"] == [], "off: a probe gets no answer"
    assert seen["reload_on_hello_nvt"], seen["log_tail"]
    assert seen["reload_on_directed_nvt"], "the probe match carries the new type"
    # Only the types changed: announced by a Hello, without a Bye (the service runs on).
    assert "Hello" in seen["reload_types_kinds"] and "Bye" not in seen["reload_types_kinds"], seen["reload_types_kinds"]
    assert not seen["reload_types_directed_nvt"]
