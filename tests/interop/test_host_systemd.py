"""The systemd host backend against python-dbusmock mocks of hostnamed, timedated, logind and
the systemd manager on a private bus, through a real ONVIF client: every Set is checked as
the exact D-Bus calls it made, and nothing touches this machine's clock, host name or
network (the bus is the test's own; the timesyncd drop-in goes under the test's folder)."""

import datetime as dt
import os
from pathlib import Path

import pytest
import zeep

from conftest import Gateway, add_users, free_port, zeep_client, zeep_fault_codes
from systemd_bus import SystemBus, available

pytestmark = pytest.mark.skipif(available() is not None and not os.environ.get("RAILGATE_REQUIRE_DBUSMOCK"),
                                reason=str(available()))


def faults_of(call, *args, **kwargs) -> list[str]:
    with pytest.raises(zeep.exceptions.Fault) as e:
        call(*args, **kwargs)
    return zeep_fault_codes(e.value)


@pytest.fixture
def bus(tmp_path):
    b = SystemBus(tmp_path).start()
    yield b
    b.stop()


def systemd_gateway(tmp_path: Path, bus: SystemBus, listen: str = "127.0.0.1:0") -> Gateway:
    root = tmp_path / "root"
    g = Gateway(tmp_path, config=f"host:\n  backend: systemd\n  root: {root}\n",
                env={"DBUS_SYSTEM_BUS_ADDRESS": bus.address}, listen=listen)
    g.root = root
    return g.start()


def test_host_name_time_zone_and_ntp_go_to_the_hosts_services(tmp_path, bus):
    real_hostname = Path("/proc/sys/kernel/hostname").read_text()
    g = systemd_gateway(tmp_path, bus)
    try:
        dev = zeep_client(g.url)
        caps = dev.GetServiceCapabilities()
        assert caps.System.NetworkConfigNotSupported is False
        assert caps.Network.NTP == 4 and caps.Network.HostnameFromDHCP is True

        assert dev.GetHostname().Name == "panel-gw"
        dev.SetHostname(Name="door-gw-9")
        assert 'SetStaticHostname "door-gw-9" False' in bus.calls("hostnamed")
        assert (dev.GetHostname().Name, dev.GetHostname().FromDHCP) == ("door-gw-9", False)
        dev.SetHostnameFromDHCP(FromDHCP=True)
        assert 'SetStaticHostname "" False' in bus.calls("hostnamed")
        got = dev.GetHostname()
        assert (got.Name, got.FromDHCP) == ("dhcp-given", True)

        dev.SetNTP(FromDHCP=False, NTPManual=[{"Type": "DNS", "DNSname": "ntp.site.example"},
                                              {"Type": "IPv4", "IPv4Address": "192.0.2.123"}])
        dropin = g.root / "etc/systemd/timesyncd.conf.d/50-railgate.conf"
        assert "NTP=ntp.site.example 192.0.2.123" in dropin.read_text()
        assert 'TryRestartUnit "systemd-timesyncd.service" "replace"' in bus.calls("systemd")
        assert [n.DNSname or n.IPv4Address for n in dev.GetNTP().NTPManual] == ["ntp.site.example", "192.0.2.123"]

        when = dt.datetime(2027, 3, 1, 12, 30, 5, tzinfo=dt.timezone.utc)
        dev.SetSystemDateAndTime(
            DateTimeType="Manual", DaylightSavings=True, TimeZone={"TZ": "CET-1CEST,M3.5.0,M10.5.0/3"},
            UTCDateTime={"Date": {"Year": 2027, "Month": 3, "Day": 1},
                         "Time": {"Hour": 12, "Minute": 30, "Second": 5}})
        calls = [c for c in bus.calls("timedated") if c.startswith("Set") and not c.startswith("Set /")]
        zone_call = next(c for c in calls if c.startswith("SetTimezone"))
        zone = zone_call.split('"')[1]
        assert Path("/usr/share/zoneinfo", zone).read_bytes().rstrip(b"\n").endswith(b"CET-1CEST,M3.5.0,M10.5.0/3")
        usec = int(when.timestamp()) * 1_000_000
        assert calls[-3:] == [f'SetTimezone "{zone}" False', "SetNTP False False", f"SetTime {usec} False False"]
        got = dev.GetSystemDateAndTime()
        assert (got.DateTimeType, got.TimeZone.TZ) == ("Manual", "CET-1CEST,M3.5.0,M10.5.0/3")

        dev.SetSystemDateAndTime(DateTimeType="NTP", DaylightSavings=True)
        sets = [c for c in bus.calls("timedated") if c.startswith("SetNTP")]
        assert sets[-1] == "SetNTP True False"
        assert dev.GetSystemDateAndTime().DateTimeType == "NTP"
        # This machine's own settings are untouched.
        assert Path("/proc/sys/kernel/hostname").read_text() == real_hostname
        assert not Path("/etc/systemd/timesyncd.conf.d/50-railgate.conf").exists()
    finally:
        assert g.stop() == 0, g.log()


def test_system_reboot_stops_cleanly_then_asks_logind(tmp_path, bus):
    g = systemd_gateway(tmp_path, bus, listen=f"127.0.0.1:{free_port()}")
    add_users(g)
    message = zeep_client(g.url).SystemReboot()
    assert "the host reboots" in message
    assert g.proc.wait(15) == 0, g.log()
    assert "Reboot False" in bus.calls("logind")
    log = g.log()
    assert log.index("stopped") < log.index("the host reboots (logind)")
    assert log.count("railgate started") == 1  # not started again: the host reboots


def test_an_unreachable_bus_is_a_clear_fault_and_the_clock_still_answers(tmp_path):
    g = Gateway(tmp_path, config="host:\n  backend: systemd\n",
                env={"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}).start()
    try:
        dev = zeep_client(g.url)
        assert faults_of(dev.SetHostname, Name="x") == ["Receiver", "Action"]
        t = zeep_client(g.url, auth=None).GetSystemDateAndTime()
        assert t.UTCDateTime.Date.Year >= 2026
    finally:
        assert g.stop() == 0, g.log()


def test_the_polkit_rule_allows_the_service_user_exactly_the_backends_actions():
    """The shipped rule, evaluated by Node.js with polkit's rule API stubbed."""
    import json
    import shutil
    import subprocess
    node = shutil.which("node")
    if not node:
        pytest.skip("node is missing")
    rules = Path(__file__).resolve().parents[2] / "deploy" / "polkit" / "50-railgate.rules"
    script = """
const fs = require("fs");
let rule;
const polkit = { Result: { YES: "yes", NO: "no", NOT_HANDLED: "not handled" }, addRule: (f) => { rule = f; } };
eval(fs.readFileSync(process.argv[1], "utf8"));
const cases = JSON.parse(process.argv[2]);
console.log(JSON.stringify(cases.map(([id, user, vars]) =>
  rule({ id, lookup: (k) => (vars || {})[k] }, { user }))));
"""
    cases = [
        ["org.freedesktop.hostname1.set-static-hostname", "railgate", {}],
        ["org.freedesktop.timedate1.set-time", "railgate", {}],
        ["org.freedesktop.login1.reboot", "railgate", {}],
        ["org.freedesktop.NetworkManager.settings.modify.system", "railgate", {}],
        ["org.freedesktop.systemd1.manage-units", "railgate", {"unit": "systemd-timesyncd.service", "verb": "try-restart"}],
        ["org.freedesktop.systemd1.manage-units", "railgate", {"unit": "sshd.service", "verb": "stop"}],
        ["org.freedesktop.login1.power-off", "railgate", {}],
        ["org.freedesktop.timedate1.set-time", "mallory", {}],
    ]
    out = subprocess.run([node, "-e", script, str(rules), json.dumps(cases)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["yes", "yes", "yes", "yes", "yes", "not handled", "not handled", "not handled"]


def test_the_system_log_is_the_units_journal_and_the_ring_without_one(tmp_path, bus):
    """journalctl is a stand-in on PATH here (no journald in the test): the log it prints is
    what GetSystemLog gives; when it fails, the in-memory ring is."""
    fake = tmp_path / "bin"
    fake.mkdir()
    journalctl = fake / "journalctl"
    journalctl.write_text('#!/bin/sh\n[ -e "$0.fail" ] && exit 1\necho "2026-12-07T00:00:00+0000 box railgate[1]: from the journal $*"\n')
    journalctl.chmod(0o755)
    g = Gateway(tmp_path, config=f"host:\n  backend: systemd\n  root: {tmp_path / 'root'}\n",
                env={"DBUS_SYSTEM_BUS_ADDRESS": bus.address, "PATH": f"{fake}:{os.environ['PATH']}"}).start()
    try:
        dev = zeep_client(g.url)
        log = dev.GetSystemLog(LogType="System").String
        assert "from the journal --unit=" in log and "--lines=2000" in log and "--no-pager" in log
        (fake / "journalctl.fail").touch()
        log = dev.GetSystemLog(LogType="System").String
        assert "from the journal" not in log and "railgate started" in log
    finally:
        assert g.stop() == 0, g.log()


def test_interfaces_dns_and_gateway_go_to_networkmanager_profiles(tmp_path, bus):
    g = systemd_gateway(tmp_path, bus)
    try:
        dev = zeep_client(g.url)
        token = dev.GetZeroConfiguration().InterfaceToken  # the primary interface
        mtu_before = Path(f"/sys/class/net/{token}/mtu").read_text()
        bus.add_ethernet(token)
        assert dev.SetNetworkInterfaces(InterfaceToken=token, NetworkInterface={
            "MTU": 1400, "IPv4": {"Enabled": True, "DHCP": False,
                                  "Manual": [{"Address": "192.0.2.10", "PrefixLength": 24}]}}) is False
        calls = bus.calls("networkmanager")
        assert any(c.startswith("AddConnection") and f'"interface-name": "{token}"' in c for c in calls), calls
        assert any(c.startswith("ActivateConnection") for c in calls), calls
        got = next(i for i in dev.GetNetworkInterfaces() if i.token == token)
        assert got.Info.MTU == 1400
        assert [(m.Address, m.PrefixLength) for m in got.IPv4.Config.Manual] == [("192.0.2.10", 24)]
        assert got.IPv4.Config.DHCP is False

        dev.SetDNS(FromDHCP=False, SearchDomain=["site.example"],
                   DNSManual=[{"Type": "IPv4", "IPv4Address": "192.0.2.53"}])
        dns = dev.GetDNS()
        assert (dns.FromDHCP, dns.SearchDomain, [d.IPv4Address for d in dns.DNSManual]) == \
            (False, ["site.example"], ["192.0.2.53"])
        dev.SetNetworkDefaultGateway(IPv4Address=["192.0.2.1"])
        assert dev.GetNetworkDefaultGateway().IPv4Address == ["192.0.2.1"]
        # One profile for the interface, updated in place.
        assert sum(c.startswith("AddConnection") for c in bus.calls("networkmanager")) == 1
        assert any(c.startswith("Update") for c in bus.calls("networkmanager"))
        # The machine's own interface is untouched.
        assert Path(f"/sys/class/net/{token}/mtu").read_text() == mtu_before
        assert faults_of(dev.SetNetworkInterfaces, InterfaceToken="no-such-if", NetworkInterface={"MTU": 1400}) \
            == ["Sender", "InvalidArgVal", "InvalidNetworkInterface"]
        # A Hard factory default deletes the profile railgate made, and hands the name to DHCP.
        dev.SetSystemFactoryDefault(FactoryDefault="Hard")
        assert any(c.startswith("Delete") for c in bus.calls("networkmanager"))
        assert 'SetStaticHostname "" False' in bus.calls("hostnamed")
    finally:
        assert g.stop() == 0, g.log()
