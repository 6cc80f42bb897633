"""A Modbus server built on pymodbus, the independent peer of railgate's interop tests.

Usage:
    modbus_server.py tcp HOST PORT     # PORT 0: an ephemeral port
    modbus_server.py rtu DEVICE        # a serial device, e.g. one end of a socat pty pair
    modbus_server.py rtu DEVICE --units 5,6   # several units on one line (RS-485 multi-drop)

Prints one line `READY <port>` (TCP) or `READY` (RTU) once it serves, then one JSON line per
write it accepts: {"fc": 5, "address": 3, "values": [1]}. Exits on SIGTERM/SIGINT or when
its standard input closes (so a dead test process never leaves it behind). With `--units`,
each listed unit holds the layout below except IR0 = 1000 × unit (unit 5: 5000), and each
write line also names its unit: {"unit": 5, "fc": 5, ...}; other units get no answer.

Unit 1 holds (wire addresses, 0-based):
    coils            0-15   coil 0 on, the rest off
    discrete inputs  0-15   DI 0 and DI 3 on
    holding          0-19   HR0 0x1234, HR1 0x5678, HR2 250, HR10 0b1010
    input            0-9    IR0 1000, IR1 2000
Anything else answers IllegalDataAddress.

Options (after the positional arguments), for the layouts of vendor modules:
    --bits N            N coils and N discrete inputs instead of 16 (e.g. 32 for coils 16-21)
    --on TABLE:ADDRESS  set coil or discrete input ADDRESS on at start (TABLE: coil, discrete);
                        repeatable, on top of the defaults above
"""

import asyncio
import json
import logging
import sys

from pymodbus import pymodbus_apply_logging_config
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

WRITE_CODES = {5, 6, 15, 16, 22, 23}


def write_reporter(unit=None):
    """The pymodbus action that reports writes on stdout (naming `unit` when given)."""

    async def report_write(function_code, _start, address, _count, _registers, set_values):
        if function_code in WRITE_CODES and set_values is not None:
            values = [int(v) for v in set_values]
            line = {"fc": function_code, "address": address, "values": values}
            if unit is not None:
                line = {"unit": unit, **line}
            print(json.dumps(line), flush=True)
        return None

    return report_write


def device(unit=1, named=False, bits=16, on=()):
    coils = [False] * bits
    coils[0] = True
    discretes = [False] * bits
    discretes[0] = True
    discretes[3] = True
    for table, address in on:
        (coils if table == "coil" else discretes)[address] = True
    holding = [0] * 20
    holding[0] = 0x1234
    holding[1] = 0x5678
    holding[2] = 250
    holding[10] = 0b1010
    inputs = [0] * 10
    inputs[0] = 1000 * unit
    inputs[1] = 2000
    return SimDevice(
        id=unit,
        simdata=(
            [SimData(0, values=coils, datatype=DataType.BITS)],
            [SimData(0, values=discretes, datatype=DataType.BITS)],
            [SimData(0, values=holding, datatype=DataType.REGISTERS)],
            [SimData(0, values=inputs, datatype=DataType.REGISTERS)],
        ),
        action=write_reporter(unit if named else None),
    )


async def wait_for_stdin_eof():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


def options(argv):
    """Splits `argv` into the positional arguments and the device() keyword options."""
    positional, bits, on, units = [], 16, [], []
    args = iter(argv)
    for arg in args:
        if arg == "--units":
            units = [int(u) for u in next(args).split(",")]
        elif arg == "--bits":
            bits = int(next(args))
        elif arg == "--on":
            table, address = next(args).split(":")
            if table not in ("coil", "discrete"):
                raise SystemExit(f"--on {table}:{address}: the table is coil or discrete")
            on.append((table, int(address)))
        else:
            positional.append(arg)
    return positional, {"bits": bits, "on": on}, units


async def main():
    pymodbus_apply_logging_config(logging.WARNING)
    argv, layout, units = options(sys.argv)
    if len(argv) == 4 and argv[1] == "tcp":
        server = ModbusTcpServer(device(**layout), address=(argv[2], int(argv[3])))
        await server.serve_forever(background=True)
        port = server.transport.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
    elif len(argv) == 3 and argv[1] == "rtu" and units:

        def silent_for_others(sending, packet):
            # On an RS-485 line a unit nobody has is silent (pymodbus would answer it with an
            # exception): its answer is not sent.
            if sending and packet and packet[0] not in units:
                return b""
            return packet

        pymodbus_apply_logging_config(logging.CRITICAL)  # not a traceback per silent request
        server = ModbusSerialServer(
            [device(u, named=True, **layout) for u in units],
            port=argv[2],
            baudrate=19200,
            timeout=0.05,
            trace_packet=silent_for_others,
        )
        await server.serve_forever(background=True)
        print("READY", flush=True)
    elif len(argv) == 3 and argv[1] == "rtu":
        server = ModbusSerialServer(device(**layout), port=argv[2], baudrate=19200, timeout=0.05)
        await server.serve_forever(background=True)
        print("READY", flush=True)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    await wait_for_stdin_eof()
    await server.shutdown()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
