"""A Modbus server built on pymodbus, the independent peer of railgate's interop tests.

Usage:
    modbus_server.py [--layout sparse] tcp HOST PORT     # PORT 0: an ephemeral port
    modbus_server.py [--layout sparse] rtu DEVICE        # a serial device, e.g. a socat pty

Prints one line `READY <port>` (TCP) or `READY` (RTU) once it serves, then one JSON line per
write it accepts: {"fc": 5, "address": 3, "values": [1]}. Exits on SIGTERM/SIGINT or when
its standard input closes (so a dead test process never leaves it behind).

Unit 1 holds (wire addresses, 0-based):
    coils            0-15   coil 0 on, the rest off
    discrete inputs  0-15   DI 0 and DI 3 on
    holding          0-19   HR0 0x1234, HR1 0x5678, HR2 250, HR10 0b1010
    input            0-9    IR0 1000, IR1 2000
Anything else answers IllegalDataAddress.

`--layout sparse` serves instead a device with holes, like a panel with a command register
beside its values: unit 1 holds only holding registers HR60 (87, a battery percentage) and
HR64 (0, a command register), plus one unused block at address 1000 of each other table;
HR61-63 do not exist, so a read spanning them is refused with IllegalDataAddress. In this layout every read is reported too: {"fc": 3, "address": 60,
"count": 1}.
"""

import asyncio
import json
import logging
import sys

from pymodbus import pymodbus_apply_logging_config
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

WRITE_CODES = {5, 6, 15, 16, 22, 23}


async def report_write(function_code, _start, address, _count, _registers, set_values):
    """Called by pymodbus on every access; reports writes on stdout."""
    if function_code in WRITE_CODES and set_values is not None:
        values = [int(v) for v in set_values]
        print(json.dumps({"fc": function_code, "address": address, "values": values}), flush=True)
    return None


async def report_access(function_code, start, address, count, registers, set_values):
    """The sparse layout's action: reports reads as well as writes."""
    if function_code in READ_CODES:
        print(json.dumps({"fc": function_code, "address": address, "count": count}), flush=True)
    return await report_write(function_code, start, address, count, registers, set_values)


READ_CODES = {1, 2, 3, 4}


def sparse_device():
    return SimDevice(
        id=1,
        simdata=(
            # pymodbus wants every table non-empty: one unused block each, far away.
            [SimData(1000, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(1000, values=[False] * 16, datatype=DataType.BITS)],
            [
                SimData(60, values=[87], datatype=DataType.REGISTERS),
                SimData(64, values=[0], datatype=DataType.REGISTERS),
            ],
            [SimData(1000, values=[0], datatype=DataType.REGISTERS)],
        ),
        action=report_access,
    )


def device():
    coils = [False] * 16
    coils[0] = True
    discretes = [False] * 16
    discretes[0] = True
    discretes[3] = True
    holding = [0] * 20
    holding[0] = 0x1234
    holding[1] = 0x5678
    holding[2] = 250
    holding[10] = 0b1010
    inputs = [0] * 10
    inputs[0] = 1000
    inputs[1] = 2000
    return SimDevice(
        id=1,
        simdata=(
            [SimData(0, values=coils, datatype=DataType.BITS)],
            [SimData(0, values=discretes, datatype=DataType.BITS)],
            [SimData(0, values=holding, datatype=DataType.REGISTERS)],
            [SimData(0, values=inputs, datatype=DataType.REGISTERS)],
        ),
        action=report_write,
    )


async def wait_for_stdin_eof():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


async def main():
    pymodbus_apply_logging_config(logging.WARNING)
    args = sys.argv[1:]
    make = device
    if args[:2] == ["--layout", "sparse"]:
        make = sparse_device
        args = args[2:]
    if len(args) == 3 and args[0] == "tcp":
        server = ModbusTcpServer(make(), address=(args[1], int(args[2])))
        await server.serve_forever(background=True)
        port = server.transport.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
    elif len(args) == 2 and args[0] == "rtu":
        server = ModbusSerialServer(make(), port=args[1], baudrate=19200, timeout=0.05)
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
