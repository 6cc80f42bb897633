"""An event storm against the real binary with a small WAL bound (max_wal_mib 4): four raisers
queue bursts of ~2 KB events back to back. The write-ahead log stays under its bound (sampled
from outside every few milliseconds) while the log restarts again and again; then a hard kill
(SIGKILL) in the middle of the storm loses no acknowledged event: after a restart every event
acknowledged before the kill is in the file, in order, and the file passes integrity_check."""

import json
import signal
import socket
import sqlite3
import threading
import time

from conftest import event_gateway

BURST = 100
PAD = "y" * 2000
RAISERS = 4
MIB = 1024 * 1024


def raiser(path, n: int, acked: list, stop: threading.Event):
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(path))
    reader = s.makefile("r")
    i = 0
    try:
        while not stop.is_set():
            line = {"burst": BURST, "topic": "Test/Storm", "source": {"Raiser": str(n), "Burst": str(i)},
                    "data": {"Pad": PAD}}
            try:
                s.sendall((json.dumps(line) + "\n").encode())
                reply = reader.readline().strip()
            except OSError:
                return  # killed mid-burst
            if not reply.startswith("ok"):
                return  # killed: the connection closed (empty reply)
            acked.append((n, i))
            i += 1
    finally:
        s.close()


def test_a_storm_keeps_the_wal_bounded_and_sigkill_loses_no_acknowledged_event(tmp_path):
    g, source = event_gateway(tmp_path, config="events:\n  max_wal_mib: 4\n  max_store_mib: 0\n")
    g.start()
    source.connect()  # waits for the socket
    source.close()
    wal = g.data / "events.db-wal"
    acked: list[tuple[int, int]] = []
    stop = threading.Event()
    threads = [threading.Thread(target=raiser, args=(source.path, n, acked, stop)) for n in range(RAISERS)]
    for t in threads:
        t.start()
    largest = 0
    deadline = time.monotonic() + 90
    while g.log().count("event store: WAL restarted") < 10:
        assert time.monotonic() < deadline, "the WAL never restarted\n" + g.log()[-2000:]
        largest = max(largest, wal.stat().st_size if wal.exists() else 0)
        time.sleep(0.002)
    before_kill = len(acked)
    g.proc.send_signal(signal.SIGKILL)
    g.proc.wait(10)
    stop.set()
    for t in threads:
        t.join(10)
    assert g.proc.returncode == -signal.SIGKILL
    print(f"largest WAL sampled: {largest / MIB:.2f} MiB, bursts acknowledged: {len(acked)}")
    assert before_kill >= 20, "the storm ran"
    assert 0 < largest <= 4 * MIB, f"WAL reached {largest} bytes"

    g.start()
    assert g.stop() == 0
    db = sqlite3.connect(f"file:{g.data / 'events.db'}?mode=ro", uri=True)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored: dict[tuple[str, str], list[int]] = {}
    seqs = []
    for seq, source_json, data_json in db.execute(
            "SELECT seq, source, data FROM events WHERE topic = 'Test/Storm' ORDER BY seq"):
        src = {i["Simple"]["name"]: i["Simple"]["value"] for i in json.loads(source_json)}
        index = {i["Simple"]["name"]: i["Simple"]["value"] for i in json.loads(data_json)}["Index"]
        stored.setdefault((src["Raiser"], src["Burst"]), []).append(int(index))
        seqs.append(seq)
    for n, i in acked:
        assert stored.get((str(n), str(i))) == list(range(BURST)), f"burst {i} of raiser {n} lost events or order"
    assert seqs == sorted(set(seqs)), "sequence numbers strictly increase"
