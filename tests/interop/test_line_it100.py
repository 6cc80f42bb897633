"""The line-protocol adapter against a simulated DSC IT-100 (tests/interop/it100_sim.py) on the
far end of a socat pty pair, driving the real binary with the shipped example mapping
(deploy/examples/it100-panel/it100-panel.yaml, protocol: dsc-it100) pointed at the pty, the
shipped profile mappings/profiles/dsc-it100.yaml copied beside it with supervision shortened.

- 800 (battery trouble) is a plain panel:Panel/Trouble event with Code=800, 601 a
  panel:Zone/Alarm event with Partition and Zone;
- partition 1's state is a property (panel:Partition/State, State text): absent until the
  panel reports, Initialized on 656 (exit_delay), Changed on 652 (armed_away) and 655;
- on connecting, the gateway sends the 001 status request;
- an open zone (609) is Zone1 LogicalState true, a restore (610) false (PullMessages);
- SendAuxiliaryCommand Arm|Partition1 writes 0301C4 CR LF; Disarm|Partition1 writes
  040 + partition + code padded to 6 + checksum, and a 502 answer makes it a fault;
- SetRelayOutputState PGM1 active sends 020 11 + checksum;
- the panel going silent: rg:Monitoring/ControllerLink Connected=false; back: true.
Every response is validated (conftest.soap)."""

import time

from conftest import (ADMIN, ROOT, Gateway, create_pull_point, fault_codes, messages, pull, soap,
                      socat_pty_pair)
from it100_sim import It100Sim, frame

EXAMPLE = ROOT / "deploy" / "examples" / "it100-panel" / "it100-panel.yaml"
PROFILE = ROOT / "mappings" / "profiles" / "dsc-it100.yaml"


def wait_message(address: str, pred, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        for m in messages(pull(address, "PT1S")):
            seen.append(m)
            if pred(m):
                return m
    raise AssertionError(f"no such message in {timeout} s; saw {seen}")


def wait_log(g: Gateway, text: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in g.log():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in the log:\n{g.log()}")


def aux(g: Gateway, command: str):
    return soap(g.url, f"<tds:SendAuxiliaryCommand><tds:AuxiliaryCommand>{command}</tds:AuxiliaryCommand>"
                       "</tds:SendAuxiliaryCommand>", auth=ADMIN)


def test_it100_zones_commands_relay_and_supervision(tmp_path):
    with socat_pty_pair(tmp_path) as (panel_end, gateway_end):
        mapping = EXAMPLE.read_text().replace("/dev/ttyUSB0", str(gateway_end))
        assert str(gateway_end) in mapping and "protocol: dsc-it100" in mapping
        (tmp_path / "it100-panel.yaml").write_text(mapping)
        # The built-in profile, supervision shortened, as a site-local profile (which wins).
        profile = PROFILE.read_text().replace("every: 30s, silence: 75s", "every: 500ms, silence: 2s")
        assert "every: 500ms" in profile
        (tmp_path / "profiles").mkdir()
        (tmp_path / "profiles" / "dsc-it100.yaml").write_text(profile)
        sim = It100Sim(panel_end)
        g = Gateway(tmp_path, config="mapping: it100-panel.yaml\n", env={"RAILGATE_IT100_CODE": "1234"}).start()
        try:
            wait_log(g, "line link up")
            address = create_pull_point(g)
            # On connecting, the status request (001) so that every state is reported again.
            deadline = time.monotonic() + 5
            while not sim.commands() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert sim.commands()[:1] == ["00191"] and frame("001") == b"00191\r\n", sim.received

            # Zones.
            sim.send("609001")
            m = wait_message(address, lambda m: m["topic"].endswith("DigitalInput")
                             and m["source"].get("InputToken") == "Zone1" and m["data"].get("LogicalState") == "true")
            assert m["op"] in ("Initialized", "Changed"), m
            sim.send("610001")
            wait_message(address, lambda m: m["topic"].endswith("DigitalInput")
                         and m["source"].get("InputToken") == "Zone1" and m["data"].get("LogicalState") == "false")

            # Partition state: nothing until the panel reports; 656 exit delay, then 652 armed away.
            assert not [m for m in messages(pull(address, "PT1S")) if m["topic"].endswith("Partition/State")]
            sim.send("6561")
            m = wait_message(address, lambda m: m["topic"].endswith("Partition/State"))
            assert m == {**m, "op": "Initialized", "source": {"Partition": "1"}, "data": {"State": "exit_delay"}}, m
            sim.send("65210")
            m = wait_message(address, lambda m: m["topic"].endswith("Partition/State"))
            assert (m["op"], m["data"]) == ("Changed", {"State": "armed_away"}), m
            sim.send("6551")
            m = wait_message(address, lambda m: m["topic"].endswith("Partition/State"))
            assert (m["op"], m["data"]) == ("Changed", {"State": "disarmed"}), m

            # Trouble and zone alarm frames: plain events with their items.
            sim.send("800")
            m = wait_message(address, lambda m: m["topic"].endswith("Panel/Trouble"))
            assert m["data"] == {"Code": "800"} and m["source"] == {"Panel": "it100"} and m["op"] is None, m
            sim.send("6011003")
            m = wait_message(address, lambda m: m["topic"].endswith("Zone/Alarm"))
            assert m["data"] == {"Partition": "1", "Zone": "003"}, m

            # Arm: the exact frame, acknowledged.
            r = aux(g, "Arm|Partition1")
            assert r.status_code == 200, r.text
            assert sim.commands()[-1] + "\r\n" == frame("0301").decode() == "0301C4\r\n"

            # Disarm with a 502 answer: a fault.
            sim.next_answer = "502020"
            r = aux(g, "Disarm|Partition1")
            assert r.status_code != 200, r.text
            assert fault_codes(r), r.text
            assert sim.commands()[-1] + "\r\n" == frame("0401123400").decode()
            assert "123400" not in g.log(), "the disarm code was logged"
            assert "refused the write" in r.text, r.text

            # PGM1: 020, partition 1, output 1.
            r = soap(g.url, "<tds:SetRelayOutputState><tds:RelayOutputToken>PGM1</tds:RelayOutputToken>"
                            "<tds:LogicalState>active</tds:LogicalState></tds:SetRelayOutputState>", auth=ADMIN)
            assert r.status_code == 200, r.text
            assert frame("02011").decode() in [c + "\r\n" for c in sim.commands()], sim.commands()

            # Silence: the link goes down; answers again: up.
            sim.silent = True
            wait_message(address, lambda m: m["topic"].endswith("Monitoring/ControllerLink")
                         and m["data"].get("Connected") == "false", timeout=15)
            sim.silent = False
            wait_message(address, lambda m: m["topic"].endswith("Monitoring/ControllerLink")
                         and m["data"].get("Connected") == "true", timeout=15)
            assert g.stop() == 0, g.log()
        finally:
            if g.proc and g.proc.poll() is None:
                g.stop()
            sim.close()
