"""The event store on a full disk: the gateway's data folder is a 24 MiB tmpfs mounted in a
private mount namespace (`unshare -rm`; skipped where that is not allowed), which the test
fills with a file through /proc/<pid>/root. Shown against the real binary:

- raisers get the typed "disk full" error, and the gateway keeps serving (SOAP requests,
  PullMessages);
- rg:Monitoring/EventStorage says Full (stored in the room the released reserve file leaves)
  and, once the filler is deleted, Ok with the count of refused events: the store recovers by
  itself, without a restart, and recreates its reserve;
- every event acknowledged before, during and after the outage is in the file, which passes
  PRAGMA integrity_check (read from a copy the namespace's shell makes after the gateway exits).
"""

import errno
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ADMIN, Gateway, binary, create_pull_point, messages, pull, soap

RG = "urn:railgate:topics"
STORAGE = "tnsx:Monitoring/EventStorage"
BURST = 50
PAD = "x" * 2000
CONFIG = "events:\n  max_wal_mib: 4\n  max_store_mib: 0\n"

SCRIPT = r"""
mount -t tmpfs -o size=24m,mode=0700 tmpfs "$MNT" || exit 97
"$@" &
echo $! > "$PIDFILE"
wait $!
rc=$?
cp -a "$MNT/data" "$COPY/"
exit $rc
"""


def unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class Source:
    """The test event source, answering each line with `ok <seq>` or `error <why>`."""

    def __init__(self, path: Path):
        deadline = time.monotonic() + 10
        while not path.exists():
            assert time.monotonic() < deadline, f"{path} never appeared: is the binary built with test-events?"
            time.sleep(0.05)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(path))
        self.reader = self.sock.makefile("r")

    def burst(self, i: int) -> str:
        line = {"burst": BURST, "topic": "Test/Full", "source": {"Burst": str(i)}, "data": {"Pad": PAD}}
        self.sock.sendall((json.dumps(line) + "\n").encode())
        return self.reader.readline().strip()


def storage_events(address: str) -> list[dict]:
    return [m for m in messages(pull(address)) if m["topic"] == STORAGE]


def pull_until(address: str, want, timeout: float = 20.0) -> list[dict]:
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got += storage_events(address)
        if want(got):
            return got
        time.sleep(0.2)
    raise AssertionError(f"not seen within {timeout} s: {got}")


def fill(path: Path) -> int:
    """Writes `path` until the file system is full; returns the bytes written."""
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 64 << 10, 4 << 10, 512):
            chunk = b"\0" * size
            while True:
                try:
                    n = os.write(fd, chunk)
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    break
                written += n
                if n < size:
                    break
    finally:
        os.close(fd)
    return written


@pytest.mark.skipif(not unshare_works(), reason="needs unshare -rm and tmpfs mounts")
def test_a_full_disk_is_survived_reported_and_recovered_from_with_nothing_acknowledged_lost(tmp_path):
    mnt, copy = tmp_path / "mnt", tmp_path / "copy"
    mnt.mkdir()
    copy.mkdir()
    pidfile = tmp_path / "railgate.pid"
    sock = tmp_path / "events.sock"
    g = Gateway(tmp_path, config=CONFIG, env={"RAILGATE_TEST_EVENTS": str(sock)})
    log = open(g.log_path, "ab")
    g.proc = subprocess.Popen(
        ["unshare", "-rm", "sh", "-c", SCRIPT, "sh",
         str(binary()), "--config", str(g.config_path), "--data-dir", str(mnt / "data"),
         "--listen", "127.0.0.1:0", "--discovery-interfaces", "off", "--log-level", "info,railgate=debug"],
        stdout=log, stderr=log, cwd=tmp_path,
        env={**g.env, "MNT": str(mnt), "PIDFILE": str(pidfile), "COPY": str(copy)},
    )
    try:
        deadline = time.monotonic() + 15
        while g.port is None:
            assert time.monotonic() < deadline, g.log()
            assert g.proc.poll() is None, g.log()
            found = [line for line in g.log().splitlines() if "serving ONVIF at http://" in line]
            if found:
                g.port = int(found[-1].split("/onvif")[0].rsplit(":", 1)[1])
            time.sleep(0.05)
        # unshare may fork: the gateway's own /proc entry sees its mount namespace.
        inside = Path(f"/proc/{int(pidfile.read_text())}/root") / str(mnt).lstrip("/")
        data = inside / "data"
        assert (data / "events.reserve").stat().st_size == 512 * 1024, "reserve file at start"
        address = create_pull_point(
            g, f'<wsnt:TopicExpression Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet" '
               f'xmlns:rg="{RG}">rg:Monitoring/EventStorage</wsnt:TopicExpression>', termination="PT600S")
        first = pull_until(address, lambda ms: ms)
        assert first[0]["data"] == {"State": "Ok", "Refused": "0"}, first
        assert first[0]["source"] == {"Store": "events"}

        source = Source(sock)
        acked: list[int] = []
        i = 0
        for _ in range(5):
            assert source.burst(i).startswith("ok"), "bursts are stored before the disk fills"
            acked.append(i)
            i += 1

        # Fill the file system, then raise until the store meets it.
        filler = inside / "filler"
        fill(filler)
        refusal = None
        for _ in range(2000):
            reply = source.burst(i)
            if reply.startswith("ok"):
                acked.append(i)
            else:
                refusal = reply
                break
            i += 1
        assert refusal is not None, "the disk never filled"
        assert refusal.startswith("error") and "disk full" in refusal, refusal
        i += 1
        deadline = time.monotonic() + 5
        while "released_reserve=true" not in g.log():
            assert time.monotonic() < deadline, "the reserve is released when the outage starts"
            time.sleep(0.05)

        # The gateway keeps serving, and says the store is full (stored in the reserve's room).
        r = soap(g.url, "<tds:GetSystemDateAndTime/>", auth=ADMIN)
        assert r.status_code == 200, r.text
        full = pull_until(address, lambda ms: any(m["data"]["State"] == "Full" for m in ms))
        assert [m["data"]["State"] for m in full] == ["Full"], full
        assert int(full[0]["data"]["Refused"]) >= 1
        assert full[0]["op"] == "Changed"

        # Take the room the reserve left too; later raisers are refused, typed and fast.
        filler2 = inside / "filler2"
        fill(filler2)
        started = time.monotonic()
        for _ in range(20):
            reply = source.burst(i)
            assert reply.startswith("error") and "disk full" in reply, reply
            i += 1
        assert time.monotonic() - started < 5, "refusals do not wait for the disk"
        assert not (data / "events.reserve").exists(), "no reserve while the disk is full"

        # Space returns: the store recovers by itself (retries at most 4 s apart).
        filler.unlink()
        filler2.unlink()
        recovered_at = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            reply = source.burst(i)
            if reply.startswith("ok"):
                acked.append(i)
                recovered_at = i
                i += 1
                break
            assert "disk full" in reply, reply
            i += 1
            time.sleep(0.1)
        assert recovered_at is not None, "the store did not recover\n" + g.log()[-3000:]
        ok = pull_until(address, lambda ms: any(m["data"]["State"] == "Ok" for m in ms))
        assert [m["data"]["State"] for m in ok] == ["Ok"], ok
        assert int(ok[0]["data"]["Refused"]) >= 20 * BURST, ok
        for _ in range(5):
            assert source.burst(i).startswith("ok")
            acked.append(i)
            i += 1
        deadline = time.monotonic() + 10
        while not (data / "events.reserve").exists():
            assert time.monotonic() < deadline, "the reserve is recreated after recovery"
            time.sleep(0.1)
        source.sock.close()
        log_text = g.log()
        assert log_text.count("the disk is full") == 1, "one line when the outage starts"
        assert log_text.count("space is back") == 1, "one when it ends"
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
        g.proc.wait(30)
    assert g.proc.returncode == 0, g.log()[-3000:]

    db = sqlite3.connect(f"file:{copy / 'data' / 'events.db'}?mode=ro", uri=True)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    by_burst: dict[str, list[int]] = {}
    for source_json, data_json in db.execute("SELECT source, data FROM events WHERE topic = 'Test/Full' ORDER BY seq"):
        burst = {x["Simple"]["name"]: x["Simple"]["value"] for x in json.loads(source_json)}["Burst"]
        index = {x["Simple"]["name"]: x["Simple"]["value"] for x in json.loads(data_json)}["Index"]
        by_burst.setdefault(burst, []).append(int(index))
    print(f"acknowledged bursts: {len(acked)} of {i}, recovered at burst {recovered_at}")
    for b in acked:
        assert by_burst.get(str(b)) == list(range(BURST)), f"acknowledged burst {b} lost events"
    states = [json.loads(d)[0]["Simple"]["value"] for (d,) in
              db.execute("SELECT data FROM events WHERE topic = 'Monitoring/EventStorage' ORDER BY seq")]
    assert states == ["Ok", "Full", "Ok"], states
