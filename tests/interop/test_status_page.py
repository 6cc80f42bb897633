"""The live status page on the metrics listener, in headless Chromium (Debian's chromium, driven
over the DevTools protocol): against the real binary and a pymodbus peer, the page shows
identity, the link up, every point with value, raw reading and quality; a register the panel
changes is on the page within a second of the change; a screenshot is kept as an artifact
(target/test-artifacts/status-page.png). `railgate points` prints the same table.

Chromium stays on loopback: every host name but 127.0.0.1 resolves to nothing
(--host-resolver-rules) and its background services are off."""

import asyncio
import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
import requests
from pymodbus.client import ModbusTcpClient

from conftest import ROOT, Gateway, binary, free_port
from test_link_state import Peer

ARTIFACTS = ROOT / "target" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def start(tmp_path: Path, port: int, metrics: int) -> Gateway:
    (tmp_path / "site.yaml").write_text(f"""\
controllers:
  - name: panel
    modbus_tcp: {{host: 127.0.0.1, port: {port}}}
    unit: 1
    address_base: 0
    poll_interval: 50ms
    timeout: 300ms
    retries: 0
inputs:
  - {{token: Door, discrete_input: 1000}}
values:
  - {{name: Battery, holding_register: 60, type: u16, unit: '%', topic: 'tns1:Monitoring/BatteryCapacity'}}
""")
    return Gateway(tmp_path, config=f"mapping: site.yaml\nmetrics:\n  listen: [127.0.0.1:{metrics}]\n").start()


def status(metrics: int) -> dict:
    r = requests.get(f"http://127.0.0.1:{metrics}/status.json", timeout=5)
    assert r.status_code == 200
    return r.json()


def wait_for(pred, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("not within %s s" % timeout)


def battery(s: dict) -> dict:
    return next(p for p in s["points"] if p["name"] == "Battery")


class Browser:
    """Headless Chromium with one page, driven through the DevTools protocol."""

    def __init__(self, workdir: Path):
        self.profile = tempfile.mkdtemp(dir=workdir)
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--disable-domain-reliability", "--disable-extensions",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             "--window-size=1280,900", f"--user-data-dir={self.profile}",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.port = None
        for line in self.proc.stderr:
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
                break
        assert self.port, "chromium did not start its DevTools endpoint"
        self.ids = 0

    async def connect(self, session: aiohttp.ClientSession):
        async with session.get(f"http://127.0.0.1:{self.port}/json/list") as r:
            pages = [t for t in await r.json() if t["type"] == "page"]
        self.ws = await session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)

    async def call(self, method: str, **params):
        self.ids += 1
        await self.ws.send_str(json.dumps({"id": self.ids, "method": method, "params": params}))
        while True:
            msg = json.loads((await self.ws.receive()).data)
            if msg.get("id") == self.ids:
                assert "error" not in msg, msg
                return msg["result"]

    async def text(self, selector: str) -> str | None:
        expr = f"(e => e ? e.textContent : null)(document.querySelector({json.dumps(selector)}))"
        r = await self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        return r["result"].get("value")

    def close(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def test_the_page_shows_a_panel_change_within_a_second(tmp_path):
    assert CHROMIUM, "needs Debian's chromium (tests/run installs it)"
    port, metrics = free_port(), free_port()
    peer = Peer(port)
    g = start(tmp_path, port, metrics)
    browser = Browser(tmp_path)
    modbus = ModbusTcpClient("127.0.0.1", port=port)
    try:
        wait_for(lambda: battery(status(metrics))["quality"] == "good")
        page = requests.get(f"http://127.0.0.1:{metrics}/", timeout=5)
        assert page.headers["Content-Type"].startswith("text/html")
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]

        async def flow():
            async with aiohttp.ClientSession() as session:
                await browser.connect(session)
                await browser.call("Runtime.enable")
                await browser.call("Page.navigate", url=f"http://127.0.0.1:{metrics}/")
                row = 'tr[data-name="Battery"]'

                async def until(selector, want, timeout):
                    deadline = time.monotonic() + timeout
                    while time.monotonic() < deadline:
                        got = await browser.text(selector)
                        if got == want:
                            return time.monotonic()
                        await asyncio.sleep(0.02)
                    raise AssertionError(f"{selector} is {got!r}, not {want!r}")

                await until(f"{row} td.value", "87", 15)
                assert await browser.text(f"{row} td.raw") == "87 (0x0057)"
                assert await browser.text(f"{row} td:nth-child(7)") == "good"
                assert await browser.text('#links tr[data-controller="panel"] td.up') == "up"
                identity = await browser.text("#identity")
                assert "railgate" in identity and "serial" in identity
                assert "site.yaml" in (await browser.text("#files"))
                # The panel changes: the page shows it within a second.
                assert modbus.connect()
                changed = time.monotonic()
                assert not modbus.write_register(60, 42, device_id=1).isError()
                seen = await until(f"{row} td.value", "42", 1.0)
                assert await browser.text(f"{row} td.raw") == "42 (0x002A)"
                print(f"status page showed the change {1000 * (seen - changed):.0f} ms after the write")
                # Recent events include the change.
                events = await browser.text("#events")
                assert "BatteryCapacity" in events, events
                shot = await browser.call("Page.captureScreenshot", format="png")
                png = base64.b64decode(shot["data"])
                assert png.startswith(b"\x89PNG") and len(png) > 10_000
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                (ARTIFACTS / "status-page.png").write_bytes(png)

        asyncio.run(flow())
    finally:
        modbus.close()
        browser.close()
        assert g.stop() == 0, g.log()
        peer.kill()


def test_status_json_and_railgate_points_tell_the_same(tmp_path):
    port, metrics = free_port(), free_port()
    peer = Peer(port)
    g = start(tmp_path, port, metrics)
    try:
        s = wait_for(lambda: (lambda s: s if battery(s)["quality"] == "good" else None)(status(metrics)))
        assert s["links"] == [{"controller": "panel", "up": True, "last_error": ""}]
        assert battery(s)["value"] == "87" and battery(s)["raw"] == "87 (0x0057)"
        door = next(p for p in s["points"] if p["name"] == "Door")
        assert door["kind"] == "input" and door["value"] in ("active", "inactive")
        assert [f["role"] for f in s["files"]] == ["configuration", "mapping"]
        out = subprocess.run([str(binary()), "points", "--url", f"http://127.0.0.1:{metrics}"],
                             capture_output=True, text=True, timeout=10)
        assert out.returncode == 0, out.stderr
        assert "link panel: up" in out.stdout
        line = next(l for l in out.stdout.splitlines() if " Battery " in l)
        assert line.split()[:5] == ["value", "Battery", "panel", s["points"][1]["point"], "87"], line
        assert " good " in line
        # Through --config: the first metrics.listen address.
        out = subprocess.run([str(binary()), "--config", str(tmp_path / "railgate.yaml"), "points"],
                             capture_output=True, text=True, timeout=10, cwd=tmp_path)
        assert out.returncode == 0 and "link panel: up" in out.stdout, out.stderr
        # The link goes down: the page says so, with the reason, and the points go stale.
        peer.kill()
        s = wait_for(lambda: (lambda s: s if not s["links"][0]["up"] else None)(status(metrics)))
        assert s["links"][0]["last_error"], s
        wait_for(lambda: battery(status(metrics))["quality"] == "stale")
        assert battery(status(metrics))["value"] == "87", "the last value stays"
        # Not served: other paths and methods.
        assert requests.get(f"http://127.0.0.1:{metrics}/other", timeout=5).status_code == 404
        assert requests.post(f"http://127.0.0.1:{metrics}/status.json", timeout=5).status_code == 405
    finally:
        assert g.stop() == 0, g.log()
        peer.kill()


def test_railgate_points_says_why_without_a_gateway(tmp_path):
    out = subprocess.run([str(binary()), "points", "--url", f"http://127.0.0.1:{free_port()}"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 69, out
    assert "no status from" in out.stderr
    (tmp_path / "c.yaml").write_text("device: {}\n")
    out = subprocess.run([str(binary()), "--config", str(tmp_path / "c.yaml"), "points"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 78 and "no metrics.listen" in out.stderr, out
