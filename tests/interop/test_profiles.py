"""The built-in vendor profiles end to end: the real binary, a site file that only
instantiates a profile, and pymodbus's own server (adapters/tests/peers/modbus_server.py)
laid out like the vendor's module. A contact set on the peer reaches the VMS as the mapped
digital input, and a relay switched through ONVIF reaches the peer's coil at the address of
the vendor's table (the peer reports every write it accepts).

One profile per vendor and transport: Moxa ioLogik E1214 and Advantech ADAM-6050 over TCP,
Advantech ADAM-4055 and the generic 8-relay board over RTU (a socat pseudo-terminal pair)."""

from pathlib import Path

import pytest

from conftest import Gateway, create_pull_point, socat_pty_pair, topic_filter, zeep_client, zeep_deviceio
from test_deviceio import PymodbusServer, pull_until, wait_for

SITE = """\
controllers:
  - name: module
    {transport}
    unit: 1
    address_base: 0
    poll_interval: 50ms
    profile: {{name: {profile}, token_prefix: M-}}
"""

# profile, peer layout options, the inputs that must read active (the peer's defaults: coil 0,
# discrete inputs 0 and 3 on; plus the `--on` ones), the relay to switch and the wire write
# the peer must see (function code 5, the coil's 0-based address).
CASES = {
    # E1214: DI on discrete inputs 0x0000-0x0005, relays on coils 0x0000-0x0005.
    "moxa-iologik-e1214": (["--on", "discrete:4"], {"M-DI0", "M-DI3", "M-DI4"}, "M-DO5", 5),
    # ADAM-6050: DI on coils 00001-00012 (wire 0-11), DO on coils 00017-00022 (wire 16-21).
    "advantech-adam-6050": (["--bits", "32", "--on", "coil:4", "--on", "coil:11"],
                            {"M-DI0", "M-DI4", "M-DI11"}, "M-DO5", 21),
    # ADAM-4055: DI on coils 00001-00008 (wire 0-7), DO on coils 00017-00024 (wire 16-23).
    "advantech-adam-4055": (["--bits", "32", "--on", "coil:6"], {"M-DI0", "M-DI6"}, "M-DO7", 23),
    # 8-relay board: inputs on discrete inputs 0-7, relays on coils 0-7.
    "generic-relay-8ch-rtu": (["--on", "discrete:7"], {"M-Input1", "M-Input4", "M-Input8"}, "M-Relay3", 2),
}
TCP = ["moxa-iologik-e1214", "advantech-adam-6050"]
RTU = ["advantech-adam-4055", "generic-relay-8ch-rtu"]


def exercise(tmp_path: Path, profile: str, transport: str, server: PymodbusServer) -> None:
    _options, active, relay, coil = CASES[profile]
    (tmp_path / "site.yaml").write_text(SITE.format(transport=transport, profile=profile))
    g = Gateway(tmp_path, config="mapping: site.yaml\n").start()
    try:
        assert wait_for(lambda: "link up controller=module" in g.log(), 15), g.log()
        address = create_pull_point(g, topic_filter("tns1:Device/Trigger/DigitalInput"), "PT60S")
        tokens = {i.token for i in zeep_deviceio(g.endpoint("deviceio_service")).GetDigitalInputs()}
        assert active <= tokens, tokens
        got = pull_until(address, lambda ms: {m["source"]["InputToken"] for m in ms} >= tokens)
        states = {m["source"]["InputToken"]: m["data"]["LogicalState"] for m in got if m["op"] == "Initialized"}
        assert set(states) == tokens, got
        assert {t for t, s in states.items() if s == "true"} == active, states

        zeep_client(g.url).SetRelayOutputState(RelayOutputToken=relay, LogicalState="active")
        assert server.next_report() == {"fc": 5, "address": coil, "values": [1]}
        zeep_client(g.url).SetRelayOutputState(RelayOutputToken=relay, LogicalState="inactive")
        assert server.next_report() == {"fc": 5, "address": coil, "values": [0]}
    finally:
        assert g.stop() == 0, g.log()


@pytest.mark.parametrize("profile", TCP)
def test_a_vendor_profile_against_a_tcp_peer(tmp_path, profile):
    server = PymodbusServer("tcp", "127.0.0.1", "0", *CASES[profile][0])
    try:
        exercise(tmp_path, profile, f"modbus_tcp: {{host: 127.0.0.1, port: {server.port}}}", server)
    finally:
        server.close()


@pytest.mark.parametrize("profile", RTU)
def test_a_vendor_profile_against_an_rtu_peer(tmp_path, profile):
    with socat_pty_pair(tmp_path) as (a, b):
        server = PymodbusServer("rtu", str(a), *CASES[profile][0])
        try:
            exercise(tmp_path, profile, f"modbus_rtu: {{device: {b}, baud: 19200, parity: none}}", server)
        finally:
            server.close()
