"""RS-485 multi-drop end to end: the real binary polls three RTU controllers on one serial
device (a socat pseudo-terminal pair). Units 5 and 6 are served by one pymodbus process
(adapters/tests/peers/modbus_server.py --units 5,6), unit 7 by nobody. Both answering units
come up and their inputs and relays work through ONVIF; the silent unit goes down alone while
the others keep polling and writing."""

import pytest

from conftest import Gateway, create_pull_point, socat_pty_pair, topic_filter, zeep_client
from test_deviceio import PymodbusServer, pull_until, wait_for

CONTROLLER = """\
  - name: u{unit}
    modbus_rtu: {{device: {device}, baud: 19200, parity: none}}
    unit: {unit}
    address_base: 0
    poll_interval: 50ms
    timeout: 200ms
    retries: 1
    backoff: {{initial: 100ms, max: 400ms}}
"""

ITEMS = """\
inputs:
  - {token: Door5, controller: u5, discrete_input: 0}
  - {token: Window5, controller: u5, discrete_input: 1}
  - {token: Door6, controller: u6, discrete_input: 0}
  - {token: Door7, controller: u7, discrete_input: 0}
relays:
  - {token: Lock5, controller: u5, coil: 5}
  - {token: Lock6, controller: u6, coil: 5}
  - {token: Lock7, controller: u7, coil: 5}
"""


def mapping(device) -> str:
    """Three controllers on one serial device: units 5, 6 and 7."""
    return "controllers:\n" + "".join(CONTROLLER.format(unit=u, device=device) for u in (5, 6, 7)) + ITEMS


@pytest.fixture
def line(tmp_path):
    """A pty pair: pymodbus serves units 5 and 6 on one end, the gateway opens the other."""
    with socat_pty_pair(tmp_path) as (a, b):
        server = PymodbusServer("rtu", str(a), "--units", "5,6")
        try:
            yield server, b
        finally:
            server.close()


def set_relay(dev, token: str) -> None:
    dev.SetRelayOutputState(RelayOutputToken=token, LogicalState="active")


def test_two_units_share_one_port_and_a_silent_third_goes_down_alone(tmp_path, line):
    server, device = line
    (tmp_path / "site.yaml").write_text(mapping(device))
    g = Gateway(tmp_path, config="mapping: site.yaml\n").start()
    try:
        assert wait_for(lambda: "link up controller=u5" in g.log() and "link up controller=u6" in g.log(), 15), g.log()
        # The values of both units reach ONVIF (DI0 is on in the peer's layout, DI1 off).
        address = create_pull_point(g, topic_filter("tns1:Device/Trigger/DigitalInput"), "PT60S")
        got = pull_until(address, lambda ms: {m["source"]["InputToken"] for m in ms} >= {"Door5", "Window5", "Door6"})
        states = {(m["source"]["InputToken"], m["data"]["LogicalState"]) for m in got}
        assert {("Door5", "true"), ("Window5", "false"), ("Door6", "true")} <= states, got

        # The silent unit goes down on its own.
        assert wait_for(lambda: "link down controller=u7" in g.log(), 10), g.log()

        # Writes to both answering units land on the right unit, while unit 7 keeps retrying.
        dev = zeep_client(g.url)
        for _ in range(3):
            set_relay(dev, "Lock5")
            assert server.next_report() == {"unit": 5, "fc": 5, "address": 5, "values": [1]}
            set_relay(dev, "Lock6")
            assert server.next_report() == {"unit": 6, "fc": 5, "address": 5, "values": [1]}
        # Unit 7 has tried again meanwhile (its backoff is at most 400 ms) ...
        assert wait_for(lambda: g.log().count("retrying controller=u7") >= 2, 10), g.log()
        # ... and neither the port nor the other units suffered for it.
        log = g.log()
        assert "link down controller=u5" not in log and "link down controller=u6" not in log, log
        assert "exclusive lock" not in log, log
        assert g.stop() == 0, g.log()
    finally:
        if g.proc and g.proc.poll() is None:
            g.stop()
