#!/usr/bin/env python3
"""An OSDP peripheral device (a card reader) for the OSDP driver's interop test.

Runs PyPI `libosdp` (the reference C library's binding) as a PD on a serial device (one end of
a socat pty pair) and is driven through stdin/stdout, one JSON object per line:

stdin (from the test):
    {"card": {"bits": 26, "data": "hex"}}   a raw Wiegand card read (osdp_RAW)
    {"keys": "1234"}                        keypad digits (osdp_KEYPAD)
    {"tamper": true}                        a local status report (osdp_LSTATR)
    {"refuse": true}                        answer every later command with osdp_NAK
    {"quit": true}                          stop

stdout (to the test):
    {"ready": true}                          the PD runs
    {"command": {...}}                       every command the CP sent (LED, buzzer, output,
                                             keyset: the key as hex, so the test can compare it
                                             with the key file the CP wrote)
    {"sc_active": bool}                      the secure channel came up / went down
    {"error": "..."}                         a line it could not act on

Usage: osdp_pd.py DEVICE ADDRESS [SCBK_HEX]   (no SCBK: the PD is in install mode and accepts
SCBK-D once, as a new reader out of the box does).

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


class SerialChannel(Channel):
    def __init__(self, device):
        super().__init__()
        self.port = serial.Serial(device, 115200, timeout=0)

    def read(self, max_bytes):
        return self.port.read(max_bytes)

    def write(self, buf):
        return self.port.write(buf)

    def flush(self):
        self.port.flush()

    def close(self):
        self.port.close()


out_lock = threading.Lock()


def emit(obj):
    with out_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def plain(command):
    """A command dict as JSON (bytes as hex)."""
    return {k: (v.hex() if isinstance(v, (bytes, bytearray)) else v) for k, v in command.items()}


def main():
    device, address = sys.argv[1], int(sys.argv[2])
    scbk = bytes.fromhex(sys.argv[3]) if len(sys.argv) > 3 else None
    caps = PDCapabilities(
        [
            (Capability.OutputControl, 1, 1),
            (Capability.LEDControl, 1, 1),
            (Capability.AudibleControl, 1, 1),
            (Capability.TextOutput, 1, 1),
            (Capability.CardDataFormat, 1, 1),
            (Capability.CommunicationSecurity, 1, 1),
        ]
    )
    info = PDInfo(address, SerialChannel(device), scbk=scbk, name="reader")

    refuse = threading.Event()

    def on_command(command):
        emit({"command": plain(command), "refused": refuse.is_set()})
        # A negative answer makes the library reply osdp_NAK.
        return (-1, None) if refuse.is_set() else (0, None)

    pd = PeripheralDevice(info, caps, log_level=LogLevel.Warning, command_handler=on_command)
    pd.start()
    emit({"ready": True})

    def watch_sc():
        last = None
        while True:
            now = pd.is_sc_active()
            if now != last:
                emit({"sc_active": now})
                last = now
            time.sleep(0.05)

    threading.Thread(target=watch_sc, daemon=True).start()

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
            if "quit" in msg:
                break
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
            elif "refuse" in msg:
                if msg["refuse"]:
                    refuse.set()
                else:
                    refuse.clear()
            elif "keys" in msg:
                pd.submit_event(
                    {"event": Event.KeyPress, "reader_no": 0, "data": msg["keys"].encode()}
                )
            elif "tamper" in msg:
                pd.submit_event(
                    {
                        "event": Event.Status,
                        "type": StatusReportType.Local,
                        "report": bytes([1 if msg["tamper"] else 0, 0]),
                    }
                )
            else:
                emit({"error": f"unknown request {line}"})
        except Exception as e:  # a bad line is reported, not fatal
            emit({"error": f"{type(e).__name__}: {e}"})
    pd.stop()


if __name__ == "__main__":
    main()
