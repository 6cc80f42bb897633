"""The IP address filter through a real client: Deny and Allow lists enforced on new
connections at once (a client bound to 127.0.0.2 against one on 127.0.0.1), persisted,
the standard's faults, and the console recovery from a filter that shuts everyone out."""

import http.client
import subprocess

import pytest
import zeep

from conftest import Gateway, binary, envelope, zeep_client, zeep_fault_codes


def faults_of(call, *args, **kwargs) -> list[str]:
    with pytest.raises(zeep.exceptions.Fault) as e:
        call(*args, **kwargs)
    return zeep_fault_codes(e.value)


def answers(g: Gateway, source: str) -> bool:
    """Whether a client at `source` gets GetSystemDateAndTime answered."""
    c = http.client.HTTPConnection("127.0.0.1", g.port, timeout=5, source_address=(source, 0))
    try:
        c.request("POST", "/onvif/device_service", body=envelope("<tds:GetSystemDateAndTime/>"),
                  headers={"Content-Type": "application/soap+xml"})
        return c.getresponse().status == 200
    except (ConnectionError, http.client.HTTPException, OSError):
        return False
    finally:
        c.close()


def prefixes(*items):
    return [{"Address": a, "PrefixLength": p} for a, p in items]


def test_deny_and_allow_lists_apply_to_new_connections_and_persist(tmp_path):
    g = Gateway(tmp_path).start()
    try:
        dev = zeep_client(g.url)
        assert dev.GetServiceCapabilities().Network.IPFilter is True
        assert dev.GetIPAddressFilter().Type == "Deny" and answers(g, "127.0.0.2")
        dev.SetIPAddressFilter(IPAddressFilter={"Type": "Deny", "IPv4Address": prefixes(("127.0.0.2", 32))})
        assert not answers(g, "127.0.0.2")
        assert answers(g, "127.0.0.1")
        got = dev.GetIPAddressFilter()
        assert (got.Type, [(a.Address, a.PrefixLength) for a in got.IPv4Address]) == ("Deny", [("127.0.0.2", 32)])

        dev.SetIPAddressFilter(IPAddressFilter={"Type": "Allow", "IPv4Address": prefixes(("127.0.0.1", 32))})
        assert answers(g, "127.0.0.1") and not answers(g, "127.0.0.2")
        dev.AddIPAddressFilter(IPAddressFilter={"Type": "Allow", "IPv4Address": prefixes(("127.0.0.2", 32))})
        assert answers(g, "127.0.0.2")
        assert faults_of(dev.RemoveIPAddressFilter, IPAddressFilter={
            "Type": "Allow", "IPv4Address": prefixes(("192.0.2.0", 24))}) == ["Sender", "InvalidArgVal", "NoIPv4Address"]
        dev.RemoveIPAddressFilter(IPAddressFilter={"Type": "Allow", "IPv4Address": prefixes(("127.0.0.2", 32))})
        assert not answers(g, "127.0.0.2")
        assert faults_of(dev.SetIPAddressFilter, IPAddressFilter={
            "Type": "Deny", "IPv4Address": prefixes(("127.0.0.300", 32))}) == ["Sender", "InvalidArgVal", "InvalidIPv4Address"]
        many = prefixes(*[(f"192.0.2.{i}", 32) for i in range(65)])
        assert faults_of(dev.AddIPAddressFilter, IPAddressFilter={"Type": "Allow", "IPv4Address": many}) \
            == ["Sender", "InvalidArgVal", "IPFilterListIsFull"]
        assert g.stop() == 0, g.log()
        g.start()
        assert answers(g, "127.0.0.1") and not answers(g, "127.0.0.2")
        assert "connections closed by the IP address filter" in g.log()
    finally:
        assert g.stop() == 0, g.log()


def test_a_filter_that_shuts_everyone_out_is_cleared_on_the_console(tmp_path):
    g = Gateway(tmp_path).start()
    dev = zeep_client(g.url)
    dev.SetIPAddressFilter(IPAddressFilter={"Type": "Allow", "IPv4Address": prefixes(("10.0.0.0", 8))})
    assert not answers(g, "127.0.0.1")
    assert g.stop() == 0, g.log()
    out = subprocess.run([str(binary()), "--data-dir", str(g.data), "ip-filter", "clear"],
                         capture_output=True, text=True, check=True).stdout
    assert "cleared" in out
    g.start()
    try:
        assert answers(g, "127.0.0.1") and answers(g, "127.0.0.2")
        assert zeep_client(g.url).GetIPAddressFilter().IPv4Address == []
    finally:
        assert g.stop() == 0, g.log()
