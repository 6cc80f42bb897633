"""A hard kill (SIGKILL) during a burst of events loses no acknowledged event: after a
restart every event acknowledged before the kill is in the real SQLite file, in order, and
the file passes PRAGMA integrity_check."""

import json
import signal
import socket
import sqlite3
import subprocess
import threading
import time

from conftest import binary, event_gateway

BURST = 400


def test_sigkill_during_a_burst_loses_no_acknowledged_event(tmp_path):
    g, source = event_gateway(tmp_path)
    g.start()
    source.connect()
    acked: list[int] = []
    stop = threading.Event()

    def burst_forever():
        i = 0
        while not stop.is_set():
            try:
                source.send({"burst": BURST, "topic": "Test/Burst", "source": {"Burst": str(i)}})
            except (OSError, AssertionError, ValueError):
                return  # the gateway was killed mid-burst
            acked.append(i)
            i += 1

    t = threading.Thread(target=burst_forever)
    t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(acked) >= 5, "bursts are acknowledged"
    g.proc.send_signal(signal.SIGKILL)
    g.proc.wait(10)
    stop.set()
    t.join(10)
    source.close()
    assert g.proc.returncode == -signal.SIGKILL

    # Restart: the store recovers its write-ahead log; then stop cleanly and read the file.
    g.start()
    assert g.stop() == 0
    db = sqlite3.connect(f"file:{g.data / 'events.db'}?mode=ro", uri=True)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT seq, source, data FROM events WHERE topic = 'Test/Burst' ORDER BY seq").fetchall()
    by_burst: dict[str, list[int]] = {}
    for seq, source_json, data_json in rows:
        burst = {i["Simple"]["name"]: i["Simple"]["value"] for i in json.loads(source_json)}["Burst"]
        index = {i["Simple"]["name"]: i["Simple"]["value"] for i in json.loads(data_json)}["Index"]
        by_burst.setdefault(burst, []).append(int(index))
    print(f"acknowledged bursts: {len(acked)}, stored Test/Burst rows: {len(rows)}")
    for burst in acked:
        assert by_burst.get(str(burst)) == list(range(BURST)), f"burst {burst} lost events or order"
    seqs = [r[0] for r in rows]
    assert seqs == sorted(set(seqs)), "sequence numbers strictly increase"
    # The events command reads the same file.
    out = subprocess.run([binary(), "--data-dir", g.data, "events", "--topic", "Test/Burst", "--limit", "3"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == 3 and all("tns1:Test/Burst" in line for line in out)
