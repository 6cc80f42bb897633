#!/usr/bin/env python3
"""OSDP peripheral devices (card readers) for the OSDP driver's interop test.

Runs PyPI `libosdp` (the reference C library's binding) as one or more PDs on one serial
device (one end of a socat pty pair), as readers on one RS-485 bus would be: every PD hears
every byte and answers only its own address. Driven through stdin/stdout, one JSON object per
line; "pd" names the reader by address (default: the first one).

stdin (from the test):
    {"card": {"bits": 26, "data": "hex"}}   a raw Wiegand card read (osdp_RAW)
    {"keys": "1234"}                        keypad digits (osdp_KEYPAD)
    {"tamper": true}                        a local status report (osdp_LSTATR)
    {"refuse": true}                        answer every later command with osdp_NAK
    {"mute": true}                          the reader goes silent (hears and says nothing,
                                            as if unplugged); {"mute": false} plugs it back
    {"quit": true}                          stop

stdout (to the test), each with "pd": its address:
    {"ready": true}                          the PD runs
    {"command": {...}, "refused": bool}      every command the CP sent (LED, buzzer, output,
                                             keyset: the key as hex, so the test can compare it
                                             with the key file the CP wrote)
    {"sc_active": bool}                      the secure channel came up / went down
    {"error": "..."}                         a line it could not act on

Usage: osdp_pd.py DEVICE ADDRESS[:SCBK_HEX]...   (no SCBK: that PD is in install mode and
accepts SCBK-D once, as a new reader out of the box does). libosdp's PD always offers the
secure channel.

Exit status 3 if `osdp` (PyPI libosdp) is not importable, so the test can skip with a reason.
"""

import json
import sys
import threading
import time

try:
    import serial
    from osdp import (
        Capability,
        Channel,
        Event,
        LogLevel,
        PDCapabilities,
        PDInfo,
        PeripheralDevice,
        StatusReportType,
    )
except ImportError as e:  # pragma: no cover - the test skips on this
    print(json.dumps({"import_error": str(e)}), flush=True)
    sys.exit(3)


out_lock = threading.Lock()


def emit(obj):
    with out_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


class Bus:
    """The serial port, shared by every PD: what arrives goes to each (unmuted) PD."""

    def __init__(self, device):
        self.port = serial.Serial(device, 115200, timeout=0.01)
        self.write_lock = threading.Lock()
        self.channels = []
        threading.Thread(target=self.pump, daemon=True).start()

    def pump(self):
        while True:
            data = self.port.read(256)
            if data:
                for ch in self.channels:
                    ch.hear(data)

    def write(self, buf):
        with self.write_lock:
            return self.port.write(buf)


class BusChannel(Channel):
    def __init__(self, bus):
        super().__init__()
        self.bus = bus
        self.lock = threading.Lock()
        self.inbox = bytearray()
        self.muted = False
        bus.channels.append(self)

    def hear(self, data):
        if self.muted:
            return
        with self.lock:
            self.inbox.extend(data)

    def mute(self, muted):
        with self.lock:
            self.muted = muted
            self.inbox.clear()

    def read(self, max_bytes):
        with self.lock:
            data = bytes(self.inbox[:max_bytes])
            del self.inbox[:max_bytes]
            return data

    def write(self, buf):
        if self.muted:
            return len(buf)
        return self.bus.write(buf)

    def flush(self):
        pass

    def close(self):
        pass


def plain(command):
    """A command dict as JSON (bytes as hex)."""
    return {k: (v.hex() if isinstance(v, (bytes, bytearray)) else v) for k, v in command.items()}


class Reader:
    def __init__(self, bus, address, scbk):
        self.address = address
        self.channel = BusChannel(bus)
        self.refuse = threading.Event()
        caps = [
            (Capability.OutputControl, 1, 1),
            (Capability.LEDControl, 1, 1),
            (Capability.AudibleControl, 1, 1),
            (Capability.TextOutput, 1, 1),
            (Capability.CardDataFormat, 1, 1),
            (Capability.CommunicationSecurity, 1, 1),
        ]
        caps = PDCapabilities(caps)
        info = PDInfo(address, self.channel, scbk=scbk, name=f"reader-{address}")
        self.pd = PeripheralDevice(
            info, caps, log_level=LogLevel.Warning, command_handler=self.on_command
        )
        self.pd.start()
        threading.Thread(target=self.watch_sc, daemon=True).start()

    def on_command(self, command):
        refused = self.refuse.is_set()
        emit({"pd": self.address, "command": plain(command), "refused": refused})
        # A negative answer makes the library reply osdp_NAK.
        return (-1, None) if refused else (0, None)

    def watch_sc(self):
        last = None
        while True:
            now = self.pd.is_sc_active()
            if now != last:
                emit({"pd": self.address, "sc_active": now})
                last = now
            time.sleep(0.05)

    def act(self, msg):
        pd = self.pd
        if "card" in msg:
            card = msg["card"]
            pd.submit_event(
                {
                    "event": Event.CardRead,
                    "reader_no": 0,
                    "direction": 0,
                    "format": 1,  # OSDP_CARD_FMT_RAW_WIEGAND
                    "length": card["bits"],
                    "data": bytes.fromhex(card["data"]),
                }
            )
        elif "keys" in msg:
            pd.submit_event({"event": Event.KeyPress, "reader_no": 0, "data": msg["keys"].encode()})
        elif "tamper" in msg:
            pd.submit_event(
                {
                    "event": Event.Status,
                    "type": StatusReportType.Local,
                    "report": bytes([1 if msg["tamper"] else 0, 0]),
                }
            )
        elif "refuse" in msg:
            (self.refuse.set if msg["refuse"] else self.refuse.clear)()
        elif "mute" in msg:
            self.channel.mute(bool(msg["mute"]))
        else:
            return False
        return True


def main():
    device, specs = sys.argv[1], sys.argv[2:]
    bus = Bus(device)
    readers = {}
    for spec in specs:
        address, _, key = spec.partition(":")
        readers[int(address)] = Reader(bus, int(address), bytes.fromhex(key) if key else None)
    first = int(specs[0].partition(":")[0])
    for address in readers:
        emit({"pd": address, "ready": True})

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
            if "quit" in msg:
                break
            reader = readers[msg.get("pd", first)]
            if not reader.act(msg):
                emit({"error": f"unknown request {line}"})
        except Exception as e:  # a bad line is reported, not fatal
            emit({"error": f"{type(e).__name__}: {e}"})
    for reader in readers.values():
        reader.pd.stop()


if __name__ == "__main__":
    main()
