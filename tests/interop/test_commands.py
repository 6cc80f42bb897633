"""Commands are not points, against a real refusing device: pymodbus's server in its sparse
layout (adapters/tests/peers/modbus_server.py --layout sparse) holds a battery percentage at
HR60 and a command register at HR64, and refuses any read of HR61-63 with IllegalDataAddress,
as many panels do. The real binary polls it over Modbus TCP.

- The value next to the command is read alone and reaches a real PullMessages as Good; the
  command register is written by SendAuxiliaryCommand and never read.
- A controller that opts into `max_gap` on such a device gets its read refused, and the
  warning names the points, the function code, the wire addresses and the exception.
- `railgate check` prints mapping warnings and still succeeds; a serial line shared with
  different settings fails the check."""

import re
import subprocess
import time

from conftest import (OPERATOR, Gateway, ModbusPeer, add_users, binary, create_pull_point, messages, pull, soap,
                      texts, topic_filter)

BATTERY = "tns1:Monitoring/BatteryCapacity"


def SparsePeer() -> ModbusPeer:
    """The sparse pymodbus device; every read and write it serves is reported."""
    return ModbusPeer.tcp(0, "--layout", "sparse")


def start(tmp_path, peer: ModbusPeer, extra: str = "", values: str = "") -> Gateway:
    # The port is written in `host`, as integrators do (`host:port` is accepted).
    (tmp_path / "site.yaml").write_text(f"""\
controllers:
  - name: panel
    modbus_tcp: {{host: "127.0.0.1:{peer.port}"}}
    unit: 1
    address_base: 0
    poll_interval: 50ms
{extra}
values:
  - {{name: Battery, holding_register: 60, type: u16, unit: '%', topic: {BATTERY}}}
{values}
commands:
  - {{command: "Arm|P1", holding_register: 64, value: 1}}
""")
    g = Gateway(tmp_path, config="mapping: site.yaml\n").start()
    add_users(g)
    return g


def wait_log(g: Gateway, pattern: str, timeout: float = 10.0) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, g.log())
        if m:
            return m
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not in the log:\n{g.log()}")


def test_a_value_beside_a_command_register_is_good_and_the_command_is_written_not_read(tmp_path):
    peer = SparsePeer()
    try:
        g = start(tmp_path, peer)
        try:
            wait_log(g, r"link up controller=panel")
            address = create_pull_point(g, topic_filter(BATTERY), "PT60S")
            got: list[dict] = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not got:
                got = [m for m in messages(pull(address, "PT1S")) if m["topic"].endswith("BatteryCapacity")]
            assert got, g.log()
            assert got[0]["data"] == {"PercentageRemainingCapacity": "87"}, got
            assert got[0]["op"] == "Initialized", got

            r = soap(g.url, "<tds:SendAuxiliaryCommand><tds:AuxiliaryCommand>Arm|P1</tds:AuxiliaryCommand>"
                            "</tds:SendAuxiliaryCommand>", auth=OPERATOR)
            assert r.status_code == 200, r.text
            assert texts(r, ".//tds:AuxiliaryCommandResponse") == ["Arm|P1"]
            _, write = peer.wait_for(lambda a: a["fc"] in (6, 16))
            assert write == {"fc": 6, "address": 64, "values": [1]}, write
            # A few more cycles after the write: still only HR60 is read, never the command.
            for _ in range(5):
                peer.wait_for(lambda a: a["fc"] == 3)
            reads = [a for a in peer.seen if a["fc"] == 3]
            assert reads and all(a == {"fc": 3, "address": 60, "count": 1} for a in reads), reads
            assert "device refuses the read" not in g.log()
            assert g.stop() == 0, g.log()
        finally:
            if g.proc.poll() is None:
                g.stop()
    finally:
        peer.close()


def test_a_refused_read_names_its_points_function_addresses_and_exception(tmp_path):
    peer = SparsePeer()
    try:
        # Opting into gaps on a device that refuses them, with a value read at HR64 too.
        g = start(tmp_path, peer, extra="    max_gap: 4",
                  values=f"  - {{name: Mode, holding_register: 64, type: u16, topic: rg:Panel/Mode}}")
        try:
            m = wait_log(g, r"device refuses the read.*")
            line = m.group(0)
            for part in ["controller=panel", "points=panel/holding/60, panel/holding/64", "function=FC03",
                         "addresses=60-64", "exception=IllegalDataAddress (exception 0x02)"]:
                assert part in line, line
            # Logged once, not every cycle.
            time.sleep(0.5)
            assert g.log().count("device refuses the read") == 1, g.log()
            assert g.stop() == 0, g.log()
        finally:
            if g.proc.poll() is None:
                g.stop()
    finally:
        peer.close()


def check(tmp_path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return subprocess.run([str(binary()), "check", str(path)], capture_output=True, text=True, timeout=30)


def test_check_prints_warnings_and_succeeds(tmp_path):
    r = check(tmp_path, """\
controllers:
  - {name: panel, modbus_tcp: {host: "127.0.0.1:1502"}, unit: 1, address_base: 0}
values:
  - {name: Battery, holding_register: 40001, type: u16, scale: 0.01, unit: V, topic: tns1:Monitoring/BatteryCapacity}
""")
    assert r.returncode == 0, r
    assert r.stdout.strip().endswith("site.yaml: ok"), r
    warnings = [line for line in r.stderr.splitlines() if ": warning: " in line]
    assert len(warnings) == 2, r.stderr
    assert "site.yaml:4:39: warning: 40001 looks like Modicon notation for holding register 1; " \
           "write holding_register: 1 with address_base: 1" in warnings[0], warnings
    assert "carries %, not V" in warnings[1], warnings


def test_check_refuses_a_serial_line_shared_with_different_settings(tmp_path):
    r = check(tmp_path, """\
controllers:
  - {name: door5, modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even}, unit: 5, address_base: 0}
  - {name: door6, modbus_rtu: {device: /dev/ttyUSB0, baud: 19200, parity: even}, unit: 6, address_base: 0}
""")
    assert r.returncode != 0, r
    assert "site.yaml:3:" in r.stderr and "error: controllers `door5` (line 2) and `door6` share /dev/ttyUSB0 " \
           "but differ in baud: 9600 and 19200" in r.stderr, r.stderr
