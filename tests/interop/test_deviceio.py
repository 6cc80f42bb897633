"""Relays, digital inputs, values and auxiliary commands end to end: real ONVIF clients (zeep
with the official device and DeviceIO WSDLs) against the real binary, which polls a real
Modbus TCP server (`railgate sim`, the simulated panel, in its own process) through the real
Modbus adapter, using the demo mapping. The tests look at the panel with pymodbus, an
independent Modbus client, and kill the panel's process to lose the link.

A second module part runs railgate against pymodbus's own servers: TCP, and RTU over a
socat pseudo-terminal pair."""

import datetime as dt
import socket
import subprocess
import time
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from conftest import (ADMIN, NS, OPERATOR, ROOT, USER, Gateway, ModbusPeer, add_users, binary, create_pull_point, fault_codes,
                      free_port, messages, onveef_client, pull, soap, socat_pty_pair, texts, topic_filter, xml, zeep_client,
                      zeep_deviceio, zeep_events)

DEMO_MAPPING = ROOT / "mappings" / "demo.yaml"
IO_UNIT, PANEL_UNIT = 1, 2


def wait_for(predicate, timeout: float = 10.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Panel:
    """`railgate sim` in its own process, so a test can kill it like a real panel dying."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.log_path = workdir / "sim.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Panel":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(binary()), "sim", "--listen", f"127.0.0.1:{self.port}", "--still"],
                                     stdout=log, stderr=log)
        assert wait_for(lambda: port_open(self.port), 10), self.log_path.read_text()
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def client(self) -> ModbusTcpClient:
        c = ModbusTcpClient("127.0.0.1", port=self.port, timeout=2)
        assert c.connect()
        return c


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("io")
    panel = Panel(workdir).start()
    mapping = DEMO_MAPPING.read_text().replace("port: 1502", f"port: {panel.port}")
    assert f"port: {panel.port}" in mapping
    (workdir / "site-mapping.yaml").write_text(mapping)
    g = Gateway(workdir, config="mapping: site-mapping.yaml\n").start()
    add_users(g)
    g.panel = panel
    g.modbus = panel.client()
    # Both links come up and every input is read once.
    assert wait_for(lambda: "link up controller=panel" in g.log() and "link up controller=io" in g.log()), g.log()
    yield g
    g.modbus.close()
    assert g.stop() == 0, g.log()
    panel.kill()


def pull_until(address: str, want, timeout: float = 10.0) -> list[dict]:
    """Pulls until `want(messages so far)` holds; returns everything pulled."""
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got += messages(pull(address, "PT1S"))
        if want(got):
            return got
    return got


def test_deviceio_is_advertised_with_the_mapping_counts(site):
    r = soap(site.endpoint("deviceio_service"), "<tmd:GetServiceCapabilities/>")
    caps = xml(r).find(".//tmd:Capabilities", NS)
    assert (caps.get("RelayOutputs"), caps.get("DigitalInputs"), caps.get("DigitalInputOptions")) == ("20", "51", "true")
    r = soap(site.url, "<tds:GetServices><tds:IncludeCapability>true</tds:IncludeCapability></tds:GetServices>", auth=USER)
    assert site.endpoint("deviceio_service") in texts(r, ".//tds:XAddr")
    assert xml(r).find(".//tds:Capabilities/tmd:Capabilities", NS).get("RelayOutputs") == "20"
    r = soap(site.url, "<tds:GetCapabilities/>", auth=USER)
    assert texts(r, ".//tt:IO/tt:InputConnectors") == ["51"]
    assert texts(r, ".//tt:IO/tt:RelayOutputs") == ["20"]
    assert "Arm|Panel-Partition1" in texts(r, ".//tt:IO/tt:Extension/tt:AuxiliaryCommands")
    assert texts(r, ".//tt:Extension/tt:DeviceIO/tt:XAddr") == [site.endpoint("deviceio_service")]
    dev = zeep_client(site.url)
    commands = dev.GetServiceCapabilities().Misc.AuxiliaryCommands
    assert "Disarm|Panel-Partition2" in commands and len(commands) == 21


def test_relays_are_the_same_on_both_services(site):
    dev = zeep_client(site.url, auth=USER)
    on_device = [(r.token, r.Properties.Mode, r.Properties.IdleState) for r in dev.GetRelayOutputs()]
    tmd = zeep_deviceio(site.endpoint("deviceio_service"), auth=USER)
    on_deviceio = [(r.token, r.Properties.Mode, r.Properties.IdleState) for r in tmd.GetRelayOutputs()]
    assert on_device == on_deviceio
    tokens = [t for t, _, _ in on_device]
    assert tokens[:2] == ["IO-DO1", "IO-DO2"] and "Panel-Siren" in tokens and "Panel-PGM8" in tokens
    assert len(tokens) == 20 and all(m == "Bistable" and i == "open" for _, m, i in on_device)


def test_digital_inputs_and_options(site):
    tmd = zeep_deviceio(site.endpoint("deviceio_service"), auth=USER)
    inputs = tmd.GetDigitalInputs()
    assert [i.token for i in inputs][:3] == ["IO-DI1", "IO-DI2", "IO-DI3"]
    assert len(inputs) == 51 and {i.IdleState for i in inputs} == {"open"}
    options = tmd.GetDigitalInputConfigurationOptions(Token="IO-DI1")
    assert sorted(options.IdleState) == ["closed", "open"]
    relay = tmd.GetRelayOutputOptions(RelayOutputToken="Panel-Siren")
    assert [o.token for o in relay] == ["Panel-Siren"]
    assert sorted(relay[0].Mode) == ["Bistable", "Monostable"] and relay[0].Discrete is False
    assert len(tmd.GetRelayOutputOptions()) == 20


def test_a_coil_change_on_the_panel_is_a_digital_input_event(site):
    """The I/O module loops coil n back to discrete input 8+n: a write by another Modbus
    master changes IO-DI11, which reaches a real client's PullMessages as Changed."""
    address = create_pull_point(site, topic_filter("tns1:Device/Trigger/DigitalInput"), "PT120S")
    pp = zeep_events(address, "PullPointSubscriptionBinding")
    first = pp.PullMessages(Timeout=dt.timedelta(seconds=5), MessageLimit=100)
    initial = {m.Message._value_1.find("tt:Source/tt:SimpleItem", NS).get("Value"): m.Message._value_1.get("PropertyOperation")
               for m in first.NotificationMessage}
    assert len(initial) == 51 and set(initial.values()) == {"Initialized"}
    assert site.modbus.write_coil(2, True, device_id=IO_UNIT).isError() is False
    t0 = time.monotonic()
    got = []
    while time.monotonic() - t0 < 5 and not got:
        got = pp.PullMessages(Timeout=dt.timedelta(seconds=5), MessageLimit=100).NotificationMessage
    msg = got[0].Message._value_1
    assert msg.get("PropertyOperation") == "Changed"
    assert msg.find("tt:Source/tt:SimpleItem", NS).get("Value") == "IO-DI11"
    assert msg.find("tt:Data/tt:SimpleItem", NS).get("Value") == "true"
    assert site.modbus.write_coil(2, False, device_id=IO_UNIT).isError() is False


def test_set_relay_output_state_drives_the_coil_and_reports_the_state(site):
    address = create_pull_point(site, topic_filter("tns1:Device/Trigger/Relay"), "PT120S")
    messages(pull(address))  # the Initialized states
    dev = zeep_client(site.url, auth=OPERATOR)
    dev.SetRelayOutputState(RelayOutputToken="IO-DO4", LogicalState="active")
    # Answered after the controller acknowledged: the coil is already on.
    assert site.modbus.read_coils(3, count=1, device_id=IO_UNIT).bits[0] is True
    got = pull_until(address, lambda ms: any(m["source"].get("RelayToken") == "IO-DO4" for m in ms))
    assert [(m["op"], m["data"]["LogicalState"]) for m in got if m["source"]["RelayToken"] == "IO-DO4"] == [("Changed", "active")]
    dev.SetRelayOutputState(RelayOutputToken="IO-DO4", LogicalState="inactive")
    assert site.modbus.read_coils(3, count=1, device_id=IO_UNIT).bits[0] is False


def test_a_relay_on_a_register_bit_is_written_with_a_mask(site):
    before = site.modbus.read_holding_registers(200, count=1, device_id=PANEL_UNIT).registers[0]
    r = soap(site.endpoint("deviceio_service"),
             "<tds:SetRelayOutputState><tds:RelayOutputToken>Panel-PGM3</tds:RelayOutputToken>"
             "<tds:LogicalState>active</tds:LogicalState></tds:SetRelayOutputState>", auth=OPERATOR)
    assert r.status_code == 200, r.text
    after = site.modbus.read_holding_registers(200, count=1, device_id=PANEL_UNIT).registers[0]
    assert after == before | 0b100
    soap(site.endpoint("deviceio_service"),
         "<tds:SetRelayOutputState><tds:RelayOutputToken>Panel-PGM3</tds:RelayOutputToken>"
         "<tds:LogicalState>inactive</tds:LogicalState></tds:SetRelayOutputState>", auth=OPERATOR)
    assert site.modbus.read_holding_registers(200, count=1, device_id=PANEL_UNIT).registers[0] == before


def test_a_monostable_relay_falls_back_after_its_delay(site):
    tmd = zeep_deviceio(site.endpoint("deviceio_service"))
    tmd.SetRelayOutputSettings(RelayOutput={"token": "IO-DO5", "Properties": {
        "Mode": "Monostable", "DelayTime": dt.timedelta(seconds=1), "IdleState": "open"}})
    relays = {r.token: r.Properties for r in zeep_client(site.url).GetRelayOutputs()}
    assert relays["IO-DO5"].Mode == "Monostable" and relays["IO-DO5"].DelayTime == dt.timedelta(seconds=1)
    address = create_pull_point(site, topic_filter("tns1:Device/Trigger/Relay"), "PT120S")
    messages(pull(address))
    t0 = time.monotonic()
    zeep_client(site.url, auth=OPERATOR).SetRelayOutputState(RelayOutputToken="IO-DO5", LogicalState="active")
    assert site.modbus.read_coils(4, count=1, device_id=IO_UNIT).bits[0] is True
    assert wait_for(lambda: not site.modbus.read_coils(4, count=1, device_id=IO_UNIT).bits[0], 5)
    held = time.monotonic() - t0
    assert 0.9 < held < 3, held
    got = pull_until(address, lambda ms: len([m for m in ms if m["source"]["RelayToken"] == "IO-DO5"]) >= 2)
    assert [m["data"]["LogicalState"] for m in got if m["source"]["RelayToken"] == "IO-DO5"] == ["active", "inactive"]


def test_settings_persist_and_idle_state_flips_the_logical_state(site):
    address = create_pull_point(site, topic_filter("tns1:Device/Trigger/DigitalInput"), "PT120S")
    messages(pull(address))
    r = soap(site.endpoint("deviceio_service"),
             '<tmd:SetDigitalInputConfigurations><tmd:DigitalInputs token="IO-DI2" IdleState="closed"/>'
             "</tmd:SetDigitalInputConfigurations>", auth=ADMIN)
    assert r.status_code == 200, r.text
    # IO-DI2 reads open (0): with idle "closed", an open contact is active.
    got = pull_until(address, lambda ms: any(m["source"]["InputToken"] == "IO-DI2" for m in ms))
    assert [(m["op"], m["data"]["LogicalState"]) for m in got if m["source"]["InputToken"] == "IO-DI2"] == [("Changed", "true")]
    assert site.stop() == 0
    site.start()
    inputs = {i.token: i.IdleState for i in zeep_deviceio(site.endpoint("deviceio_service")).GetDigitalInputs()}
    assert inputs["IO-DI2"] == "closed" and inputs["IO-DI1"] == "open"
    relays = {r.token: r.Properties for r in zeep_client(site.url).GetRelayOutputs()}
    assert relays["IO-DO5"].Mode == "Monostable"
    r = soap(site.endpoint("deviceio_service"),
             '<tmd:SetDigitalInputConfigurations><tmd:DigitalInputs token="IO-DI2" IdleState="open"/>'
             "</tmd:SetDigitalInputConfigurations>", auth=ADMIN)
    assert r.status_code == 200


def test_an_auxiliary_command_arms_the_partition(site):
    address = create_pull_point(site, topic_filter("rg:Panel/Partition/State").replace(
        "<wsnt:TopicExpression ", '<wsnt:TopicExpression xmlns:rg="urn:railgate:topics" '), "PT120S")
    initial = messages(pull(address))
    assert {(m["source"]["Partition"], m["op"], m["data"]["State"]) for m in initial} == {
        ("1", "Initialized", "disarmed"), ("2", "Initialized", "disarmed")}
    r = soap(site.url, "<tds:SendAuxiliaryCommand><tds:AuxiliaryCommand>Arm|Panel-Partition1</tds:AuxiliaryCommand>"
                       "</tds:SendAuxiliaryCommand>", auth=OPERATOR)
    assert r.status_code == 200, r.text
    assert texts(r, ".//tds:AuxiliaryCommandResponse") == ["Arm|Panel-Partition1"]
    got = pull_until(address, lambda ms: any(m["data"]["State"] == "armed_away" for m in ms), timeout=20)
    states = [m["data"]["State"] for m in got if m["source"]["Partition"] == "1"]
    assert states[-1] == "armed_away" and "exit_delay" in states, states
    soap(site.url, "<tds:SendAuxiliaryCommand><tds:AuxiliaryCommand>Disarm|Panel-Partition1</tds:AuxiliaryCommand>"
                   "</tds:SendAuxiliaryCommand>", auth=OPERATOR)
    got = pull_until(address, lambda ms: any(m["data"]["State"] == "disarmed" for m in ms))
    assert [m["data"]["State"] for m in got] == ["disarmed"]


def test_event_properties_describe_the_mapping(site):
    r = soap(site.endpoint("event_service"), "<tev:GetEventProperties/>", auth=USER)
    body = r.content.decode()
    for needle in ("<DigitalInput", "<Relay", "<BatteryCapacity", 'Name="PercentageRemainingCapacity"',
                   'Name="InputToken"', 'Name="RelayToken"', 'Type="tt:RelayLogicalState"', "urn:railgate:topics"):
        assert needle in body, needle


def test_faults(site):
    dio = site.endpoint("deviceio_service")

    def relay_state(token, state, auth=OPERATOR, url=site.url):
        return soap(url, f"<tds:SetRelayOutputState><tds:RelayOutputToken>{token}</tds:RelayOutputToken>"
                         f"<tds:LogicalState>{state}</tds:LogicalState></tds:SetRelayOutputState>", auth=auth)

    r = relay_state("nope", "active")
    assert (r.status_code, fault_codes(r)) == (400, ["env:Sender", "ter:InvalidArgVal", "ter:RelayToken"])
    r = relay_state("IO-DO1", "on")
    assert fault_codes(r) == ["env:Sender", "ter:InvalidArgs"]
    r = relay_state("IO-DO1", "active", auth=USER)
    assert fault_codes(r) == ["env:Sender", "ter:NotAuthorized"]
    r = soap(site.url, "<tds:SendAuxiliaryCommand><tds:AuxiliaryCommand>SelfDestruct</tds:AuxiliaryCommand>"
                       "</tds:SendAuxiliaryCommand>", auth=OPERATOR)
    assert fault_codes(r) == ["env:Sender", "ter:InvalidArgVal", "ter:AuxiliaryDataNotSupported"]
    r = soap(dio, '<tmd:SetRelayOutputSettings><tmd:RelayOutput token="IO-DO1"><tt:Properties><tt:Mode>Monostable</tt:Mode>'
                  "<tt:DelayTime>PT0S</tt:DelayTime><tt:IdleState>open</tt:IdleState></tt:Properties></tmd:RelayOutput>"
                  "</tmd:SetRelayOutputSettings>", auth=ADMIN)
    assert fault_codes(r) == ["env:Sender", "ter:InvalidArgVal", "ter:ModeError"]
    r = soap(dio, '<tmd:SetDigitalInputConfigurations><tmd:DigitalInputs token="IO-DI1" IdleState="closed"/>'
                  '<tmd:DigitalInputs token="ghost" IdleState="closed"/></tmd:SetDigitalInputConfigurations>', auth=ADMIN)
    assert fault_codes(r) == ["env:Sender", "ter:InvalidArgVal", "ter:NoConfig"]
    # All or nothing: the valid first entry was not applied.
    inputs = {i.token: i.IdleState for i in zeep_deviceio(dio).GetDigitalInputs()}
    assert inputs["IO-DI1"] == "open"
    # A User may read, not configure.
    r = soap(dio, "<tmd:GetDigitalInputs/>", auth=USER)
    assert r.status_code == 200
    r = soap(dio, '<tmd:SetDigitalInputConfigurations><tmd:DigitalInputs token="IO-DI1" IdleState="closed"/>'
                  "</tmd:SetDigitalInputConfigurations>", auth=USER)
    assert fault_codes(r) == ["env:Sender", "ter:NotAuthorized"]


def test_onveef_drives_relays_in_the_deviceio_namespace(site):
    cam = onveef_client(site.url, OPERATOR)
    # GetRelayOutputs as tmd:GetRelayOutputs on the DeviceIO endpoint, answered in tmd.
    relays = {r["token"]: r for r in cam.get_relay_outputs()}
    assert len(relays) == 20 and relays["IO-DO6"]["mode"] == "Bistable"
    assert b"<tmd:GetRelayOutputs/>" in cam.sent[-1], cam.sent[-1]
    r = soap(site.endpoint("deviceio_service"), "<tmd:GetRelayOutputs/>", auth=USER)
    assert xml(r).find(".//tmd:GetRelayOutputsResponse/tmd:RelayOutputs", NS).get("token") == "IO-DO1"
    # tmd:SetRelayOutputState drives the coil, answered in tmd once the panel acknowledged.
    cam.set_relay_output_state(token="IO-DO6", logical_state="active")
    assert b"<tmd:SetRelayOutputState>" in cam.sent[-1]
    assert site.modbus.read_coils(5, count=1, device_id=IO_UNIT).bits[0] is True
    r = soap(site.endpoint("deviceio_service"),
             "<tmd:SetRelayOutputState><tmd:RelayOutputToken>IO-DO6</tmd:RelayOutputToken>"
             "<tmd:LogicalState>inactive</tmd:LogicalState></tmd:SetRelayOutputState>", auth=OPERATOR)
    assert r.status_code == 200 and xml(r).find(".//tmd:SetRelayOutputStateResponse", NS) is not None
    assert site.modbus.read_coils(5, count=1, device_id=IO_UNIT).bits[0] is False
    # SetRelayOutputSettings in the WSDL's tmd form (onveef), then in the tds form on the
    # DeviceIO endpoint (answered in tds).
    admin = onveef_client(site.url, ADMIN)
    admin.set_relay_output_settings(token="IO-DO6", mode="Monostable", delay_time="PT2S", idle_state="open")
    assert {r["token"]: r for r in admin.get_relay_outputs()}["IO-DO6"]["delay_time"] == "PT2S"
    r = soap(site.endpoint("deviceio_service"),
             "<tds:SetRelayOutputSettings><tds:RelayOutputToken>IO-DO6</tds:RelayOutputToken><tds:Properties>"
             "<tt:Mode>Bistable</tt:Mode><tt:DelayTime>PT0S</tt:DelayTime><tt:IdleState>open</tt:IdleState>"
             "</tds:Properties></tds:SetRelayOutputSettings>", auth=ADMIN)
    assert r.status_code == 200 and xml(r).find(".//tds:SetRelayOutputSettingsResponse", NS) is not None
    assert {r["token"]: r for r in cam.get_relay_outputs()}["IO-DO6"]["mode"] == "Bistable"
    # The aliases keep their operation's access class: a User may read, not actuate.
    r = soap(site.endpoint("deviceio_service"),
             "<tmd:SetRelayOutputState><tmd:RelayOutputToken>IO-DO6</tmd:RelayOutputToken>"
             "<tmd:LogicalState>active</tmd:LogicalState></tmd:SetRelayOutputState>", auth=USER)
    assert fault_codes(r) == ["env:Sender", "ter:NotAuthorized"]
    assert site.modbus.read_coils(5, count=1, device_id=IO_UNIT).bits[0] is False
    # The device service still only has its WSDL's namespace.
    r = soap(site.url, "<tmd:GetRelayOutputs/>", auth=USER)
    assert "ter:ActionNotSupported" in fault_codes(r)


def test_losing_the_panel_raises_link_events_and_faults_writes_until_it_returns(site):
    """Runs last in this module: it kills the panel process."""
    link_filter = ('<wsnt:TopicExpression xmlns:rg="urn:railgate:topics" '
                   'Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">'
                   "rg:Monitoring/ControllerLink</wsnt:TopicExpression>")
    address = create_pull_point(site, link_filter, "PT120S")
    initial = messages(pull(address))
    assert {(m["source"]["Controller"], m["op"], m["data"]["Connected"]) for m in initial} == \
        {("io", "Initialized", "true"), ("panel", "Initialized", "true")}
    site.panel.kill()
    down = lambda ms: {m["source"]["Controller"] for m in ms if m["data"]["Connected"] == "false"}  # noqa: E731
    got = pull_until(address, lambda ms: down(ms) == {"io", "panel"}, timeout=15)
    assert down(got) == {"io", "panel"}, got
    assert all(m["op"] == "Changed" and m["data"]["Reason"] not in ("", "connected") for m in got
               if m["data"]["Connected"] == "false"), got
    r = soap(site.url, "<tds:SetRelayOutputState><tds:RelayOutputToken>IO-DO1</tds:RelayOutputToken>"
                       "<tds:LogicalState>active</tds:LogicalState></tds:SetRelayOutputState>", auth=OPERATOR)
    assert (r.status_code, fault_codes(r)) == (500, ["env:Receiver", "ter:Action"])
    assert texts(r, ".//env:Reason/env:Text") == ["Action Failed: the controller is not connected"], "a stable reason, no controller detail"
    # The panel returns on the same port: the links come back and writes work again.
    site.panel.start()
    up = lambda ms: {m["source"]["Controller"] for m in ms if m["data"]["Connected"] == "true"}  # noqa: E731
    got = pull_until(address, lambda ms: up(ms) == {"io", "panel"}, timeout=40)
    assert up(got) == {"io", "panel"}, got
    assert all(m["op"] == "Changed" and m["data"]["Reason"] == "connected" for m in got
               if m["data"]["Connected"] == "true"), got
    site.modbus.close()
    site.modbus = site.panel.client()
    r = soap(site.url, "<tds:SetRelayOutputState><tds:RelayOutputToken>IO-DO1</tds:RelayOutputToken>"
                       "<tds:LogicalState>active</tds:LogicalState></tds:SetRelayOutputState>", auth=OPERATOR)
    assert r.status_code == 200, r.text
    assert site.modbus.read_coils(0, count=1, device_id=IO_UNIT).bits[0] is True


# --------------------------------------------------------------------------- pymodbus as the panel
# pymodbus's own server (adapters/tests/peers/modbus_server.py): it reports the writes it
# accepts.
PymodbusServer = ModbusPeer


PYMODBUS_MAPPING = """\
controllers:
  - name: plc
    {transport}
    unit: 1
    address_base: 0
    poll_interval: 50ms
inputs:
  - {{token: Door, discrete_input: 0}}
  - {{token: Window, discrete_input: 1}}
relays:
  - {{token: Lock, coil: 5}}
  - {{token: Lamp, holding_register: 10, bit: 2}}
"""


def run_against(tmp_path, transport: str):
    (tmp_path / "plc.yaml").write_text(PYMODBUS_MAPPING.format(transport=transport))
    g = Gateway(tmp_path, config="mapping: plc.yaml\n").start()
    try:
        assert wait_for(lambda: "link up controller=plc" in g.log(), 15), g.log()
        address = create_pull_point(g, topic_filter("tns1:Device/Trigger/DigitalInput"), "PT60S")
        got = pull_until(address, lambda ms: len(ms) >= 2)
        assert {(m["source"]["InputToken"], m["op"], m["data"]["LogicalState"]) for m in got} == {
            ("Door", "Initialized", "true"), ("Window", "Initialized", "false")}
        dev = zeep_client(g.url)
        dev.SetRelayOutputState(RelayOutputToken="Lock", LogicalState="active")
        dev.SetRelayOutputState(RelayOutputToken="Lamp", LogicalState="active")
        return g
    except BaseException:
        g.stop()
        raise


def test_pymodbus_tcp_server_polled_by_railgate(tmp_path):
    server = PymodbusServer("tcp", "127.0.0.1", "0")
    try:
        g = run_against(tmp_path, f"modbus_tcp: {{host: 127.0.0.1, port: {server.port}}}")
        assert server.next_report() == {"fc": 5, "address": 5, "values": [1]}
        lamp = server.next_report()
        assert lamp["fc"] in (22, 6) and lamp["address"] == 10, lamp
        assert g.stop() == 0, g.log()
    finally:
        server.close()


def test_pymodbus_rtu_server_over_a_pty_polled_by_railgate(tmp_path):
    with socat_pty_pair(tmp_path) as (a, b):
        server = PymodbusServer("rtu", str(a))
        try:
            g = run_against(tmp_path, f"modbus_rtu: {{device: {b}, baud: 19200, parity: even}}")
            assert server.next_report() == {"fc": 5, "address": 5, "values": [1]}
            assert server.next_report()["address"] == 10
            assert g.stop() == 0, g.log()
        finally:
            server.close()
