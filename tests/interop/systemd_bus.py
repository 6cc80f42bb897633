"""A private D-Bus "system bus" with python-dbusmock mocks of the services railgate's
systemd backend talks to (timedated and logind from dbusmock's templates; hostnamed and the
systemd manager from tests/interop/dbus/), each logging the calls it receives. Nothing here
reaches this machine's own system bus: railgate finds this one through
DBUS_SYSTEM_BUS_ADDRESS, as every D-Bus client does."""

import os
import shutil
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# dbusmock runs on the system Python (Debian's python3-dbusmock and python3-dbus).
SYSTEM_PYTHON = "/usr/bin/python3"


def available() -> str | None:
    """Why the mocks cannot run here, or None."""
    if not shutil.which("dbus-daemon"):
        return "dbus-daemon is missing (apt-get install dbus-daemon)"
    ok = subprocess.run([SYSTEM_PYTHON, "-c", "import dbusmock"], capture_output=True).returncode == 0
    return None if ok else "python3-dbusmock is missing (apt-get install python3-dbusmock)"


class SystemBus:
    def __init__(self, workdir: Path):
        self.dir = workdir / "dbus"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.procs: list[subprocess.Popen] = []
        self.address = ""

    def start(self, timedated: dict | None = None) -> "SystemBus":
        sock = self.dir / "system_bus_socket"
        daemon = subprocess.Popen(
            ["dbus-daemon", "--session", f"--address=unix:path={sock}", "--nofork", "--print-address"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.append(daemon)
        self.address = daemon.stdout.readline().strip()
        assert self.address.startswith("unix:"), self.address
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.address}
        import json
        mocks = [
            ("timedated", "timedated", json.dumps(timedated or {"Timezone": "Etc/UTC", "NTP": False})),
            ("logind", "logind", "{}"),
            ("hostnamed", str(HERE / "dbus" / "hostnamed.py"), "{}"),
            ("systemd", str(HERE / "dbus" / "systemd_manager.py"), "{}"),
            ("networkmanager", "networkmanager", "{}"),
        ]
        for name, template, params in mocks:
            self.procs.append(subprocess.Popen(
                [SYSTEM_PYTHON, "-m", "dbusmock", "--system", "--template", template, "-p", params,
                 "-l", str(self.log_path(name))],
                env=env, stdout=subprocess.DEVNULL, stderr=open(self.dir / f"{name}.err", "w")))
        for name, bus_name in [("timedated", "org.freedesktop.timedate1"), ("logind", "org.freedesktop.login1"),
                               ("hostnamed", "org.freedesktop.hostname1"), ("systemd", "org.freedesktop.systemd1"),
                               ("networkmanager", "org.freedesktop.NetworkManager")]:
            self.wait_for(bus_name)
        return self

    def wait_for(self, bus_name: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = subprocess.run(["dbus-send", f"--bus={self.address}", "--print-reply", "--dest=org.freedesktop.DBus",
                                "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", f"string:{bus_name}"],
                               capture_output=True, text=True)
            if "boolean true" in r.stdout:
                return
            time.sleep(0.1)
        raise AssertionError(f"{bus_name} never appeared on the private bus")

    def add_ethernet(self, iface: str) -> None:
        """A NetworkManager device for the kernel interface `iface` (dbusmock's Mock call)."""
        subprocess.run(["dbus-send", f"--bus={self.address}", "--print-reply", "--dest=org.freedesktop.NetworkManager",
                        "/org/freedesktop/NetworkManager", "org.freedesktop.DBus.Mock.AddEthernetDevice",
                        f"string:mock_{iface}", f"string:{iface}", "int32:100"], check=True, capture_output=True)

    def log_path(self, name: str) -> Path:
        return self.dir / f"{name}.calls"

    def calls(self, name: str) -> list[str]:
        """The method calls a mock received, as 'Method arg arg' (its log without times)."""
        path = self.log_path(name)
        if not path.exists():
            return []
        return [line.split(" ", 1)[1] for line in path.read_text().splitlines() if " " in line]

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
