"""systemd's notify protocol against the binary, with a NOTIFY_SOCKET the test owns: READY=1
only once the device answers, STATUS= with what is served and the links, WATCHDOG=1 at half
of WATCHDOG_USEC, STOPPING=1 at a stop."""

import signal
import socket
import time

import requests

from conftest import Gateway, envelope


def datagrams(sock: socket.socket, until, timeout: float = 10.0) -> list[str]:
    """Reads notify datagrams until `until(seen)` holds or `timeout` passes."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not until(seen) and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            seen.append(sock.recv(4096).decode())
        except socket.timeout:
            break
    return seen


def test_ready_status_watchdog_and_stopping(tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    try:
        g = Gateway(tmp_path, env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"})
        started = time.monotonic()
        g.start()
        seen = datagrams(sock, lambda s: any("READY=1" in d for d in s))
        ready = next(d for d in seen if "READY=1" in d)
        # READY means "connect now": the device answers at once.
        r = requests.post(g.url, data=envelope("<tds:GetSystemDateAndTime/>"), timeout=5,
                          headers={"Content-Type": "application/soap+xml"})
        assert r.status_code == 200
        status = [line for line in ready.splitlines() if line.startswith("STATUS=")]
        assert status and status[0].startswith("STATUS=serving; HTTP "), ready
        assert str(g.port) in status[0]

        # The watchdog: about every 200 ms (half of 400 ms).
        t0 = time.monotonic()
        pings = datagrams(sock, lambda s: sum("WATCHDOG=1" in d for d in s) >= 5, timeout=5)
        elapsed = time.monotonic() - t0
        assert sum("WATCHDOG=1" in d for d in pings) >= 5, pings
        assert elapsed < 3.0, f"5 watchdog pings took {elapsed:.2f}s"

        g.proc.send_signal(signal.SIGTERM)
        end = datagrams(sock, lambda s: any("STOPPING=1" in d for d in s))
        assert any("STOPPING=1" in d for d in end), end
        assert g.proc.wait(15) == 0, g.log()
        assert started < t0
    finally:
        sock.close()


def test_without_a_notify_socket_nothing_is_sent_and_the_gateway_runs(tmp_path):
    g = Gateway(tmp_path, env={"NOTIFY_SOCKET": "", "WATCHDOG_USEC": ""}).start()
    try:
        r = requests.post(g.url, data=envelope("<tds:GetSystemDateAndTime/>"), timeout=5,
                          headers={"Content-Type": "application/soap+xml"})
        assert r.status_code == 200
        assert "sd_notify failed" not in g.log()
    finally:
        assert g.stop() == 0, g.log()
