"""SIGHUP (what `systemctl reload railgate` sends) against the binary: the configuration and
mapping are checked again; an invalid mapping is logged with file:line:column and the gateway
keeps running on the previous one (its pull point and event store untouched); systemd hears
RELOADING=1 then READY=1. A valid mapping is applied live against two real Modbus servers
(pymodbus): the unchanged controller's link is not touched (one connection, one "link up"),
the changed one restarts, a removed input is Deleted and a new one Initialized on the same pull
point, an inverted input shows its new state at once, GetDigitalInputs lists the new inputs.
A changed section other than the mapping is named for a restart."""

import contextlib
import re
import signal
import socket
import time

from conftest import (ADMIN, Gateway, ModbusPeer, create_pull_point, free_port, pull, pull_until, soap,
                      xml)
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

        # A valid change is named and applied.
        (tmp_path / "site.yaml").write_text(MAPPING.replace("token: Door", "token: Gate"))
        g.proc.send_signal(signal.SIGHUP)
        log = wait_log(g, "SIGHUP: reloaded")
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


def two_panels(a: int, b: int, door_invert: bool = False, window: bool = True, hall: bool = False) -> str:
    text = f"""\
controllers:
  - name: a
    modbus_tcp: {{host: 127.0.0.1, port: {a}}}
    unit: 1
    address_base: 0
    poll_interval: 100ms
  - name: b
    modbus_tcp: {{host: 127.0.0.1, port: {b}}}
    unit: 1
    address_base: 0
    poll_interval: 100ms
inputs:
  - {{token: Door, controller: a, discrete_input: 0, invert: {str(door_invert).lower()}}}
"""
    if window:
        text += "  - {token: Window, controller: b, discrete_input: 0}\n"
    if hall:
        text += "  - {token: Hall, controller: b, discrete_input: 3}\n"
    return text


def has(got, topic_end: str, op: str | None, **items) -> bool:
    """Whether a message of `topic_end` with operation `op` (None: any) has these items."""
    return any(m["topic"].endswith(topic_end) and op in (None, m["op"])
               and all({**m["source"], **m["data"]}.get(k) == v for k, v in items.items())
               for m in got)


@contextlib.contextmanager
def two_panel_site(tmp_path):
    """Two pymodbus panels (controllers a and b) and a gateway on `two_panels`' mapping of
    them; yields the gateway and `remap(**options)`, which writes that mapping again with
    `two_panels`' options."""
    pa, pb = free_port(), free_port()
    peers = [ModbusPeer.tcp(pa), ModbusPeer.tcp(pb)]
    remap = lambda **options: (tmp_path / "site.yaml").write_text(two_panels(pa, pb, **options))  # noqa: E731
    try:
        remap()
        g = Gateway(tmp_path, config="mapping: site.yaml\n").start()
        try:
            yield g, remap
        finally:
            assert g.stop() == 0, g.log()
    finally:
        for p in peers:
            p.kill()


def input_tokens(g: Gateway) -> list[str]:
    """GetDigitalInputs' tokens, in order."""
    r = soap(g.endpoint("deviceio_service"), "<tmd:GetDigitalInputs/>", auth=ADMIN)
    assert r.status_code == 200
    return [i.get("token") for i in xml(r).iter("{http://www.onvif.org/ver10/deviceIO/wsdl}DigitalInputs")]


def test_a_valid_mapping_is_applied_live_without_touching_unchanged_links(tmp_path):
    with two_panel_site(tmp_path) as (g, remap):
        pp = create_pull_point(g)
        pull_until(pp, lambda got: has(got, "DigitalInput", "Initialized", InputToken="Door", LogicalState="true")
                   and has(got, "DigitalInput", "Initialized", InputToken="Window", LogicalState="true")
                   and has(got, "ControllerLink", None, Controller="b", Connected="true"))

        # a: Door inverted (an engine setting: a's link is the same); b: Window goes, Hall comes.
        remap(door_invert=True, window=False, hall=True)
        g.proc.send_signal(signal.SIGHUP)
        log = wait_log(g, "SIGHUP: reloaded")
        assert "links started: b; stopped: b" in log, log
        got = pull_until(pp, lambda got: has(got, "DigitalInput", "Initialized", InputToken="Hall", LogicalState="true"))
        assert has(got, "DigitalInput", "Deleted", InputToken="Window"), got
        assert has(got, "DigitalInput", "Changed", InputToken="Door", LogicalState="false"), got
        assert has(got, "ControllerLink", "Changed", Controller="b", Connected="false",
                   Reason="restarted by a reload"), got
        assert has(got, "ControllerLink", "Changed", Controller="b", Connected="true"), got
        assert not any(m["source"].get("Controller") == "a" for m in got), "a's link was not touched"
        order = [i for i, m in enumerate(got) if m["source"].get("InputToken") in ("Window", "Hall")]
        assert got[order[0]]["op"] == "Deleted", "the removed input goes before the new one comes"
        assert len(re.findall(r"owner: link up controller=a\b", g.log())) == 1, g.log()
        assert len(re.findall(r"owner: link up controller=b\b", g.log())) == 2, g.log()

        tokens = input_tokens(g)
        assert tokens == ["Door", "Hall"], tokens
        # A new subscriber's Initialized messages: the new mapping's, no Window.
        fresh = pull_until(create_pull_point(g), lambda got: has(got, "DigitalInput", "Initialized", InputToken="Hall"))
        assert not any(m["source"].get("InputToken") == "Window" for m in fresh), fresh

        # A section read only at start: named for a restart, the mapping still runs.
        g.config_path.write_text("mapping: site.yaml\ndevice: {location: hall-7}\n")
        g.proc.send_signal(signal.SIGHUP)
        log = wait_log(g, "restart railgate to apply them")
        assert re.search(r"sections=device\b", log), log
        assert pull(pp).status_code == 200


def test_a_reload_turns_the_metrics_listener_on_moves_it_and_turns_it_off(tmp_path):
    import requests
    (tmp_path / "site.yaml").write_text(MAPPING)
    g = Gateway(tmp_path, config="mapping: site.yaml\n").start()
    first, second = free_port(), free_port()

    def status(port: int):
        try:
            return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).status_code
        except requests.ConnectionError:
            return None

    def reload_with(config: str, logged: str, count: int):
        g.config_path.write_text(config)
        g.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while g.log().count(logged) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert g.log().count(logged) >= count, g.log()

    try:
        assert status(first) is None
        pp = create_pull_point(g)
        reload_with(f"mapping: site.yaml\nmetrics: {{listen: ['127.0.0.1:{first}']}}\n",
                    f"serving metrics at http://127.0.0.1:{first}/metrics", 1)
        assert status(first) == 200
        assert requests.get(f"http://127.0.0.1:{first}/status.json", timeout=2).json()["points"]
        reload_with(f"mapping: site.yaml\nmetrics: {{listen: ['127.0.0.1:{second}']}}\n",
                    f"serving metrics at http://127.0.0.1:{second}/metrics", 1)
        assert status(second) == 200
        assert status(first) is None, "the old address is closed"
        # A port another program holds: refused whole, the listener stays where it was.
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            busy = taken.getsockname()[1]
            reload_with(f"mapping: site.yaml\nmetrics: {{listen: ['127.0.0.1:{busy}']}}\n",
                        "SIGHUP: the metrics listener is unchanged", 1)
            assert status(second) == 200
        reload_with("mapping: site.yaml\n", "SIGHUP: the metrics listener is off", 1)
        assert status(second) is None
        assert "restart railgate to apply them" not in g.log(), "metrics changes need no restart"
        assert pull(pp).status_code == 200
    finally:
        assert g.stop() == 0, g.log()


def test_a_reload_applies_the_security_settings_to_the_next_request(tmp_path):
    from conftest import fault_codes, username_token
    (tmp_path / "site.yaml").write_text(MAPPING)
    g = Gateway(tmp_path, config="mapping: site.yaml\n").start()
    text = lambda: soap(g.url, "<tds:GetDeviceInformation/>",  # noqa: E731
                        header=username_token(*ADMIN, digest=False))
    try:
        pp = create_pull_point(g)
        assert fault_codes(text()) == ["env:Sender", "ter:NotAuthorized"], "PasswordText is off by default"
        g.config_path.write_text("mapping: site.yaml\nsecurity: {allow_password_text: true}\n")
        g.proc.send_signal(signal.SIGHUP)
        wait_log(g, "SIGHUP: the security settings are applied")
        assert text().status_code == 200, "an old VMS that sends PasswordText is let in now"
        assert "restart railgate to apply them" not in g.log()
        # A key read only at start is named (and named again at the next reload).
        g.config_path.write_text("mapping: site.yaml\nsecurity: {allow_password_text: true, realm: site-7}\n")
        g.proc.send_signal(signal.SIGHUP)
        log = wait_log(g, "restart railgate to apply them")
        assert "sections=security.realm" in log, log
        r = requests_digest(g.url)
        assert 'realm="railgate"' in r.headers["WWW-Authenticate"], "the realm stays until a restart"
        assert text().status_code == 200
        assert pull(pp).status_code == 200
    finally:
        assert g.stop() == 0, g.log()


def requests_digest(url: str):
    """An unauthenticated request: the 401 with the challenge."""
    import requests
    from conftest import envelope
    return requests.post(url, data=envelope("<tds:GetDeviceInformation/>").encode(),
                         headers={"Content-Type": "application/soap+xml; charset=utf-8"}, timeout=10)


def test_a_reload_applies_new_subscription_limits_and_names_the_store_bounds(tmp_path):
    (tmp_path / "site.yaml").write_text(MAPPING)
    g = Gateway(tmp_path, config="mapping: site.yaml\n").start()
    try:
        first, second = create_pull_point(g), create_pull_point(g)
        g.config_path.write_text("mapping: site.yaml\nevents: {max_pull_points: 2, retention_days: 7}\n")
        g.proc.send_signal(signal.SIGHUP)
        log = wait_log(g, "restart railgate to apply them")
        assert "SIGHUP: the subscription limits and consumer networks are applied" in log
        assert "sections=events.retention_days" in log, log
        r = soap(g.endpoint("event_service"), "<tev:CreatePullPointSubscription/>", auth=ADMIN)
        assert r.status_code != 200, "a third pull point is over the new limit"
        # Those already there stay, and pull.
        assert pull(first).status_code == 200 and pull(second).status_code == 200
        g.config_path.write_text("mapping: site.yaml\nevents: {max_pull_points: 3}\n")
        g.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while g.log().count("consumer networks are applied") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        create_pull_point(g)
    finally:
        assert g.stop() == 0, g.log()


def test_a_storm_of_reloads_ends_on_the_last_file_with_subscriptions_intact(tmp_path):
    with two_panel_site(tmp_path) as (g, remap):
        pp = create_pull_point(g)
        for i in range(30):
            remap(door_invert=bool(i % 2), window=not (i % 3), hall=bool(i % 2))
            g.proc.send_signal(signal.SIGHUP)
            time.sleep(0.01)
        remap(door_invert=True, window=False, hall=True)
        g.proc.send_signal(signal.SIGHUP)
        # The last file wins: Door inverted (contact closed: inactive), Hall read.
        got = pull_until(pp, lambda got: has(got, "DigitalInput", None, InputToken="Hall", LogicalState="true"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            tokens = input_tokens(g)
            if tokens == ["Door", "Hall"]:
                break
            time.sleep(0.1)
        assert tokens == ["Door", "Hall"], tokens
        assert g.proc.poll() is None
        assert " ERROR " not in g.log(), g.log()
        assert pull(pp).status_code == 200, "the pull point lived through every reload"
        assert got
