"""Push-consumer checks against the real binary on a NON-loopback listen address, run INSIDE
a network namespace that test_attack_subscriptions.py creates (`unshare --net`): it holds
only loopback and a veth pair whose two ends are both inside it (`subs0` 10.78.0.1/24 and
`subs1` 10.78.0.2/24), plus a route for 10.78.1.0/24 through `subs0` that leads nowhere
(an address that is neither loopback, link-local nor the host's own). Nothing leaves it.

Usage: subscriptions_netns.py BINARY WORKDIR   (prints one JSON object with what it saw)."""

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import ADMIN, NS, EventSource, Gateway, soap, xml  # noqa: E402


def sh(*args: str) -> None:
    subprocess.run(args, check=True)


class Consumer:
    """A loopback HTTP server that counts the requests it gets (it must get none)."""

    def __init__(self):
        self.hits = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                owner.hits += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(202)
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def subscribe(gw: Gateway, url: str):
    body = (f"<wsnt:Subscribe><wsnt:ConsumerReference><wsa:Address>{url}</wsa:Address></wsnt:ConsumerReference>"
            "<wsnt:InitialTerminationTime>PT60S</wsnt:InitialTerminationTime></wsnt:Subscribe>")
    r = soap(gw.endpoint("event_service"), body, auth=ADMIN)
    refused = r.status_code == 500 and xml(r).find(".//wsnt:SubscribeCreationFailedFault", NS) is not None
    reason = "".join(xml(r).xpath("//*[local-name()='Text']/text()")) if r.status_code != 200 else ""
    return {"status": r.status_code, "refused": refused, "reason": reason}


def main() -> None:
    binary, workdir = sys.argv[1], Path(sys.argv[2])
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "subs0", "type", "veth", "peer", "name", "subs1")
    sh("ip", "addr", "add", "10.78.0.1/24", "dev", "subs0")
    sh("ip", "addr", "add", "10.78.0.2/24", "dev", "subs1")
    for dev in ("subs0", "subs1"):
        sh("ip", "link", "set", dev, "up")
    sh("ip", "route", "add", "10.78.1.0/24", "dev", "subs0")
    os.environ["RAILGATE_BIN"] = binary
    consumer = Consumer()
    result: dict = {"consumer_port": consumer.port}
    for d in ("any", "named"):
        (workdir / d).mkdir(parents=True, exist_ok=True)
    # Listening on every address: not loopback only, so loopback consumers are refused.
    gw = Gateway(workdir / "any", listen="0.0.0.0:0").start()
    try:
        result["refused"] = {
            name: subscribe(gw, url) for name, url in {
                "loopback": f"http://127.0.0.1:{consumer.port}/notify",
                "loopback_name": f"http://localhost:{consumer.port}/notify",
                "loopback_v6": f"http://[::1]:{consumer.port}/notify",
                "link_local": "http://169.254.169.254/latest/meta-data/",
                "link_local_v6": "http://[fe80::1]:80/notify",
                "own_address": f"http://10.78.0.1:{gw.port}/onvif/device_service",
                "own_other_interface": "http://10.78.0.2:80/notify",
                "multicast": "http://239.255.255.250:3702/",
                "unspecified": f"http://0.0.0.0:{consumer.port}/notify",
                "https": "https://10.78.1.5/notify",
                "ftp": "ftp://10.78.1.5/notify",
            }.items()
        }
        result["accepted_elsewhere"] = subscribe(gw, "http://10.78.1.5:9/notify")
        time.sleep(1.5)
        result["hits_without_allow"] = consumer.hits
        result["log_any"] = gw.log()[-20000:]
    finally:
        result["stop_any"] = gw.stop()
    # Naming loopback in consumer_networks opens it, and delivery reaches it.
    sock = workdir / "named" / "events.sock"
    gw = Gateway(workdir / "named", config="events:\n  consumer_networks: [127.0.0.0/8, 10.78.0.0/16]\n",
                 env={"RAILGATE_TEST_EVENTS": str(sock)}, listen="0.0.0.0:0").start()
    source = EventSource(sock)
    try:
        result["named_loopback"] = subscribe(gw, f"http://127.0.0.1:{consumer.port}/notify")
        source.raise_event("Test/Push", {"Id": "p"}, {"N": "1"}, prop=False)
        result["named_still_no_link_local"] = subscribe(gw, "http://169.254.169.254/")
        result["named_own_not_named"] = subscribe(gw, "http://10.78.0.1:80/")
        deadline = time.monotonic() + 10
        while consumer.hits == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        result["hits_when_named"] = consumer.hits
    finally:
        source.close()
        result["stop_named"] = gw.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
