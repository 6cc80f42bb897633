"""DeviceIO serial ports against the real binary: a mapping exposes one port on a socat pty
pair, a Python peer on the other end answers like a serial device, and zeep (official
DeviceIO WSDL) sends SendReceiveSerialCommand with String and Binary payloads, Delimiter,
DataLength and TimeOut; GetSerialPorts / Configuration / Options, SetSerialPortConfiguration
(applied to the real port, persisted across a restart, the mapping winning once it changes),
user levels and faults. Every response is validated against the ONVIF schemas."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import termios
import threading
import time
import tty
from pathlib import Path

import pytest
import zeep.exceptions

from conftest import (ADMIN, NS, OPERATOR, USER, Gateway, add_users, fault_codes, soap, socat_pty_pair, xml,
                      zeep_deviceio, zeep_fault_codes)

MAPPING = """\
controllers:
  - {{name: panel, modbus_rtu: {{device: {rtu}, baud: 19200, parity: even}}, unit: 3, address_base: 0}}
inputs:
  - {{token: Door, controller: panel, discrete_input: 0}}
serial_ports:
  - {{token: P1, device: {raw}, baud: {baud}, type: rs485_half_duplex}}
  - {{token: BUS, device: {rtu}, expose: false}}
"""


class Peer(threading.Thread):
    """The serial device on the other end of the pty: answers known commands."""

    ANSWERS = {
        b"VER?\r": b"VER 1.0\r\nEXTRA",
        b"\x02LEN": b"\x06\x01\x02\x03\x04\x05\x06\x07",
        b"SLOW": b"partial",
        b"BIN": b"\x00\xff\x10",
        b"END;;": b"a;b;;c",
    }

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self.received = bytearray()
        self.stopped = threading.Event()

    def run(self) -> None:
        pending = b""
        while not self.stopped.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 1024)
            except OSError:
                return
            self.received += chunk
            pending += chunk
            for command, answer in self.ANSWERS.items():
                if pending.endswith(command):
                    os.write(self.fd, answer)
                    pending = b""
                    break

    def stop(self) -> None:
        self.stopped.set()
        self.join(2)
        os.close(self.fd)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("serial")
    with socat_pty_pair(workdir) as (a, b):
        (workdir / "site.yaml").write_text(MAPPING.format(raw=a, rtu=workdir / "ttyRTU", baud=9600))
        g = Gateway(workdir, config="mapping: site.yaml\n").start()
        add_users(g)
        peer = Peer(b)
        peer.start()
        g.peer = peer
        g.tty = a
        g.tmd = zeep_deviceio(g.endpoint("deviceio_service"))
        yield g
        peer.stop()
        assert g.stop() == 0, g.log()
        assert "panicked" not in g.log()


def send(g, **kw):
    """SendReceiveSerialCommand on P1; returns (SerialData or None, seconds taken)."""
    started = time.monotonic()
    out = g.tmd.SendReceiveSerialCommand(Token=kw.pop("Token", "P1"), **kw)
    return out, time.monotonic() - started


def payload(data):
    """(kind, value) of a response's SerialData, whatever shape zeep gives it."""
    if data is None:
        return None
    if getattr(data, "String", None) is not None:
        return ("String", data.String)
    return ("Binary", data.Binary)


def test_capabilities_count_the_ports(serial):
    caps = serial.tmd.GetServiceCapabilities()
    assert caps.SerialPorts == 2
    r = soap(serial.url, "<tds:GetServices><tds:IncludeCapability>true</tds:IncludeCapability></tds:GetServices>",
             auth=USER)
    found = xml(r).findall(".//tmd:Capabilities", NS)
    assert [c.get("SerialPorts") for c in found] == ["2"]


def test_ports_configuration_and_options(serial):
    tmd = zeep_deviceio(serial.endpoint("deviceio_service"), auth=USER)
    assert [p.token for p in tmd.GetSerialPorts()] == ["P1", "BUS"]
    c = tmd.GetSerialPortConfiguration(SerialPortToken="P1")
    assert (c.token, c.type, c.BaudRate, c.ParityBit, c.CharacterLength, c.StopBit) == \
        ("P1", "RS485HalfDuplex", 9600, "None", 8, 1.0)
    # The Modbus controller's line, read-only, with the controller's settings.
    bus = tmd.GetSerialPortConfiguration(SerialPortToken="BUS")
    assert (bus.type, bus.BaudRate, bus.ParityBit) == ("RS232", 19200, "Even")
    o = tmd.GetSerialPortConfigurationOptions(SerialPortToken="P1")
    assert {9600, 19200, 115200} <= set(o.BaudRateList.Items)
    assert o.ParityBitList.Items == ["None", "Even", "Odd"]
    assert o.CharacterLengthList.Items == [5, 6, 7, 8]
    assert o.StopBitList.Items == [1.0, 2.0]
    ob = tmd.GetSerialPortConfigurationOptions(SerialPortToken="BUS")
    assert (ob.BaudRateList.Items, ob.ParityBitList.Items) == ([19200], ["Even"])


def test_string_command_reads_until_the_delimiter_and_returns_it(serial):
    out, took = send(serial, SerialData={"String": "VER?\r"}, TimeOut="PT2S", Delimiter="\r\n")
    assert payload(out) == ("String", "VER 1.0\r\n")
    assert took < 1.5


def test_multi_character_delimiter_is_one(serial):
    out, _ = send(serial, SerialData={"String": "END;;"}, TimeOut="PT2S", Delimiter=";;")
    assert payload(out) == ("String", "a;b;;")


def test_binary_command_reads_data_length_bytes(serial):
    out, took = send(serial, SerialData={"Binary": b"\x02LEN"}, TimeOut="PT2S", DataLength=5)
    assert payload(out) == ("Binary", b"\x06\x01\x02\x03\x04")
    assert took < 1.5
    assert serial.peer.received.endswith(b"\x02LEN")


def test_timeout_without_an_answer_gives_no_data(serial):
    out, took = send(serial, SerialData={"String": "SILENT"}, TimeOut="PT0.3S")
    assert out is None
    assert 0.25 < took < 2, took


def test_timeout_returns_what_arrived(serial):
    out, took = send(serial, SerialData={"String": "SLOW"}, TimeOut="PT0.5S", Delimiter="\n")
    assert payload(out) == ("String", "partial")
    assert 0.45 < took < 2.5, took


def test_a_negative_or_absent_timeout_waits_for_the_delimiter(serial):
    for timeout in ("-PT1S", None):
        kw = {"TimeOut": timeout} if timeout else {}
        out, took = send(serial, SerialData={"String": "VER?\r"}, Delimiter="\r\n", **kw)
        assert payload(out) == ("String", "VER 1.0\r\n"), timeout
        assert took < 1.5, (timeout, took)


def test_zero_timeout_only_sends(serial):
    before = len(serial.peer.received)
    out, took = send(serial, SerialData={"String": "FIRE"}, TimeOut="PT0S")
    assert out is None
    assert took < 1
    deadline = time.monotonic() + 2
    while bytes(serial.peer.received[before:]) != b"FIRE" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bytes(serial.peer.received[before:]) == b"FIRE"


def test_an_answer_text_cannot_carry_comes_back_binary(serial):
    out, _ = send(serial, SerialData={"String": "BIN"}, TimeOut="PT2S", DataLength=3)
    assert payload(out) == ("Binary", b"\x00\xff\x10")


def test_faults(serial):
    tmd = serial.tmd
    for call in (lambda: tmd.GetSerialPortConfiguration(SerialPortToken="nope"),
                 lambda: tmd.GetSerialPortConfigurationOptions(SerialPortToken="nope"),
                 lambda: tmd.SendReceiveSerialCommand(Token="nope", SerialData={"String": "x"}),
                 lambda: tmd.SetSerialPortConfiguration(
                     SerialPortConfiguration={"token": "nope", "type": "RS232", "BaudRate": 9600, "ParityBit": "None",
                                              "CharacterLength": 8, "StopBit": 1},
                     ForcePersistance=True)):
        with pytest.raises(zeep.exceptions.Fault) as e:
            call()
        assert zeep_fault_codes(e.value) == ["Sender", "InvalidArgVal", "InvalidSerialPort"]
    # Token may be left out only when the device has one serial port.
    with pytest.raises(zeep.exceptions.Fault) as e:
        tmd.SendReceiveSerialCommand(SerialData={"String": "x"}, TimeOut="PT0S")
    assert zeep_fault_codes(e.value) == ["Sender", "InvalidArgVal", "InvalidSerialPort"]
    # The Modbus controller's line takes no raw commands and no settings.
    with pytest.raises(zeep.exceptions.Fault) as e:
        send(serial, Token="BUS", SerialData={"String": "x"}, TimeOut="PT0.1S")
    assert zeep_fault_codes(e.value) == ["Sender", "OperationProhibited"]
    with pytest.raises(zeep.exceptions.Fault) as e:
        tmd.SetSerialPortConfiguration(
            SerialPortConfiguration={"token": "BUS", "type": "RS232", "BaudRate": 9600, "ParityBit": "None",
                                     "CharacterLength": 8, "StopBit": 1}, ForcePersistance=True)
    assert zeep_fault_codes(e.value) == ["Sender", "InvalidArgVal", "ConfigModify"]
    with pytest.raises(zeep.exceptions.Fault) as e:
        send(serial, SerialData={"String": "x"}, DataLength=10_000_000)
    assert zeep_fault_codes(e.value) == ["Sender", "OperationProhibited", "DataLengthOver"]
    with pytest.raises(zeep.exceptions.Fault) as e:
        send(serial, SerialData={"String": "x"}, Delimiter="#" * 40)
    assert zeep_fault_codes(e.value) == ["Sender", "OperationProhibited", "DelimiterNotSupported"]
    # Settings the port does not take.
    for bad in ({"BaudRate": 12345}, {"ParityBit": "Mark"}, {"CharacterLength": 9}, {"StopBit": 1.5},
                {"type": "RS232"}):
        conf = {"token": "P1", "type": "RS485HalfDuplex", "BaudRate": 9600, "ParityBit": "None", "CharacterLength": 8,
                "StopBit": 1, **bad}
        with pytest.raises(zeep.exceptions.Fault) as e:
            tmd.SetSerialPortConfiguration(SerialPortConfiguration=conf, ForcePersistance=True)
        assert zeep_fault_codes(e.value) == ["Sender", "InvalidArgVal", "ConfigModify"], bad


def test_user_levels(serial):
    user = zeep_deviceio(serial.endpoint("deviceio_service"), auth=USER)
    assert [p.token for p in user.GetSerialPorts()] == ["P1", "BUS"]
    r = soap(serial.endpoint("deviceio_service"),
             "<tmd:SendReceiveSerialCommand><tmd:Token>P1</tmd:Token><tmd:SerialData><tmd:String>VER?&#13;</tmd:String>"
             "</tmd:SerialData><tmd:TimeOut>PT1S</tmd:TimeOut></tmd:SendReceiveSerialCommand>", auth=USER)
    assert fault_codes(r) == ["env:Sender", "ter:NotAuthorized"]
    r = soap(serial.endpoint("deviceio_service"),
             '<tmd:SetSerialPortConfiguration><tmd:SerialPortConfiguration token="P1" type="RS485HalfDuplex">'
             "<tmd:BaudRate>19200</tmd:BaudRate><tmd:ParityBit>None</tmd:ParityBit><tmd:CharacterLength>8"
             "</tmd:CharacterLength><tmd:StopBit>1</tmd:StopBit></tmd:SerialPortConfiguration>"
             "<tmd:ForcePersistance>true</tmd:ForcePersistance></tmd:SetSerialPortConfiguration>", auth=USER)
    assert fault_codes(r) == ["env:Sender", "ter:NotAuthorized"]
    operator = zeep_deviceio(serial.endpoint("deviceio_service"), auth=OPERATOR)
    out = operator.SendReceiveSerialCommand(Token="P1", SerialData={"String": "VER?\r"}, TimeOut="PT2S",
                                            Delimiter="\r\n")
    assert payload(out) == ("String", "VER 1.0\r\n")


TCGETS2 = 0x802C542A  # _IOR('T', 0x2A, struct termios2) on Linux


def line_of(path: Path) -> tuple[int, bool]:
    """(speed, two stop bits) of the pty as the kernel has it (termios2: the serial driver sets
    any speed with BOTHER, so the speed is c_ospeed). A pty forces CS8 without parity whatever
    it is told (Linux pty_set_termios), so those two are not observable here."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        raw = fcntl.ioctl(fd, TCGETS2, bytes(44))
    finally:
        os.close(fd)
    _iflag, _oflag, cflag, _lflag = struct.unpack_from("4I", raw)
    _ispeed, ospeed = struct.unpack_from("2I", raw, 36)
    return ospeed, bool(cflag & termios.CSTOPB)


def test_set_configuration_is_applied_and_persisted_across_a_restart(serial):
    tmd = serial.tmd
    assert line_of(serial.tty) == (9600, False)
    tmd.SetSerialPortConfiguration(
        SerialPortConfiguration={"token": "P1", "type": "RS485HalfDuplex", "BaudRate": 19200, "ParityBit": "Even",
                                 "CharacterLength": 7, "StopBit": 2}, ForcePersistance=True)
    # Applied to the real port.
    assert line_of(serial.tty) == (19200, True)
    c = tmd.GetSerialPortConfiguration(SerialPortToken="P1")
    assert (c.BaudRate, c.ParityBit, c.CharacterLength, c.StopBit) == (19200, "Even", 7, 2.0)
    assert "serial port configured" in serial.log()

    # A restart keeps the client's settings.
    assert serial.stop() == 0, serial.log()
    serial.start()
    c = zeep_deviceio(serial.endpoint("deviceio_service")).GetSerialPortConfiguration(SerialPortToken="P1")
    assert (c.BaudRate, c.ParityBit, c.CharacterLength, c.StopBit) == (19200, "Even", 7, 2.0)
    assert line_of(serial.tty) == (19200, True)

    # The integrator changes the port in the mapping: the mapping wins.
    site = serial.workdir / "site.yaml"
    site.write_text(site.read_text().replace("baud: 9600", "baud: 4800"))
    assert serial.stop() == 0, serial.log()
    serial.start()
    serial.tmd = zeep_deviceio(serial.endpoint("deviceio_service"))
    c = serial.tmd.GetSerialPortConfiguration(SerialPortToken="P1")
    assert (c.BaudRate, c.ParityBit, c.CharacterLength, c.StopBit) == (4800, "None", 8, 1.0)
    # And the port works on.
    out, _ = send(serial, SerialData={"String": "VER?\r"}, TimeOut="PT2S", Delimiter="\r\n")
    assert payload(out) == ("String", "VER 1.0\r\n")


def test_a_port_that_disappears_fails_cleanly_and_is_reopened(tmp_path):
    """The USB adapter is pulled (socat ends, the pty goes away) and plugged back (a new pty
    at the same path): the exchange in between fails with env:Receiver/ter:Action, the
    next ones work again without a restart."""
    with socat_pty_pair(tmp_path) as (a, b):
        (tmp_path / "site.yaml").write_text(
            f"serial_ports:\n  - {{token: P1, device: {a}, baud: 9600}}\n")
        g = Gateway(tmp_path, config="mapping: site.yaml\n").start()
        tmd = zeep_deviceio(g.endpoint("deviceio_service"))
        peer = Peer(b)
        peer.start()
        out = tmd.SendReceiveSerialCommand(Token="P1", SerialData={"String": "VER?\r"}, TimeOut="PT2S",
                                           Delimiter="\r\n")
        assert payload(out) == ("String", "VER 1.0\r\n")
        peer.stop()
    try:
        for link in (a, b):
            link.unlink(missing_ok=True)
        # Gone: a short reason, never a hang.
        with pytest.raises(zeep.exceptions.Fault) as e:
            tmd.SendReceiveSerialCommand(Token="P1", SerialData={"String": "VER?\r"}, TimeOut="PT1S")
        assert zeep_fault_codes(e.value) == ["Receiver", "Action"]
        assert "the serial port is not available" in e.value.message
        with socat_pty_pair(tmp_path) as (a2, b2):
            assert a2 == a
            peer = Peer(b2)
            peer.start()
            deadline = time.monotonic() + 10
            while True:
                try:
                    out = tmd.SendReceiveSerialCommand(Token="P1", SerialData={"String": "VER?\r"}, TimeOut="PT2S",
                                                       Delimiter="\r\n")
                    break
                except zeep.exceptions.Fault:
                    assert time.monotonic() < deadline, g.log()
                    time.sleep(0.2)
            assert payload(out) == ("String", "VER 1.0\r\n")
            peer.stop()
        assert "serial port failed; it is reopened" in g.log() or "serial port cannot be opened" in g.log()
    finally:
        assert g.stop() == 0, g.log()


def test_a_kernel_rs485_port_switches_type_only_where_its_driver_can(tmp_path):
    """A port the mapping gives a kernel RS-485 mode (`rs485:`) takes the types RS232,
    RS485HalfDuplex and RS485FullDuplex from SetSerialPortConfiguration. A pty's driver has
    no RS-485 mode (like most USB adapters'): RS232 works (the mode is off already), an
    RS-485 type is refused with env:Sender/ter:InvalidArgVal/ter:ConfigModify naming the
    reason, and the port goes on as it was. A port without `rs485:` keeps its wiring's type."""
    with socat_pty_pair(tmp_path) as (a, b):
        (tmp_path / "site.yaml").write_text(
            f"serial_ports:\n"
            f"  - {{token: K1, device: {a}, baud: 9600, type: rs232, rs485: {{delay_after_send: 1ms}}}}\n")
        g = Gateway(tmp_path, config="mapping: site.yaml\n").start()
        try:
            tmd = zeep_deviceio(g.endpoint("deviceio_service"))
            peer = Peer(b)
            peer.start()
            c = tmd.GetSerialPortConfiguration(SerialPortToken="K1")
            assert (c.type, c.BaudRate) == ("RS232", 9600)
            out = tmd.SendReceiveSerialCommand(Token="K1", SerialData={"String": "VER?\r"}, TimeOut="PT2S",
                                               Delimiter="\r\n")
            assert payload(out) == ("String", "VER 1.0\r\n")
            conf = {"token": "K1", "BaudRate": 19200, "ParityBit": "None", "CharacterLength": 8, "StopBit": 1}
            for kind in ("RS485HalfDuplex", "RS485FullDuplex", "RS422HalfDuplex"):
                with pytest.raises(zeep.exceptions.Fault) as e:
                    tmd.SetSerialPortConfiguration(SerialPortConfiguration={**conf, "type": kind},
                                                   ForcePersistance=True)
                assert zeep_fault_codes(e.value) == ["Sender", "InvalidArgVal", "ConfigModify"], kind
                reason = "kernel RS-485 mode" if kind.startswith("RS485") else "switches between RS232, RS485"
                assert reason in e.value.message, (kind, e.value.message)
            c = tmd.GetSerialPortConfiguration(SerialPortToken="K1")
            assert (c.type, c.BaudRate) == ("RS232", 9600)
            # RS232 with a new speed: applied, and the port answers on.
            tmd.SetSerialPortConfiguration(SerialPortConfiguration={**conf, "type": "RS232"}, ForcePersistance=True)
            assert line_of(a)[0] == 19200
            out = tmd.SendReceiveSerialCommand(Token="K1", SerialData={"String": "VER?\r"}, TimeOut="PT2S",
                                               Delimiter="\r\n")
            assert payload(out) == ("String", "VER 1.0\r\n")
            peer.stop()
        finally:
            assert g.stop() == 0, g.log()
        assert "panicked" not in g.log()
