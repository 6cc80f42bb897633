"""The integrator's command line, against the real binary and real Modbus peers.

- `railgate check` reports YAML syntax errors (a tab, bad indentation, a duplicate key, an
  unclosed brace) as such, with line and column, whatever the kind of file, never as
  "unknown field controllers"; configuration errors get the key path and a hint.
- Output to a closed pipe (`railgate check --explain FILE | head -1`) ends quietly with 0.
- `railgate check --explain` prints one line per point with its wire address, so a 1-based
  mistake is visible.
- `railgate probe` reads every polled point of a pymodbus peer (TCP, and RTU over a socat
  pty) or the built-in simulator once, prints raw and decoded values, never reads a command
  register, and exits 0 / 65 (a point refused) / 69 (unreachable) / 64 (no such controller).
- Global options are accepted after the subcommand (`railgate events --data-dir X`); log
  lines name the user as `by=admin`, never `by=Some("admin")`."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Gateway, ModbusPeer, add_users, binary, free_port, socat_pty_pair



def railgate(*args, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary()), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def no_panic(p: subprocess.CompletedProcess) -> None:
    assert "panicked" not in p.stderr and "RUST_BACKTRACE" not in p.stderr, p.stderr


Peer = ModbusPeer


@pytest.fixture
def peer():
    p = Peer("tcp", "127.0.0.1", "0")
    yield p
    p.close()


@pytest.fixture
def sparse():
    p = Peer("--layout", "sparse", "tcp", "127.0.0.1", "0")
    yield p
    p.close()


def controller(name: str, port: int, base: int = 0, unit: int = 1) -> str:
    return f"""\
  - name: {name}
    modbus_tcp: {{host: 127.0.0.1, port: {port}}}
    unit: {unit}
    address_base: {base}
    timeout: 300ms
    retries: 0
"""


def rows(stdout: str) -> list[list[str]]:
    """The table's lines split into columns (runs of two or more spaces separate them)."""
    return [re.split(r"\s{2,}", line.strip()) for line in stdout.splitlines()
            if line.strip() and not line.startswith("#")]


def row_of(stdout: str, feeds: str) -> list[str]:
    found = [r for r in rows(stdout) if feeds in r[-1]]
    assert len(found) == 1, f"{feeds!r} in\n{stdout}"
    return found[0]


# --------------------------------------------------------------------------- YAML errors
YAML_ERRORS = {
    "tab": ("controllers:\n  - name: panel\n\t  unit: 1\n", 3),
    "indentation": ("controllers:\n  - name: panel\n    unit: 1\n   address_base: 0\n", 4),
    "duplicate": ("controllers:\n  - name: panel\n    unit: 1\n    unit: 2\n", 4),
    "unclosed_brace": ("controllers:\n  - {name: panel, unit: 1\ninputs: []\n", 3),
}


@pytest.mark.parametrize("kind", sorted(YAML_ERRORS))
@pytest.mark.parametrize("top", ["mapping", "config"])
def test_yaml_syntax_errors_are_reported_as_such(tmp_path, kind, top):
    text, line = YAML_ERRORS[kind]
    if top == "config":
        # The same mistakes in a configuration file.
        text = text.replace("controllers:", "server:").replace("- name: panel", "- realm: x")
    path = tmp_path / "site.yaml"
    path.write_text(text)
    p = railgate("check", path)
    no_panic(p)
    assert p.returncode == 78, p
    assert "unknown field" not in p.stderr and "unknown key" not in p.stderr, p.stderr
    m = re.search(r"site\.yaml:(\d+):(\d+): error: (.*)", p.stderr)
    assert m, p.stderr
    # The parser may notice an unclosed brace on the line after it.
    assert int(m.group(1)) in (line - 1, line), p.stderr
    assert int(m.group(2)) >= 1
    if kind == "duplicate":
        assert "is given twice" in m.group(3) and "first on line" in m.group(3), p.stderr
    else:
        assert m.group(3).startswith("not valid YAML"), p.stderr


@pytest.mark.parametrize("yaml,where,hint", [
    ("security:\n  created_window_secs: 5m\n", "site.yaml:2:24", "durations here are whole seconds"),
    ("discovery:\n  interfaces: of\n", "site.yaml:2:15", "did you mean `off`?"),
    ("listen: [0.0.0.0:8080]\n", "site.yaml:1:1", "`listen` goes under `server:`"),
    ("securty:\n  realm: x\n", "site.yaml:1:1", "did you mean `security`?"),
])
def test_configuration_errors_have_position_path_and_hint(tmp_path, yaml, where, hint):
    path = tmp_path / "site.yaml"
    path.write_text(yaml)
    p = railgate("check", path)
    no_panic(p)
    assert p.returncode == 78, p
    first = p.stderr.splitlines()[0]
    assert first.startswith(f"{path.parent}/{where}: error: "), p.stderr
    assert hint in first, p.stderr
    assert "(at `" in first, p.stderr
    assert "invalid type" not in first and "unknown field" not in first, p.stderr
    # The gateway refuses to start with the same message.
    p = railgate("--config", path, "--data-dir", tmp_path / "data", "--listen", "127.0.0.1:0")
    assert p.returncode == 78 and hint in p.stderr, p


# --------------------------------------------------------------------------- closed pipe
def big_mapping(path: Path, inputs: int = 3000) -> Path:
    lines = ["controllers:", controller("io", 1502).rstrip("\n"), "inputs:"]
    lines += [f"  - {{token: In{i}, controller: io, discrete_input: {i}}}" for i in range(inputs)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_closed_pipe_ends_quietly_with_success(tmp_path):
    # More output than a pipe holds, so railgate is still writing when the reader leaves.
    path = big_mapping(tmp_path / "site.yaml")
    proc = subprocess.Popen([str(binary()), "check", "--explain", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    assert first.startswith(b"#"), first
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert b"panicked" not in err and b"Broken pipe" not in err, err
    # As a shell pipeline, with the exit status of railgate itself.
    for args in (f"check {path}", f"check --explain {path}", "schema"):
        p = subprocess.run(["bash", "-c", f"set -o pipefail; '{binary()}' {args} | head -1"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p
        assert len(p.stdout.splitlines()) == 1, p.stdout
        assert "panicked" not in p.stderr, p.stderr


# --------------------------------------------------------------------------- check --explain
def test_explain_shows_wire_addresses_so_a_one_based_mistake_is_visible(tmp_path, sparse):
    # The manual says "battery: holding register 60" meaning the wire address; the
    # integrator wrote address_base: 1, so the gateway reads 59.
    def mapping(base: int) -> Path:
        path = tmp_path / f"site{base}.yaml"
        path.write_text(f"""\
controllers:
{controller("panel", sparse.port, base)}
inputs:
  - {{token: Door1, controller: panel, discrete_input: 1000}}
relays:
  - {{token: Lock1, controller: panel, coil: 1000}}
values:
  - {{name: Battery, controller: panel, holding_register: 60, type: u16, unit: '%', topic: tns1:Monitoring/BatteryCapacity}}
commands:
  - {{command: "Arm|P1", controller: panel, holding_register: 64, value: 1}}
""")
        return path

    one = railgate("check", "--explain", mapping(1))
    assert one.returncode == 0, one
    header = rows(one.stdout)[0]
    assert header == ["CONTROLLER", "UNIT", "TABLE", "ADDRESS", "READ", "WRITE", "TYPE", "ORDER", "FEEDS"], one.stdout
    battery = row_of(one.stdout, "value Battery")
    assert battery[:8] == ["panel", "1", "holding", "59", "FC03", "-", "u16", "-"], one.stdout
    assert "tns1:Monitoring/BatteryCapacity" in battery[8]
    command = row_of(one.stdout, "command")
    assert command[3:6] == ["63", "-", "FC06"] and "written only" in command[8], one.stdout
    relay = row_of(one.stdout, "relay Lock1")
    assert relay[2:6] == ["coil", "999", "FC01", "FC05"], one.stdout
    assert one.stdout.rstrip().endswith(": ok")

    zero = railgate("check", "--explain", mapping(0))
    assert row_of(zero.stdout, "value Battery")[3] == "60", zero.stdout

    # The probe makes the same mistake obvious on the wire: HR59 does not exist.
    probe = railgate("probe", mapping(1))
    no_panic(probe)
    assert probe.returncode == 65, probe
    assert "IllegalDataAddress" in row_of(probe.stdout, "value Battery")[5], probe.stdout


def test_explain_of_a_configuration_explains_its_mapping(tmp_path):
    (tmp_path / "m.yaml").write_text(f"controllers:\n{controller('io', 1502)}inputs:\n"
                                     "  - {token: D1, controller: io, coil: 3}\n")
    (tmp_path / "railgate.yaml").write_text("mapping: m.yaml\n")
    p = railgate("check", "--explain", tmp_path / "railgate.yaml")
    assert p.returncode == 0, p
    assert row_of(p.stdout, "input D1")[2:5] == ["coil", "3", "FC01"], p.stdout
    assert p.stdout.count(": ok") == 2, p.stdout


# --------------------------------------------------------------------------- probe
def test_probe_prints_raw_and_decoded_values(tmp_path, peer):
    path = tmp_path / "site.yaml"
    path.write_text(f"""\
controllers:
{controller("io", peer.port)}
inputs:
  - {{token: Door1, controller: io, discrete_input: 0}}
  - {{token: Door2, controller: io, discrete_input: 1}}
relays:
  - {{token: Lock1, controller: io, coil: 0}}
values:
  - {{name: Counter, controller: io, holding_register: 0, type: u32, byte_order: ABCD, topic: rg:Io/Counter}}
  - {{name: Level, controller: io, holding_register: 2, type: u16, scale: 0.1, topic: rg:Io/Level}}
  - {{name: Flag, controller: io, holding_register: 10, bit: 1, topic: rg:Io/Flag}}
  - {{name: Analog, controller: io, input_register: 0, type: u16, topic: rg:Io/Analog}}
commands:
  - {{command: "Reset", controller: io, holding_register: 5, value: 1}}
""")
    p = railgate("probe", "--controller", "io", path)
    no_panic(p)
    assert p.returncode == 0, p
    assert rows(p.stdout)[0] == ["CONTROLLER", "TABLE", "ADDRESS", "READ", "RAW", "DECODED", "FEEDS"], p.stdout
    assert row_of(p.stdout, "input Door1")[4:6] == ["1", "closed, active"], p.stdout
    assert row_of(p.stdout, "input Door2")[4:6] == ["0", "open, idle"], p.stdout
    assert row_of(p.stdout, "relay Lock1")[4:6] == ["1", "closed, active"], p.stdout
    assert row_of(p.stdout, "value Counter")[4:6] == ["0x1234 0x5678", str(0x12345678)], p.stdout
    assert row_of(p.stdout, "value Level")[4:6] == ["0x00FA", "25"], p.stdout
    assert row_of(p.stdout, "value Flag")[2:6] == ["10.1", "FC03", "0x000A", "true"], p.stdout
    assert row_of(p.stdout, "value Analog")[4:6] == ["0x03E8", "1000"], p.stdout
    command = row_of(p.stdout, "command")
    assert command[3:6] == ["-", "-", "not read (written only)"], p.stdout
    # A probe writes nothing.
    assert peer.drain() == []


def test_probe_never_reads_a_command_register_and_reports_refusals(tmp_path, sparse):
    path = tmp_path / "site.yaml"
    path.write_text(f"""\
controllers:
{controller("panel", sparse.port)}
values:
  - {{name: Battery, controller: panel, holding_register: 60, type: u16, unit: '%', topic: tns1:Monitoring/BatteryCapacity}}
commands:
  - {{command: "Arm|P1", controller: panel, holding_register: 64, value: 1}}
""")
    p = railgate("probe", path)
    assert p.returncode == 0, p
    assert row_of(p.stdout, "value Battery")[4:6] == ["0x0057", "87"], p.stdout
    reads = [a for a in sparse.drain() if a.get("count")]
    assert reads == [{"fc": 3, "address": 60, "count": 1}], reads

    # A point the device does not have: refused (65), and the others are still read.
    path.write_text(path.read_text().replace("commands:", """\
  - {name: Missing, controller: panel, holding_register: 62, type: u16, topic: rg:Panel/Missing}
commands:"""))
    p = railgate("probe", path)
    no_panic(p)
    assert p.returncode == 65, p
    assert row_of(p.stdout, "value Missing")[5] == "refused: IllegalDataAddress (exception 0x02)", p.stdout
    assert row_of(p.stdout, "value Battery")[5] == "87", p.stdout


def test_probe_exit_codes_for_unreachable_and_unknown_controllers(tmp_path, peer):
    dead = free_port()
    path = tmp_path / "site.yaml"
    path.write_text(f"""\
controllers:
{controller("io", peer.port)}{controller("gone", dead)}
inputs:
  - {{token: A, controller: io, discrete_input: 0}}
  - {{token: B, controller: gone, discrete_input: 0}}
""")
    p = railgate("probe", path)
    no_panic(p)
    assert p.returncode == 69, p
    assert "gone: unreachable" in p.stderr, p.stderr
    assert row_of(p.stdout, "input B")[5] == "not read (link down)", p.stdout
    assert row_of(p.stdout, "input A")[5] == "closed, active", p.stdout
    p = railgate("probe", "--controller", "io", path)
    assert p.returncode == 0, p
    assert "input B" not in p.stdout
    p = railgate("probe", "--controller", "og", path)
    assert p.returncode == 64, p
    assert "no controller `og`" in p.stderr, p.stderr
    # A configuration naming the mapping is probed the same way.
    (tmp_path / "railgate.yaml").write_text("mapping: site.yaml\n")
    p = railgate("probe", "--controller", "io", "--config", tmp_path / "railgate.yaml")
    assert p.returncode == 0, p
    p = railgate("probe", tmp_path / "nothing.yaml")
    assert p.returncode == 78, p


def test_probe_over_rtu_through_a_serial_line(tmp_path):
    with socat_pty_pair(tmp_path) as (a, b):
        rtu = Peer("rtu", str(a))
        try:
            path = tmp_path / "site.yaml"
            path.write_text(f"""\
controllers:
  - name: line
    modbus_rtu: {{device: {b}, baud: 19200, parity: none}}
    unit: 1
    address_base: 0
    timeout: 500ms
    retries: 1
values:
  - {{name: Analog, controller: line, input_register: 1, type: u16, topic: rg:Line/Analog}}
""")
            p = railgate("probe", path)
            no_panic(p)
            assert p.returncode == 0, p
            assert row_of(p.stdout, "value Analog")[4:6] == ["0x07D0", "2000"], p.stdout
        finally:
            rtu.close()


def test_probe_against_the_built_in_simulator(tmp_path):
    port = free_port()
    sim = subprocess.Popen([str(binary()), "sim", "--listen", f"127.0.0.1:{port}", "--still"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        path = tmp_path / "site.yaml"
        path.write_text(f"""\
controllers:
{controller("io", port, unit=1)}{controller("panel", port, unit=2)}
inputs:
  - {{token: Door1, controller: io, discrete_input: 0}}
values:
  - {{name: Battery, controller: panel, input_register: 20, type: u16, unit: '%', topic: tns1:Monitoring/BatteryCapacity}}
commands:
  - {{command: "Arm|P1", controller: panel, holding_register: 100, value: 1}}
""")
        deadline = time.monotonic() + 20
        while True:
            p = railgate("probe", path)
            if p.returncode != 69 or time.monotonic() > deadline:
                break
            time.sleep(0.2)  # the simulator is still starting
        no_panic(p)
        assert p.returncode == 0, p
        battery = row_of(p.stdout, "value Battery")
        assert re.fullmatch(r"0x[0-9A-F]{4}", battery[4]) and battery[5] == str(int(battery[4], 16)), p.stdout
        assert row_of(p.stdout, "input Door1")[5] in ("open, idle", "closed, active"), p.stdout
        assert row_of(p.stdout, "command")[5] == "not read (written only)", p.stdout
    finally:
        sim.terminate()
        sim.wait(15)


# --------------------------------------------------------------------------- loose ends
def test_global_options_after_the_subcommand_and_log_fields(tmp_path):
    g = Gateway(tmp_path).start()
    try:
        add_users(g)
    finally:
        assert g.stop() == 0, g.log()
    log = g.log()
    assert "users created" in log, log
    line = next(l for l in log.splitlines() if "users created" in l)
    assert "by=admin" in line and "Some(" not in line, line
    # --data-dir (and --log-level) after the subcommand.
    p = railgate("events", "--data-dir", g.data, "--log-level", "warn", "--limit", "5")
    assert p.returncode == 0, p
    # Before it, as always.
    q = railgate("--data-dir", g.data, "events", "--limit", "5")
    assert q.returncode == 0 and q.stdout == p.stdout, (p, q)
    # A missing store is named, not a usage error about the option.
    p = railgate("events", "--data-dir", tmp_path / "nowhere")
    assert p.returncode == 64 and "no event store" in p.stderr, p
    p = railgate("check", "--config", g.config_path)
    assert p.returncode == 0 and ": ok" in p.stdout, p


def test_run_options_after_the_subcommand(tmp_path):
    (tmp_path / "railgate.yaml").write_text("")
    log = open(tmp_path / "run.log", "wb")
    proc = subprocess.Popen([str(binary()), "run", "--config", str(tmp_path / "railgate.yaml"), "--data-dir",
                             str(tmp_path / "data"), "--listen", "127.0.0.1:0", "--discovery-interfaces", "off",
                             "--log-level", "info"], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while "serving ONVIF at http://127.0.0.1:" not in (tmp_path / "run.log").read_text(errors="replace"):
            assert proc.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
            time.sleep(0.05)
        assert (tmp_path / "data").is_dir()
    finally:
        proc.terminate()
        assert proc.wait(15) == 0
