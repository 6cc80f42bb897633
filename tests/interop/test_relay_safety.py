"""A door strike must not stay energised: the real binary drives a monostable relay on coil 7
of pymodbus's server (adapters/tests/peers/modbus_server.py) over Modbus TCP.

- The link is lost 0.3 s into a 2 s pulse (the peer frozen with SIGSTOP, resumed 5 s later):
  the fall-back is owed, written first once the link is back, and the late fall-back event
  (`rg:Device/Trigger/RelayFallBackDelayed`) reaches a real PullMessages and validates.
- SIGINT and SIGTERM during a pulse (SIGHUP is the reload: it stops nothing): the gateway logs the signal, releases the relay
  and exits 0.
- A panic (the test build's event source asked to panic): the same shutdown, then exit 70."""

import signal
import time

import pytest

from conftest import OPERATOR, Gateway, ModbusPeer, add_users, create_pull_point, event_gateway, messages, pull, soap

LATE_TOPIC = "Device/Trigger/RelayFallBackDelayed"
RG = "urn:railgate:topics"


def Peer() -> ModbusPeer:
    """pymodbus's server; every write it accepts is reported with its arrival time."""
    return ModbusPeer.tcp()


COIL_ON = {"fc": 5, "address": 7, "values": [1]}
COIL_OFF = {"fc": 5, "address": 7, "values": [0]}


MAPPING = """\
controllers:
  - name: doors
    modbus_tcp: {{host: 127.0.0.1, port: {port}}}
    unit: 1
    address_base: 0
    poll_interval: 50ms
    backoff: {{initial: 200ms, max: 1s}}
relays:
  - {{token: Strike, coil: 7, mode: monostable, delay: {delay}}}
"""


def start(tmp_path, peer: Peer, delay: str) -> Gateway:
    (tmp_path / "site.yaml").write_text(MAPPING.format(port=peer.port, delay=delay))
    g = Gateway(tmp_path, config="mapping: site.yaml\n").start()
    add_users(g)
    wait_log(g, "link up controller=doors", 15)
    return g


def wait_log(g: Gateway, text: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in g.log():
        assert time.monotonic() < deadline, f"{text!r} not in the log:\n{g.log()}"
        time.sleep(0.05)


def set_strike(g: Gateway, state: str = "active"):
    r = soap(g.url, "<tds:SetRelayOutputState><tds:RelayOutputToken>Strike</tds:RelayOutputToken>"
                    f"<tds:LogicalState>{state}</tds:LogicalState></tds:SetRelayOutputState>", auth=OPERATOR)
    assert r.status_code == 200, r.text


def test_a_fall_back_lost_with_the_link_is_written_first_when_it_is_back_and_reported(tmp_path):
    peer = Peer()
    try:
        g = start(tmp_path, peer, "2s")
        try:
            # The topic is declared (the response validates: soap() checks it).
            r = soap(g.endpoint("event_service"), "<tev:GetEventProperties/>", auth=OPERATOR)
            assert r.status_code == 200, r.text
            assert "RelayFallBackDelayed" in r.text and RG in r.text, r.text
            address = create_pull_point(g, "", "PT120S")

            set_strike(g)
            activated, _ = peer.wait_for(COIL_ON, 10)
            time.sleep(max(0.0, activated + 0.3 - time.monotonic()))
            peer.proc.send_signal(signal.SIGSTOP)
            stopped = time.monotonic()
            wait_log(g, "link down controller=doors", 15)
            time.sleep(max(0.0, stopped + 5 - time.monotonic()))
            assert "monostable relay did not fall back" in g.log(), g.log()
            assert all(w != COIL_OFF for w in peer.seen)
            link_downs = g.log().count("link up controller=doors")
            peer.proc.send_signal(signal.SIGCONT)

            # Generous: the adapter reconnects with backoff (at most 1 s here).
            released, _ = peer.wait_for(COIL_OFF, 20)
            wait_log(g, "monostable relay confirmed inactive after a delayed fall-back", 10)
            # Nothing was written between the activation and the owed release.
            assert peer.seen[-1] == COIL_OFF and peer.seen.count(COIL_ON) == 1, peer.seen
            assert released - stopped >= 5
            assert g.log().count("link up controller=doors") > link_downs, g.log()

            late = []
            deadline = time.monotonic() + 15
            while not late:
                assert time.monotonic() < deadline, f"no late fall-back event:\n{g.log()}"
                late = [m for m in messages(pull(address, "PT2S")) if m["topic"].endswith(LATE_TOPIC)]
            m = late[0]
            assert m["op"] is None, m
            assert m["source"] == {"RelayToken": "Strike"}, m
            assert set(m["data"]) == {"Late", "Attempts", "Reason"}, m
            assert m["data"]["Late"].startswith("PT") and m["data"]["Late"].endswith("S"), m
            assert float(m["data"]["Late"][2:-1]) >= 2.5, m
            assert int(m["data"]["Attempts"]) >= 2, m
            assert g.stop() == 0, g.log()
        finally:
            if g.proc.poll() is None:
                g.stop()
    finally:
        peer.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_during_a_pulse_releases_the_relay_and_exits_cleanly(tmp_path, sig):
    peer = Peer()
    try:
        g = start(tmp_path, peer, "60s")
        try:
            set_strike(g)
            peer.wait_for(COIL_ON, 10)
            g.proc.send_signal(sig)
            code = g.proc.wait(30)
            assert code == 0, g.log()
            log = g.log()
            said = f"{sig.name}: shutting down"
            assert said in log, log
            assert "stopping: monostable relay returns to inactive now relay=Strike" in log, log
            # The release reached the panel before the process ended.
            peer.wait_for(COIL_OFF, 5)
        finally:
            if g.proc.poll() is None:
                g.stop()
    finally:
        peer.close()


def test_a_panic_releases_the_relay_then_exits_non_zero(tmp_path):
    peer = Peer()
    try:
        (tmp_path / "site.yaml").write_text(MAPPING.format(port=peer.port, delay="60s"))
        g, source = event_gateway(tmp_path, config="mapping: site.yaml\n")
        g.start()
        try:
            add_users(g)
            wait_log(g, "link up controller=doors", 15)
            set_strike(g)
            peer.wait_for(COIL_ON, 10)
            source.connect()
            source.sock.sendall(b'{"panic": "on purpose"}\n')
            code = g.proc.wait(30)
            log = g.log()
            assert code == 70, log
            assert "fatal error: shutting down" in log and "on purpose" in log, log
            assert "stopping: monostable relay returns to inactive now relay=Strike" in log, log
            peer.wait_for(COIL_OFF, 5)
        finally:
            source.close()
            if g.proc.poll() is None:
                g.stop()
    finally:
        peer.close()
