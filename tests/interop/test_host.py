"""Host management through a real ONVIF client (zeep, official WSDL): with the sandbox
backend every Set is followed by its Get and survives a restart; with the default backend
(`none`) every change is refused with the standard fault and nothing changes. Nothing here
touches this machine's clock, host name or network: the sandbox lives in the test's folder."""

import datetime as dt
import subprocess
import time

from pathlib import Path

import pytest
import requests
import zeep

from conftest import (ADMIN, NS, OPERATOR, EventSource, Gateway, add_users, binary, envelope, fault_codes,
                      free_port, soap, username_token, xml, zeep_client, zeep_fault_codes)


def faults_of(call, *args, **kwargs) -> list[str]:
    with pytest.raises(zeep.exceptions.Fault) as e:
        call(*args, **kwargs)
    return zeep_fault_codes(e.value)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    work = tmp_path_factory.mktemp("host")
    g = Gateway(work, config=f"host:\n  backend: sandbox\n  root: {work / 'host'}\n").start()
    add_users(g)
    yield g
    assert g.stop() == 0, g.log()


@pytest.fixture(scope="module")
def dev(sandbox):
    return zeep_client(sandbox.url)


def device_now(url: str) -> dt.datetime:
    u = zeep_client(url, auth=None).GetSystemDateAndTime().UTCDateTime
    return dt.datetime(u.Date.Year, u.Date.Month, u.Date.Day, u.Time.Hour, u.Time.Minute, u.Time.Second,
                       tzinfo=dt.timezone.utc)


def test_the_sandbox_offers_host_configuration_in_its_capabilities(dev):
    caps = dev.GetServiceCapabilities()
    assert caps.System.NetworkConfigNotSupported is False
    assert caps.Network.NTP == 4
    assert caps.Network.ZeroConfiguration is True
    assert caps.Network.HostnameFromDHCP is True
    assert caps.Network.DynDNS is True


def test_host_name_set_then_read_back(dev, sandbox):
    dev.SetHostname(Name="door-gw-7")
    got = dev.GetHostname()
    assert (got.Name, got.FromDHCP) == ("door-gw-7", False)
    assert faults_of(dev.SetHostname, Name="bad_name!") == ["Sender", "InvalidArgVal", "InvalidHostname"]
    assert dev.GetHostname().Name == "door-gw-7"
    assert dev.SetHostnameFromDHCP(FromDHCP=True) is False  # RebootNeeded
    assert dev.GetHostname().FromDHCP is True
    dev.SetHostname(Name="door-gw-7")
    assert dev.GetHostname().FromDHCP is False
    # The sandbox file holds it, in the test's folder.
    assert "name: door-gw-7" in (sandbox.workdir / "host" / "host.yaml").read_text()


def test_dns_set_then_read_back(dev):
    dev.SetDNS(FromDHCP=False, SearchDomain=["site.example"],
               DNSManual=[{"Type": "IPv4", "IPv4Address": "192.0.2.53"},
                          {"Type": "IPv6", "IPv6Address": "2001:db8::53"}])
    got = dev.GetDNS()
    assert got.FromDHCP is False
    assert got.SearchDomain == ["site.example"]
    assert [(d.Type, d.IPv4Address or d.IPv6Address) for d in got.DNSManual] == [
        ("IPv4", "192.0.2.53"), ("IPv6", "2001:db8::53")]
    assert faults_of(dev.SetDNS, FromDHCP=False, DNSManual=[{"Type": "IPv4", "IPv4Address": "192.0.2.300"}]) \
        == ["Sender", "InvalidArgVal", "InvalidIPv4Address"]
    assert len(dev.GetDNS().DNSManual) == 2


def test_ntp_set_then_read_back(dev):
    dev.SetNTP(FromDHCP=False, NTPManual=[{"Type": "DNS", "DNSname": "ntp.site.example"},
                                          {"Type": "IPv4", "IPv4Address": "192.0.2.123"}])
    got = dev.GetNTP()
    assert got.FromDHCP is False
    assert [(n.Type, n.DNSname or n.IPv4Address) for n in got.NTPManual] == [
        ("DNS", "ntp.site.example"), ("IPv4", "192.0.2.123")]
    assert faults_of(dev.SetNTP, FromDHCP=False, NTPManual=[{"Type": "DNS", "DNSname": "-bad-"}]) \
        == ["Sender", "InvalidArgVal", "InvalidDnsName"]
    five = [{"Type": "IPv4", "IPv4Address": f"192.0.2.{i}"} for i in range(1, 6)]
    assert faults_of(dev.SetNTP, FromDHCP=False, NTPManual=five) == ["Sender", "InvalidArgVal"]


def test_default_gateway_set_then_read_back(dev):
    dev.SetNetworkDefaultGateway(IPv4Address=["192.0.2.1"], IPv6Address=["2001:db8::1"])
    got = dev.GetNetworkDefaultGateway()
    assert (got.IPv4Address, got.IPv6Address) == (["192.0.2.1"], ["2001:db8::1"])
    assert faults_of(dev.SetNetworkDefaultGateway, IPv4Address=["255.255.255.255"]) \
        == ["Sender", "InvalidArgVal", "InvalidGatewayAddress"]


def test_network_interface_set_then_read_back(dev):
    token = dev.GetNetworkInterfaces()[0].token
    reboot = dev.SetNetworkInterfaces(InterfaceToken=token, NetworkInterface={
        "Enabled": True, "MTU": 1400,
        "IPv4": {"Enabled": True, "DHCP": False, "Manual": [{"Address": "192.0.2.10", "PrefixLength": 24}]}})
    assert reboot is False
    got = next(i for i in dev.GetNetworkInterfaces() if i.token == token)
    assert got.Info.MTU == 1400
    assert [(m.Address, m.PrefixLength) for m in got.IPv4.Config.Manual] == [("192.0.2.10", 24)]
    assert got.IPv4.Config.DHCP is False
    assert faults_of(dev.SetNetworkInterfaces, InterfaceToken="no-such-if", NetworkInterface={"MTU": 1400}) \
        == ["Sender", "InvalidArgVal", "InvalidNetworkInterface"]
    assert faults_of(dev.SetNetworkInterfaces, InterfaceToken=token, NetworkInterface={"MTU": 20}) \
        == ["Sender", "InvalidArgVal", "InvalidMtuValue"]
    assert faults_of(dev.SetNetworkInterfaces, InterfaceToken=token, NetworkInterface={
        "IPv4": {"Manual": [{"Address": "192.0.2.0", "PrefixLength": 24}]}}) \
        == ["Sender", "InvalidArgVal", "InvalidIPv4Address"]
    assert next(i for i in dev.GetNetworkInterfaces() if i.token == token).Info.MTU == 1400


def test_zero_configuration_and_dynamic_dns_set_then_read_back(dev):
    token = dev.GetZeroConfiguration().InterfaceToken
    dev.SetZeroConfiguration(InterfaceToken=token, Enabled=True)
    assert dev.GetZeroConfiguration().Enabled is True
    dev.SetZeroConfiguration(InterfaceToken=token, Enabled=False)
    assert dev.GetZeroConfiguration().Enabled is False
    dev.SetDynamicDNS(Type="ClientUpdates", Name="gw7.site.example", TTL="PT1H")
    got = dev.GetDynamicDNS()
    assert (got.Type, got.Name) == ("ClientUpdates", "gw7.site.example")
    assert got.TTL is not None


def test_date_and_time_set_then_read_back_and_authentication_follows_the_device_clock(dev, sandbox):
    dev.SetNTP(FromDHCP=False, NTPManual=[{"Type": "DNS", "DNSname": "ntp.site.example"}])
    ahead = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=2)
    dev.SetSystemDateAndTime(
        DateTimeType="Manual", DaylightSavings=True, TimeZone={"TZ": "CET-1CEST,M3.5.0,M10.5.0/3"},
        UTCDateTime={"Date": {"Year": ahead.year, "Month": ahead.month, "Day": ahead.day},
                     "Time": {"Hour": ahead.hour, "Minute": ahead.minute, "Second": ahead.second}})
    got = zeep_client(sandbox.url, auth=None).GetSystemDateAndTime()
    assert got.DateTimeType == "Manual"
    assert got.TimeZone.TZ == "CET-1CEST,M3.5.0,M10.5.0/3"
    device = device_now(sandbox.url)
    assert abs((device - ahead).total_seconds()) < 10
    local = got.LocalDateTime
    local_dt = dt.datetime(local.Date.Year, local.Date.Month, local.Date.Day, local.Time.Hour, local.Time.Minute,
                           local.Time.Second, tzinfo=dt.timezone.utc)
    assert round((local_dt - device).total_seconds() / 3600) in (1, 2)  # CET or CEST

    # A client that takes its offset from GetSystemDateAndTime (as VMSs do) is let in; one
    # that sends this machine's time is two days out and refused.
    created = device.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    r = soap(sandbox.url, "<tds:GetDNS/>", header=username_token(*ADMIN, created=created))
    assert r.status_code == 200, r.text
    stale = soap(sandbox.url, "<tds:GetDNS/>", auth=ADMIN)
    assert fault_codes(stale)[:2] == ["env:Sender", "ter:NotAuthorized"]

    # NTP mode brings the sandbox clock back to the host's time source.
    body = ("<tds:SetSystemDateAndTime><tds:DateTimeType>NTP</tds:DateTimeType>"
            "<tds:DaylightSavings>true</tds:DaylightSavings></tds:SetSystemDateAndTime>")
    r = soap(sandbox.url, body, header=username_token(*ADMIN, created=created))
    assert r.status_code == 200, r.text
    assert dev.GetSystemDateAndTime().DateTimeType == "NTP"
    assert abs((device_now(sandbox.url) - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 10
    # While the clock follows NTP, its servers cannot all be removed.
    assert faults_of(dev.SetNTP, FromDHCP=False) == ["Sender", "InvalidArgVal", "TimeSyncedToNtp"]


def test_invalid_times_and_zones_get_the_faults_core_names(dev):
    def set_manual(tz=None, date=(2027, 1, 15), time=(12, 0, 0)):
        kwargs = {"DateTimeType": "Manual", "DaylightSavings": False,
                  "UTCDateTime": {"Date": dict(zip(("Year", "Month", "Day"), date)),
                                  "Time": dict(zip(("Hour", "Minute", "Second"), time))}}
        if tz is not None:
            kwargs["TimeZone"] = {"TZ": tz}
        return faults_of(dev.SetSystemDateAndTime, **kwargs)

    before = dev.GetSystemDateAndTime()
    assert set_manual(tz="Europe/Berlin") == ["Sender", "InvalidArgVal", "InvalidTimeZone"]
    assert set_manual(tz="CET-1CEST,M3.5.0") == ["Sender", "InvalidArgVal", "InvalidTimeZone"]
    assert set_manual(date=(2027, 2, 30)) == ["Sender", "InvalidArgVal", "InvalidDateTime"]
    assert set_manual(time=(24, 0, 0)) == ["Sender", "InvalidArgVal", "InvalidDateTime"]
    assert set_manual(date=(1969, 12, 31)) == ["Sender", "InvalidArgVal", "InvalidDateTime"]
    after = dev.GetSystemDateAndTime()
    assert (after.DateTimeType, after.TimeZone.TZ if after.TimeZone else None) == \
        (before.DateTimeType, before.TimeZone.TZ if before.TimeZone else None)


def test_ntp_mode_without_a_server_is_refused(tmp_path):
    g = Gateway(tmp_path, config=f"host:\n  backend: sandbox\n  root: {tmp_path / 'host'}\n").start()
    try:
        dev = zeep_client(g.url)
        dev.SetNTP(FromDHCP=False)
        assert faults_of(dev.SetSystemDateAndTime, DateTimeType="NTP", DaylightSavings=False) \
            == ["Sender", "InvalidArgVal", "NtpServerUndefined"]
    finally:
        assert g.stop() == 0, g.log()


def test_only_an_administrator_changes_the_host(sandbox):
    operator = zeep_client(sandbox.url, auth=OPERATOR)
    assert faults_of(operator.SetHostname, Name="stolen") == ["Sender", "NotAuthorized"]
    assert zeep_client(sandbox.url).GetHostname().Name != "stolen"


def test_the_sandbox_keeps_its_settings_across_a_restart(tmp_path):
    config = f"host:\n  backend: sandbox\n  root: {tmp_path / 'host'}\n"
    g = Gateway(tmp_path, config=config).start()
    zeep_client(g.url).SetHostname(Name="kept-over-restart")
    assert g.stop() == 0, g.log()
    g = Gateway(tmp_path, config=config).start()
    try:
        assert zeep_client(g.url).GetHostname().Name == "kept-over-restart"
    finally:
        assert g.stop() == 0, g.log()


def test_without_a_backend_every_change_is_refused_and_nothing_changes(gateway):
    dev = zeep_client(gateway.url)
    caps = dev.GetServiceCapabilities()
    assert caps.System.NetworkConfigNotSupported is True
    assert caps.Network.NTP == 0
    name = dev.GetHostname().Name
    not_supported = ["Receiver", "ActionNotSupported"]
    assert faults_of(dev.SetHostname, Name="x") == not_supported
    assert faults_of(dev.SetDNS, FromDHCP=True) == not_supported
    assert faults_of(dev.SetNTP, FromDHCP=True) == not_supported
    assert faults_of(dev.SetNetworkDefaultGateway, IPv4Address=["192.0.2.1"]) == not_supported
    assert faults_of(dev.SetSystemDateAndTime, DateTimeType="Manual", DaylightSavings=False) == not_supported
    assert faults_of(dev.SetZeroConfiguration, InterfaceToken="lo", Enabled=True) == not_supported
    assert faults_of(dev.GetDynamicDNS) == not_supported
    token = dev.GetNetworkInterfaces()[0].token
    assert faults_of(dev.SetNetworkInterfaces, InterfaceToken=token, NetworkInterface={"MTU": 1400}) \
        == not_supported
    assert dev.GetHostname().Name == name
    # The reason says why, without inventing anything.
    r = soap(gateway.url, "<tds:SetHostname><tds:Name>x</tds:Name></tds:SetHostname>", auth=ADMIN)
    assert "host.backend is none" in xml(r).findtext(".//env:Reason/env:Text", namespaces=NS)


def test_system_reboot_restarts_railgate_with_the_same_users_and_settings(tmp_path):
    """With a backend that does not reboot the host, SystemReboot answers, stops cleanly and
    starts railgate again in the same process: the endpoint goes away and comes back."""
    port = free_port()
    g = Gateway(tmp_path, config=f"host:\n  backend: sandbox\n  root: {tmp_path / 'host'}\n",
                listen=f"127.0.0.1:{port}").start()
    try:
        add_users(g)
        dev = zeep_client(g.url)
        dev.SetHostname(Name="before-reboot")
        assert faults_of(zeep_client(g.url, auth=OPERATOR).SystemReboot) == ["Sender", "NotAuthorized"]
        pid = g.proc.pid
        # A connection open to the old process sees it go away (closed by its clean stop).
        import socket
        held = socket.create_connection(("127.0.0.1", port), timeout=20)
        message = dev.SystemReboot()
        assert "restarts in 1 s" in message and "not rebooted" in message
        assert held.recv(1) == b"", "the connection to the old process was not closed"
        held.close()
        # The endpoint comes back on the same port.
        deadline = time.monotonic() + 30
        probe = envelope("<tds:GetSystemDateAndTime/>")
        while True:
            try:
                r = requests.post(g.url, data=probe, timeout=1, headers={"Content-Type": "application/soap+xml"})
                if r.status_code == 200 and g.log().count("railgate started") == 2:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, g.log()
            time.sleep(0.02)
        # The same process (the program was started again in place): no exit a supervisor sees.
        assert g.proc.poll() is None and g.proc.pid == pid
        log = g.log()
        assert log.count("railgate started") == 2 and "stopped" in log
        # Users and settings are as they were: the Operator still logs in.
        assert zeep_client(g.url, auth=OPERATOR).GetDNS() is not None
        assert zeep_client(g.url).GetHostname().Name == "before-reboot"
    finally:
        assert g.stop() == 0, g.log()


def wait_started_again(g: Gateway, starts: int, auth=ADMIN, timeout: float = 30) -> None:
    """Waits until the log shows start number `starts` + 1 and the endpoint answers."""
    deadline = time.monotonic() + timeout
    while g.log().count("railgate started") <= starts or "serving ONVIF" not in g.log().rsplit("railgate started", 1)[-1]:
        assert time.monotonic() < deadline, g.log()
        assert g.proc.poll() is None, g.log()
        time.sleep(0.05)


def stored_events(g: Gateway, topic: str) -> list[str]:
    return subprocess.run([binary(), "--data-dir", g.data, "--log-level", "warn", "events", "--topic", topic],
                          capture_output=True, text=True, check=True).stdout.splitlines()


def reset_fixture(tmp_path):
    """A sandbox gateway on a fixed port with its event source, set up as a client would
    leave it: a second Administrator, an Operator and a User, a client scope, discovery off,
    a host name, and one stored event."""
    sock = tmp_path / "events.sock"
    g = Gateway(tmp_path, config=f"host:\n  backend: sandbox\n  root: {tmp_path / 'host'}\n",
                env={"RAILGATE_TEST_EVENTS": str(sock)}, listen=f"127.0.0.1:{free_port()}").start()
    add_users(g)
    dev = zeep_client(g.url)
    dev.CreateUsers(User=[{"Username": "admin2", "Password": "Second-admin-1", "UserLevel": "Administrator"}])
    dev.AddScopes(ScopeItem=["onvif://www.onvif.org/location/set-by-a-client"])
    dev.SetDiscoveryMode(DiscoveryMode="NonDiscoverable")
    dev.SetHostname(Name="set-by-a-client")
    source = EventSource(sock)
    source.raise_event("Test/BeforeReset", {"Id": "x"}, {"N": "1"}, prop=False)
    source.close()
    assert len(stored_events(g, "Test/BeforeReset")) == 1
    return g, dev


def test_factory_default_soft_keeps_administrators_network_and_events(tmp_path):
    g, dev = reset_fixture(tmp_path)
    try:
        assert faults_of(zeep_client(g.url, auth=OPERATOR).SetSystemFactoryDefault, FactoryDefault="Soft") \
            == ["Sender", "NotAuthorized"]
        dev.SetSystemFactoryDefault(FactoryDefault="Soft")
        wait_started_again(g, 1)
        dev = zeep_client(g.url)
        assert {u.Username: u.UserLevel for u in dev.GetUsers()} == {"admin": "Administrator",
                                                                      "admin2": "Administrator"}
        assert dev.GetDiscoveryMode() == "Discoverable"
        assert not any("set-by-a-client" in s.ScopeItem for s in dev.GetScopes())
        assert dev.GetHostname().Name == "set-by-a-client"  # network settings kept
        assert len(stored_events(g, "Test/BeforeReset")) == 1  # event store kept
    finally:
        assert g.stop() == 0, g.log()


def test_factory_default_hard_resets_everything_and_recreates_the_first_admin(tmp_path):
    g, dev = reset_fixture(tmp_path)
    try:
        real_name = Path("/proc/sys/kernel/hostname").read_text().strip()
        dev.SetSystemFactoryDefault(FactoryDefault="Hard")
        wait_started_again(g, 1)
        # As on first start without a password given: admin with a random password in a
        # 0600 file of the data folder (the variable was taken out of the environment).
        password_file = g.data / "initial-admin-password"
        assert password_file.stat().st_mode & 0o777 == 0o600
        password = password_file.read_text().strip()
        assert password != ADMIN[1]
        assert faults_of(zeep_client(g.url).GetUsers)[:2] == ["Sender", "NotAuthorized"]
        dev = zeep_client(g.url, auth=("admin", password))
        assert [(u.Username, u.UserLevel) for u in dev.GetUsers()] == [("admin", "Administrator")]
        assert dev.GetDiscoveryMode() == "Discoverable"
        assert not any("set-by-a-client" in s.ScopeItem for s in dev.GetScopes())
        assert dev.GetHostname().Name == real_name  # the sandbox host back to the factory's
        assert stored_events(g, "Test/BeforeReset") == []  # event store cleared
    finally:
        assert g.stop() == 0, g.log()


def test_set_network_protocols_moves_http_to_a_new_port_without_a_restart(tmp_path):
    import socket
    g = Gateway(tmp_path).start()
    try:
        old_port = g.port
        dev = zeep_client(g.url)
        http, https = dev.GetNetworkProtocols()
        assert (http.Name, http.Enabled, http.Port) == ("HTTP", True, [old_port])
        assert (https.Name, https.Enabled, https.Port) == ("HTTPS", False, [443])
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            busy = taken.getsockname()[1]
            assert faults_of(dev.SetNetworkProtocols, NetworkProtocols=[
                {"Name": "HTTP", "Enabled": True, "Port": [busy]}]) == ["Sender", "InvalidArgVal", "PortAlreadyInUse"]
            assert faults_of(dev.SetNetworkProtocols, NetworkProtocols=[
                {"Name": "HTTPS", "Enabled": True, "Port": [busy]}]) == ["Sender", "InvalidArgVal", "PortAlreadyInUse"]
        assert faults_of(dev.SetNetworkProtocols, NetworkProtocols=[
            {"Name": "HTTPS", "Enabled": True, "Port": [old_port]}]) == ["Sender", "InvalidArgVal", "PortAlreadyInUse"]
        assert faults_of(dev.SetNetworkProtocols, NetworkProtocols=[
            {"Name": "RTSP", "Enabled": True, "Port": [554]}]) == ["Sender", "InvalidArgVal", "ServiceNotSupported"]
        assert faults_of(dev.SetNetworkProtocols, NetworkProtocols=[
            {"Name": "HTTP", "Enabled": False, "Port": [old_port]}])[:2] == ["Sender", "InvalidArgVal"]
        assert dev.GetNetworkProtocols()[0].Port == [old_port]  # nothing changed

        new_port = free_port()
        # As ONVIF Device Manager sends it: every protocol, the unsupported ones disabled.
        dev.SetNetworkProtocols(NetworkProtocols=[
            {"Name": "HTTP", "Enabled": True, "Port": [new_port]},
            {"Name": "HTTPS", "Enabled": False, "Port": [443]},
            {"Name": "RTSP", "Enabled": False, "Port": [554]}])
        g.port = new_port
        moved = zeep_client(g.url)
        assert moved.GetNetworkProtocols()[0].Port == [new_port]
        deadline = time.monotonic() + 5
        while True:
            try:
                requests.post(f"http://127.0.0.1:{old_port}/onvif/device_service", timeout=1,
                              data=envelope("<tds:GetSystemDateAndTime/>"),
                              headers={"Content-Type": "application/soap+xml"})
            except requests.ConnectionError:
                break
            assert time.monotonic() < deadline, "the old port still answers"
            time.sleep(0.05)
        assert g.stop() == 0, g.log()
        # The ports a client set are used at the next start.
        g.start()
        assert g.port == new_port
        assert zeep_client(g.url).GetNetworkProtocols()[0].Port == [new_port]
    finally:
        assert g.stop() == 0, g.log()


def test_system_and_access_logs(gateway):
    from conftest import USER
    dev = zeep_client(gateway.url)
    system = dev.GetSystemLog(LogType="System").String
    assert "railgate started" in system and "serving ONVIF" in system
    # The access log records changes and refusals, not reads.
    assert faults_of(zeep_client(gateway.url, auth=OPERATOR).AddScopes, ScopeItem=["urn:site:op"]) \
        == ["Sender", "NotAuthorized"]
    dev.AddScopes(ScopeItem=["urn:site:audited"])
    dev.GetScopes()
    access = dev.GetSystemLog(LogType="Access").String
    assert "user=admin operation=AddScopes ok" in access
    assert "operation=AddScopes refused" in access
    assert "operation=GetScopes" not in access
    # Logs are confidential: Administrators only.
    assert faults_of(zeep_client(gateway.url, auth=USER).GetSystemLog, LogType="System") \
        == ["Sender", "NotAuthorized"]
    assert faults_of(dev.GetSystemLog, LogType="Other")[:2] == ["Sender", "InvalidArgs"]
    caps = dev.GetServiceCapabilities()
    assert caps.System.SystemLogging is True


def test_support_information_redacts_the_mappings_secrets(tmp_path):
    example = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "it100-panel"
    mapping = (example / "it100-panel.yaml").read_text().replace("${env:RAILGATE_IT100_CODE}", "4711")
    assert "4711" in mapping
    (tmp_path / "panel.yaml").write_text(mapping)
    g = Gateway(tmp_path, config=f"mapping: {tmp_path / 'panel.yaml'}\n").start()
    try:
        info = zeep_client(g.url).GetSystemSupportInformation().String
        assert "version: " in info and "host backend: none" in info
        assert "== controllers" in info and "it100: down" in info  # /dev/ttyUSB0 is not here
        assert "Disarm|Partition1" in info and "<redacted>" in info
        assert "4711" not in info
        assert ADMIN[1] not in info
        assert soap(g.url, "<tds:GetSystemSupportInformation/>").status_code == 401
    finally:
        assert g.stop() == 0, g.log()


def digest(user_password):
    return requests.auth.HTTPDigestAuth(*user_password)


def backup_file(archive: dict) -> bytes:
    """A backup file around `archive`, with its checksum (as railgate writes one)."""
    import hashlib
    import json
    payload = json.dumps(archive)
    return json.dumps({"railgate_backup": 1, "sha256": hashlib.sha256(payload.encode()).hexdigest(),
                       "payload": payload}).encode()


def test_a_backup_restored_into_a_fresh_box_makes_it_behave_like_the_first(tmp_path):
    import json
    from conftest import USER
    example = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "it100-panel" / "it100-panel.yaml"
    site_a, site_b = tmp_path / "a", tmp_path / "b"
    site_a.mkdir()
    site_b.mkdir()
    (site_a / "panel.yaml").write_text(example.read_text().replace("${env:RAILGATE_IT100_CODE}", "4711"))
    a = Gateway(site_a, config="device:\n  name: site-a\nmapping: panel.yaml\n").start()
    try:
        add_users(a)
        dev = zeep_client(a.url)
        dev.AddScopes(ScopeItem=["onvif://www.onvif.org/location/hall-7"])
        dev.SetDiscoveryMode(DiscoveryMode="NonDiscoverable")
        uris = dev.GetSystemUris()
        assert {u.Type for u in uris.SystemLogUris.SystemLog} == {"System", "Access"}
        backup_uri = uris.SystemBackupUri
        assert requests.get(backup_uri, timeout=10).status_code == 401
        assert requests.get(backup_uri, auth=digest(USER), timeout=10).status_code == 403
        r = requests.get(backup_uri, auth=digest(ADMIN), timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/octet-stream"
        assert "attachment" in r.headers["Content-Disposition"]
        backup = r.content
        assert json.loads(json.loads(backup)["payload"])["config"].startswith("device:")
        # The logs and the support information download the same way.
        for u in [uris.SupportInfoUri] + [l.Uri for l in uris.SystemLogUris.SystemLog]:
            got = requests.get(u, auth=digest(ADMIN), timeout=10)
            assert got.status_code == 200 and got.text, u
        assert "4711" not in requests.get(uris.SupportInfoUri, auth=digest(ADMIN), timeout=10).text
        assert "SystemBackupDownload ok" in requests.get(
            next(l.Uri for l in uris.SystemLogUris.SystemLog if l.Type == "Access"), auth=digest(ADMIN), timeout=10).text
    finally:
        assert a.stop() == 0, a.log()

    b = Gateway(site_b, config="device:\n  name: site-b\n", listen=f"127.0.0.1:{free_port()}").start()
    try:
        dev_b = zeep_client(b.url)
        upload = dev_b.StartSystemRestore().UploadUri
        config_before = b.config_path.read_text()

        def post(data: bytes, content_type="application/octet-stream"):
            return requests.post(upload, data=data, auth=digest(ADMIN), timeout=30,
                                 headers={"Content-Type": content_type})

        # Hostile and broken uploads: refused, nothing changed.
        assert post(backup, "application/json").status_code == 415
        altered = backup.replace(b"site-a", b"site-x")
        r = post(altered)
        assert r.status_code == 415 and "checksum" in r.text
        payload = json.loads(json.loads(backup)["payload"])
        traversal = dict(payload, config="mapping: ../../escape.yaml\n")
        r = post(backup_file(traversal))
        assert r.status_code == 415 and "beside the configuration" in r.text
        invalid = dict(payload, config="server:\n  listen: []\n")
        assert post(backup_file(invalid)).status_code == 415
        assert post(b"x" * (17 * 1024 * 1024)).status_code == 413
        assert requests.post(upload, data=backup, auth=digest(OPERATOR), timeout=30,
                             headers={"Content-Type": "application/octet-stream"}).status_code in (401, 403)
        assert b.config_path.read_text() == config_before
        assert not (tmp_path / "escape.yaml").exists() and not (site_b / "panel.yaml").exists()
        assert not (b.data / "restore-staged.json").exists()
        assert b.log().count("railgate started") == 1

        # The real one: checked, staged, applied at the restart.
        r = post(backup)
        assert r.status_code == 200, r.text
        wait_started_again(b, 1)
        assert b.config_path.read_text() == payload["config"]
        assert (site_b / "panel.yaml").read_text() == payload["mapping"]
        dev_b = zeep_client(b.url)
        assert {u.Username for u in dev_b.GetUsers()} == {"admin", "op", "viewer"}
        assert zeep_client(b.url, auth=OPERATOR).GetDNS() is not None
        assert "onvif://www.onvif.org/location/hall-7" in [s.ScopeItem for s in dev_b.GetScopes()]
        assert dev_b.GetDiscoveryMode() == "NonDiscoverable"
        assert "onvif://www.onvif.org/name/site-a" in [s.ScopeItem for s in dev_b.GetScopes()]
        info = dev_b.GetSystemSupportInformation().String
        assert "it100: down" in info
    finally:
        assert b.stop() == 0, b.log()
