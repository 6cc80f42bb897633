"""The device service through zeep, a real ONVIF client library, using the official WSDL."""

import datetime as dt
import re
import socket
from pathlib import Path

import pytest
import zeep

from conftest import (ADMIN, NS, OPERATOR, USER, soap, texts, xml, zeep_client, zeep_fault_codes)


@pytest.fixture(scope="module")
def dev(gateway):
    return zeep_client(gateway.url)


def faults_of(call, *args, **kwargs) -> list[str]:
    with pytest.raises(zeep.exceptions.Fault) as e:
        call(*args, **kwargs)
    return zeep_fault_codes(e.value)


def test_device_information(dev):
    info = dev.GetDeviceInformation()
    assert info.Manufacturer == "railgate"
    assert info.Model == "railgate-gateway"
    assert re.fullmatch(r"\d+\.\d+\.\d+", info.FirmwareVersion)
    assert re.fullmatch(r"RG[0-9A-F]{16}", info.SerialNumber)
    assert info.HardwareId


def test_system_date_and_time_is_the_host_clock(gateway):
    anon = zeep_client(gateway.url, auth=None)
    t = anon.GetSystemDateAndTime()
    u = t.UTCDateTime
    device = dt.datetime(u.Date.Year, u.Date.Month, u.Date.Day, u.Time.Hour, u.Time.Minute, u.Time.Second,
                         tzinfo=dt.timezone.utc)
    assert abs((device - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 5
    assert t.DateTimeType in ("Manual", "NTP")
    assert t.TimeZone is None or t.TimeZone.TZ


def test_get_services_with_and_without_capabilities(dev, gateway):
    plain = dev.GetServices(IncludeCapability=False)
    assert [s.Namespace for s in plain] == ["http://www.onvif.org/ver10/device/wsdl",
                                            "http://www.onvif.org/ver10/deviceIO/wsdl",
                                            "http://www.onvif.org/ver10/events/wsdl",
                                            "http://www.onvif.org/ver10/advancedsecurity/wsdl"]
    assert plain[0].XAddr == gateway.url
    assert plain[3].XAddr == gateway.endpoint("advanced_security_service")
    assert plain[1].XAddr == gateway.endpoint("deviceio_service")
    assert plain[2].XAddr == gateway.endpoint("event_service")
    assert plain[0].Capabilities is None
    assert (plain[0].Version.Major, plain[0].Version.Minor) == (26, 6)
    r = soap(gateway.url, "<tds:GetServices><tds:IncludeCapability>true</tds:IncludeCapability></tds:GetServices>")
    security = xml(r).find(".//tds:Service/tds:Capabilities/tds:Capabilities/tds:Security", NS)
    assert security.get("UsernameToken") == "true" and security.get("HttpDigest") == "true"
    assert dev.GetServices(IncludeCapability=True)[0].Capabilities is not None


def test_service_capabilities_tell_the_truth(dev):
    caps = dev.GetServiceCapabilities()
    assert caps.Security.UsernameToken is True and caps.Security.HttpDigest is True
    assert caps.Security.MaxUsers == 32
    assert caps.Security.DefaultAccessPolicy is True
    assert caps.System.HttpFirmwareUpgrade is False
    # The test gateway runs with --discovery-interfaces off.
    assert caps.System.DiscoveryNotSupported is True and caps.System.DiscoveryBye is False
    assert caps.Network.NTP == 0


def test_xaddrs_follow_the_host_header(gateway):
    r = soap(gateway.url, "<tds:GetServices><tds:IncludeCapability>false</tds:IncludeCapability></tds:GetServices>",
             headers={"Host": "203.0.113.9:8888"})
    assert texts(r, ".//tds:XAddr") == ["http://203.0.113.9:8888/onvif/device_service",
                                        "http://203.0.113.9:8888/onvif/deviceio_service",
                                        "http://203.0.113.9:8888/onvif/event_service",
                                        "http://203.0.113.9:8888/onvif/advanced_security_service"]
    r = soap(gateway.url, "<tds:GetCapabilities/>", headers={"Host": "gw.example:80"})
    assert texts(r, ".//tt:Device/tt:XAddr") == ["http://gw.example:80/onvif/device_service"]


def test_get_capabilities(dev, gateway):
    caps = dev.GetCapabilities(Category=["All"])
    assert caps.Device.XAddr == gateway.url
    assert caps.Device.System.SupportedVersions[0].Major == 26
    assert caps.Events.XAddr == gateway.endpoint("event_service")
    # DeviceIO has no category of its own; it is under Extension (this gateway has no
    # mapping, so no relays or inputs).
    r = soap(gateway.url, "<tds:GetCapabilities><tds:Category>All</tds:Category></tds:GetCapabilities>", auth=ADMIN)
    assert texts(r, ".//tt:Extension/tt:DeviceIO/tt:XAddr") == [gateway.endpoint("deviceio_service")]
    assert texts(r, ".//tt:Extension/tt:DeviceIO/tt:RelayOutputs") == ["0"]
    assert texts(r, ".//tt:IO/tt:InputConnectors") == ["0"]
    r = soap(gateway.url, "<tds:GetCapabilities><tds:Category>Device</tds:Category></tds:GetCapabilities>", auth=ADMIN)
    assert texts(r, ".//tt:Extension/tt:DeviceIO/tt:XAddr") == []
    assert faults_of(dev.GetCapabilities, Category=["Media"]) == ["Receiver", "ActionNotSupported", "NoSuchService"]


def test_scopes_fixed_and_configurable(dev):
    scopes = {s.ScopeItem: s.ScopeDef for s in dev.GetScopes()}
    assert scopes["onvif://www.onvif.org/hardware/railgate-gateway"] == "Fixed"
    assert any(k.startswith("onvif://www.onvif.org/SerialNumber/RG") for k in scopes)
    assert scopes["onvif://www.onvif.org/name/railgate"] == "Configurable"

    dev.AddScopes(ScopeItem=["onvif://www.onvif.org/location/hall", "urn:site:42"])
    scopes = {s.ScopeItem: s.ScopeDef for s in dev.GetScopes()}
    assert scopes["urn:site:42"] == "Configurable"

    dev.SetScopes(Scopes=["onvif://www.onvif.org/name/lobby"])
    items = [(s.ScopeDef, s.ScopeItem) for s in dev.GetScopes()]
    assert ("Configurable", "onvif://www.onvif.org/name/lobby") in items
    assert not any(i == "urn:site:42" for _, i in items), "SetScopes replaces the configurable ones"
    assert ("Fixed", "onvif://www.onvif.org/hardware/railgate-gateway") in items, "fixed ones stay"

    assert faults_of(dev.RemoveScopes, ScopeItem=["onvif://www.onvif.org/hardware/railgate-gateway"]) == [
        "Sender", "OperationProhibited", "FixedScope"]
    assert faults_of(dev.RemoveScopes, ScopeItem=["urn:never:added"]) == ["Sender", "InvalidArgVal", "NoScope"]
    assert faults_of(dev.SetScopes, Scopes=["onvif://www.onvif.org/hardware/railgate-gateway"]) == [
        "Sender", "OperationProhibited", "ScopeOverwrite"]
    assert faults_of(dev.AddScopes, ScopeItem=["not a uri"])[:2] == ["Sender", "InvalidArgVal"]
    too_many = [f"urn:s:{i}" for i in range(65)]
    assert faults_of(dev.SetScopes, Scopes=too_many) == ["Receiver", "Action", "TooManyScopes"]
    removed = dev.RemoveScopes(ScopeItem=["onvif://www.onvif.org/name/lobby"])
    assert removed == ["onvif://www.onvif.org/name/lobby"]


def test_discovery_mode(dev):
    assert dev.GetDiscoveryMode() == "Discoverable"
    dev.SetDiscoveryMode(DiscoveryMode="NonDiscoverable")
    assert dev.GetDiscoveryMode() == "NonDiscoverable"
    dev.SetDiscoveryMode(DiscoveryMode="Discoverable")
    assert dev.GetDiscoveryMode() == "Discoverable"


def test_users(dev, gateway):
    users = {u.Username: u.UserLevel for u in dev.GetUsers()}
    assert users == {"admin": "Administrator", OPERATOR[0]: "Operator", USER[0]: "User"}
    assert all(u.Password is None for u in dev.GetUsers()), "passwords are never returned"

    user = {"Username": "temp", "Password": "temp-password", "UserLevel": "User"}
    dev.CreateUsers(User=[user])
    assert faults_of(dev.CreateUsers, User=[user]) == ["Sender", "OperationProhibited", "UsernameClash"]
    assert faults_of(dev.CreateUsers, User=[{**user, "Username": "x" * 33}]) == [
        "Sender", "OperationProhibited", "UsernameTooLong"]
    assert faults_of(dev.CreateUsers, User=[{**user, "Username": "y", "Password": "p" * 65}]) == [
        "Sender", "OperationProhibited", "PasswordTooLong"]
    assert faults_of(dev.CreateUsers, User=[{**user, "Username": "y", "Password": "short"}]) == [
        "Sender", "OperationProhibited", "PasswordTooWeak"]
    assert faults_of(dev.CreateUsers, User=[{**user, "Username": "y", "UserLevel": "Anonymous"}]) == [
        "Sender", "OperationProhibited", "AnonymousNotAllowed"]
    # All or nothing: one bad user in the request, none created.
    faults_of(dev.CreateUsers, User=[{**user, "Username": "ok1"}, {**user, "Username": "temp"}])
    assert "ok1" not in {u.Username for u in dev.GetUsers()}

    # SetUser: the new password works at once, the old one no longer does.
    dev.SetUser(User=[{"Username": "temp", "Password": "new-password", "UserLevel": "Operator"}])
    assert soap(gateway.url, "<tds:GetDeviceInformation/>", auth=("temp", "new-password")).status_code == 200
    assert soap(gateway.url, "<tds:GetDeviceInformation/>", auth=("temp", "temp-password")).status_code == 400
    assert faults_of(dev.SetUser, User=[{"Username": "ghost", "Password": "whatever1", "UserLevel": "User"}]) == [
        "Sender", "InvalidArgVal", "UsernameMissing"]

    assert faults_of(dev.DeleteUsers, Username=["ghost"]) == ["Sender", "InvalidArgVal", "UsernameMissing"]
    assert faults_of(dev.DeleteUsers, Username=["admin"]) == ["Sender", "InvalidArgVal", "FixedUser"]
    assert faults_of(dev.SetUser, User=[{"Username": "admin", "Password": "adminpass1", "UserLevel": "User"}]) == [
        "Sender", "InvalidArgVal", "FixedUser"]
    dev.DeleteUsers(Username=["temp"])
    assert "temp" not in {u.Username for u in dev.GetUsers()}


def test_max_users(gateway, dev):
    existing = len(dev.GetUsers())
    many = [{"Username": f"bulk{i}", "Password": "bulk-password", "UserLevel": "User"} for i in range(33 - existing)]
    assert faults_of(dev.CreateUsers, User=many) == ["Receiver", "Action", "TooManyUsers"]
    assert len(dev.GetUsers()) == existing


def _interfaces_from_sys():
    out = {}
    for d in Path("/sys/class/net").iterdir():
        addr = (d / "address").read_text().strip() if (d / "address").exists() else ""
        out[d.name] = addr
    return out


def test_network_facts_come_from_the_host(dev, gateway):
    assert dev.GetHostname().Name == socket.gethostname()
    sysfs = _interfaces_from_sys()
    interfaces = dev.GetNetworkInterfaces()
    assert interfaces
    for i in interfaces:
        assert i.token in sysfs
        if sysfs[i.token] and sysfs[i.token] != "00:00:00:00:00:00":
            assert i.Info.HwAddress == sysfs[i.token]
    resolv = [l.split()[1] for l in Path("/etc/resolv.conf").read_text().splitlines() if l.startswith("nameserver")]
    dns = dev.GetDNS()
    listed = [a.IPv4Address or a.IPv6Address for a in (dns.DNSManual or []) + (dns.DNSFromDHCP or [])]
    if not any(r.startswith("127.0.0.53") for r in resolv):
        assert listed == resolv
    protocols = dev.GetNetworkProtocols()
    assert protocols[0].Name == "HTTP" and gateway.port in protocols[0].Port
    default_v4 = []
    for line in Path("/proc/net/route").read_text().splitlines()[1:]:
        f = line.split()
        if f[1] == "00000000" and int(f[3], 16) & 2:
            default_v4.append(socket.inet_ntoa(int(f[2], 16).to_bytes(4, "little")))
    assert (dev.GetNetworkDefaultGateway().IPv4Address or []) == default_v4
    assert dev.GetZeroConfiguration().InterfaceToken in sysfs
    dev.GetNTP()  # validates; contents depend on the host's NTP client


def test_endpoint_reference_and_misc(dev, gateway):
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", dev.GetEndpointReference().GUID)
    assert dev.GetWsdlUrl().startswith("https://www.onvif.org/")
    uris = dev.GetSystemUris()
    assert uris.SupportInfoUri == gateway.url.replace("device_service", "system/support")
    assert uris.SystemBackupUri.endswith("/onvif/system/backup")


def test_unsupported_operations_fault_never_fake(dev):
    # Host changes with the default backend (none): see test_host.py.
    assert faults_of(dev.SetHostname, Name="x") == ["Receiver", "ActionNotSupported"]
    # The legacy inline backup (superseded by GetSystemUris) is not implemented.
    assert faults_of(dev.GetSystemBackup) == ["Receiver", "ActionNotSupported"]


def test_http_digest_through_zeep(gateway):
    dev = zeep_client(gateway.url, auth=ADMIN, http_digest=True)
    assert dev.GetDeviceInformation().Manufacturer == "railgate"
