"""SIGHUP (what `systemctl reload railgate` sends) against the binary: the configuration and
mapping are checked again; an invalid mapping is logged with file:line:column and the gateway
keeps running on the previous one (its pull point and event store untouched); a valid change
is named (sections, controllers, points); systemd hears RELOADING=1 then READY=1. Applying a
change live is not done yet: the log says a restart applies it."""

import signal
import socket
import time

from conftest import ADMIN, Gateway, create_pull_point, messages, pull, soap
from test_service_manager import datagrams

MAPPING = """\
controllers:
  - name: panel
    modbus_tcp: {host: 127.0.0.1, port: 9}
    unit: 1
    address_base: 0
inputs:
  - {token: Door, discrete_input: 1}
"""


def wait_log(g: Gateway, text: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = g.log()
        if text in log:
            return log
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not logged:\n{g.log()}")


def test_sighup_checks_again_and_keeps_running_on_an_invalid_mapping(tmp_path):
    (tmp_path / "site.yaml").write_text(MAPPING)
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    g = Gateway(tmp_path, config="mapping: site.yaml\n", env={"NOTIFY_SOCKET": str(path)}).start()
    try:
        datagrams(sock, lambda s: any("READY=1" in d for d in s))
        pull_point = create_pull_point(g)

        g.proc.send_signal(signal.SIGHUP)
        wait_log(g, "SIGHUP: configuration and mapping unchanged")
        seen = datagrams(sock, lambda s: any("READY=1" in d for d in s))
        reloading = next(i for i, d in enumerate(seen) if "RELOADING=1" in d)
        assert "MONOTONIC_USEC=" in seen[reloading], seen
        assert any("READY=1" in d for d in seen[reloading:]), seen

        # A typo in the mapping: refused with its position, nothing stops.
        (tmp_path / "site.yaml").write_text(MAPPING + "  - {token: Window, discrete_inptu: 2}\n")
        g.proc.send_signal(signal.SIGHUP)
        log = wait_log(g, "still running on the previous one")
        assert "site.yaml:8:" in log, log
        assert g.proc.poll() is None
        r = soap(g.url, "<tds:GetDeviceInformation/>", auth=ADMIN)
        assert r.status_code == 200
        # The pull point survived.
        assert pull(pull_point).status_code == 200

        # A valid change is named.
        (tmp_path / "site.yaml").write_text(MAPPING.replace("token: Door", "token: Gate"))
        g.proc.send_signal(signal.SIGHUP)
        log = wait_log(g, "restart railgate to apply it")
        assert "points added: input Gate" in log and "points removed: input Door" in log, log
        assert g.proc.poll() is None
    finally:
        sock.close()
        assert g.stop() == 0, g.log()


def test_railgate_reload_checks_first_then_signals_the_gateway_of_the_data_folder(tmp_path):
    import subprocess
    from conftest import binary
    (tmp_path / "site.yaml").write_text(MAPPING)
    g = Gateway(tmp_path, config="mapping: site.yaml\n").start()
    cmd = [str(binary()), "--config", str(g.config_path), "--data-dir", str(g.data), "reload"]
    try:
        pid_file = g.data / "railgate.pid"
        assert pid_file.read_text().strip() == str(g.proc.pid)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        assert out.returncode == 0, out
        assert f"process {g.proc.pid}" in out.stdout
        wait_log(g, "SIGHUP: configuration and mapping unchanged")
        # An invalid mapping: printed with its position here, nothing sent.
        (tmp_path / "site.yaml").write_text(MAPPING + "  - {token: Window, discrete_inptu: 2}\n")
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        assert out.returncode == 78, out
        assert "site.yaml:8:" in out.stderr + out.stdout and "not sent" in out.stderr, out
        time.sleep(0.3)
        assert g.log().count("SIGHUP:") == 1, "the invalid file was not sent"
        assert g.proc.poll() is None
    finally:
        assert g.stop() == 0, g.log()
    assert not (g.data / "railgate.pid").exists(), "the pid file goes with the gateway"
    (tmp_path / "site.yaml").write_text(MAPPING)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    assert out.returncode == 69 and "no running gateway" in out.stderr, out
