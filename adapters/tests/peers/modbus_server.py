"""A Modbus server built on pymodbus, the independent peer of railgate's interop tests.

Usage:
    modbus_server.py [OPTIONS] tcp HOST PORT     # PORT 0: an ephemeral port
    modbus_server.py [OPTIONS] rtu DEVICE        # a serial device, e.g. one end of a socat pty pair

Prints one line `READY <port>` (TCP) or `READY` (RTU) once it serves, then one JSON line per
write it accepts: {"fc": 5, "address": 3, "values": [1]}. Exits on SIGTERM/SIGINT or when
its standard input closes (so a dead test process never leaves it behind).

Unit 1 holds (wire addresses, 0-based):
    coils            0-15   coil 0 on, the rest off
    discrete inputs  0-15   DI 0 and DI 3 on
    holding          0-19   HR0 0x1234, HR1 0x5678, HR2 250, HR10 0b1010
    input            0-9    IR0 1000, IR1 2000
Anything else answers IllegalDataAddress.

Options (anywhere on the line):
    --bits N            N coils and N discrete inputs instead of 16 (e.g. 32 for coils 16-21)
    --on TABLE:ADDRESS  set coil or discrete input ADDRESS on at start (TABLE: coil, discrete);
                        repeatable, on top of the defaults above
    --units 5,6         (rtu) several units on one line, RS-485 multi-drop: each listed unit
                        holds the layout above except IR0 = 1000 x unit (unit 5: 5000), each
                        write line also names its unit ({"unit": 5, "fc": 5, ...}), and other
                        units get no answer (as on a real line)
    --layout sparse     a device with holes, like a panel with a command register beside its
                        values: unit 1 holds only HR60 (87, a battery percentage) and HR64 (0, a
                        command register), plus one unused block at address 1000 of each other
                        table (`--on` sets its bits, e.g. --on discrete:1000); HR61-63 do not
                        exist, so a read spanning them is refused with IllegalDataAddress. Every
                        read is reported too: {"fc": 3, "address": 60, "count": 1}
"""

import asyncio
import json
import logging
import sys

from pymodbus import pymodbus_apply_logging_config
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

WRITE_CODES = {5, 6, 15, 16, 22, 23}
READ_CODES = {1, 2, 3, 4}


def access_reporter(unit=None, reads=False):
    """The pymodbus action that reports writes (and reads, when `reads`) on stdout, naming
    `unit` when given."""

    async def report(function_code, _start, address, count, _registers, set_values):
        line = None
        if reads and function_code in READ_CODES:
            line = {"fc": function_code, "address": address, "count": count}
        elif function_code in WRITE_CODES and set_values is not None:
            line = {"fc": function_code, "address": address, "values": [int(v) for v in set_values]}
        if line is not None:
            if unit is not None:
                line = {"unit": unit, **line}
            print(json.dumps(line), flush=True)
        return None

    return report


def sparse_device(unit=1, named=False, on=(), **_):
    # `--on coil:1003` / `--on discrete:1003` set a bit of the block at 1000.
    block = {t: [a in range(1000, 1016) and (t, a) in on for a in range(1000, 1016)] for t in ("coil", "discrete")}
    return SimDevice(
        id=unit,
        simdata=(
            # pymodbus wants every table non-empty: one unused block each, far away.
            [SimData(1000, values=block["coil"], datatype=DataType.BITS)],
            [SimData(1000, values=block["discrete"], datatype=DataType.BITS)],
            [
                SimData(60, values=[87], datatype=DataType.REGISTERS),
                SimData(64, values=[0], datatype=DataType.REGISTERS),
            ],
            [SimData(1000, values=[0], datatype=DataType.REGISTERS)],
        ),
        action=access_reporter(unit if named else None, reads=True),
    )


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
        action=access_reporter(unit if named else None),
    )


async def wait_for_stdin_eof():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


def options(argv):
    """Splits `argv` into the positional arguments, the device maker, its keyword options and
    the unit list."""
    positional, layout, units, make = [], {"bits": 16, "on": []}, [], device
    args = iter(argv)
    for arg in args:
        if arg == "--units":
            units = [int(u) for u in next(args).split(",")]
        elif arg == "--bits":
            layout["bits"] = int(next(args))
        elif arg == "--on":
            table, address = next(args).split(":")
            if table not in ("coil", "discrete"):
                raise SystemExit(f"--on {table}:{address}: the table is coil or discrete")
            layout["on"].append((table, int(address)))
        elif arg == "--layout":
            name = next(args)
            if name != "sparse":
                raise SystemExit(f"--layout {name}: the only layout is sparse")
            make = sparse_device
        else:
            positional.append(arg)
    return positional, make, layout, units


async def main():
    pymodbus_apply_logging_config(logging.WARNING)
    argv, make, layout, units = options(sys.argv)
    if len(argv) == 4 and argv[1] == "tcp":
        server = ModbusTcpServer(make(**layout), address=(argv[2], int(argv[3])))
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
            [make(u, named=True, **layout) for u in units],
            port=argv[2],
            baudrate=19200,
            timeout=0.05,
            trace_packet=silent_for_others,
        )
        await server.serve_forever(background=True)
        print("READY", flush=True)
    elif len(argv) == 3 and argv[1] == "rtu":
        server = ModbusSerialServer(make(**layout), port=argv[2], baudrate=19200, timeout=0.05)
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
