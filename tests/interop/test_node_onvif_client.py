"""The Node.js `onvif` library (npm `onvif` 0.8.3, agsh/onvif; tests/interop/node) against the
real binary (issue 12): connect and the device calls with its WS-Security, a pull point
through CreatePullPointSubscription and PullMessages with an event raised while a pull waits,
a short-lived pull point kept alive by pulling alone, and the library's own event loop.

Validation: the Node process cannot be hooked from Python, so it talks to a forwarding HTTP
proxy on 127.0.0.1 (`Proxy`) that passes each request on to the gateway with its Host header
unchanged and schema-validates each application/soap+xml response before handing it back.
Since the gateway builds every XAddr and subscription address from the Host header, the
addresses the library is given (services, pull points) name the proxy too: each test asserts
that the addresses the library used are the proxy's, so no response bypassed the validator.

Relays: the library has no DeviceIO calls (no GetRelayOutputs or SetRelayOutputState in
0.8.3; it only reads the relay count from GetCapabilities, asserted in the connect test)."""

from __future__ import annotations

import http.client
import http.server
import json
import shutil
import subprocess
import threading
import time

import pytest
from lxml import etree

from conftest import ADMIN, ROOT, USER, add_users, event_gateway, soap, texts, validator

NODE_DIR = ROOT / "tests" / "interop" / "node"
CLIENT = NODE_DIR / "client.js"
DI = "Device/Trigger/DigitalInput"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "content-length"}


@pytest.fixture(scope="module", autouse=True)
def node_modules():
    """The pinned library, installed from the committed lock file if it is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed (tests/run installs them with apt)")
    if not (NODE_DIR / "node_modules" / "onvif" / "package.json").exists():
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"npm ci failed:\n{r.stdout}\n{r.stderr}"
    version = json.loads((NODE_DIR / "node_modules" / "onvif" / "package.json").read_text())["version"]
    assert version == "0.8.3", f"node_modules has onvif {version}, the lock file pins 0.8.3: run npm ci"


# --------------------------------------------------------------------------- the proxy
class Proxy:
    """A forwarding HTTP proxy on 127.0.0.1 in front of the gateway: every exchange is
    recorded (path, the request's first Body element, status) and every SOAP response is
    validated against the ONVIF schemas; `on_request` hooks see each request first."""

    def __init__(self, gateway_port: int):
        self.gateway_port = gateway_port
        self.exchanges: list[dict] = []
        self.failures: list[str] = []
        self.on_request: list = []
        self.timers: list[threading.Timer] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                op = proxy.operation(body)
                for hook in list(proxy.on_request):
                    hook(self.path, op)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn = http.client.HTTPConnection("127.0.0.1", proxy.gateway_port, timeout=120)
                try:
                    conn.request("POST", self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    resp_headers = resp.getheaders()
                    status, reason = resp.status, resp.reason
                finally:
                    conn.close()
                ctype = resp.getheader("Content-Type", "")
                errors: list[str] = []
                if "soap+xml" in ctype:
                    try:
                        validator().count += 1
                        errors = validator().errors(data)
                    except Exception as e:  # noqa: BLE001 - a parse error is a failure too
                        errors = [f"{type(e).__name__}: {e}"]
                with proxy.lock:
                    proxy.exchanges.append({"path": self.path, "op": op, "status": status,
                                            "response": proxy.operation(data) if "xml" in ctype else None,
                                            "soap": "soap+xml" in ctype, "at": time.monotonic()})
                    if errors:
                        proxy.failures.append(f"{op} {self.path} -> {status}:\n" + "\n".join(errors) + "\n"
                                              + data.decode(errors="replace"))
                self.send_response(status, reason)
                for k, v in resp_headers:
                    if k.lower() not in HOP_BY_HOP | {"date", "server"}:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def operation(data: bytes) -> str | None:
        """The local name of the first Body child, e.g. 'PullMessages'."""
        try:
            root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            return None
        body = root.find("{http://www.w3.org/2003/05/soap-envelope}Body")
        child = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
        return etree.QName(child).localname if child is not None else None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/onvif/device_service"

    def ops(self) -> list[str]:
        with self.lock:
            return [e["op"] for e in self.exchanges]

    def close(self) -> None:
        for t in self.timers:
            t.cancel()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gw(tmp_path):
    """A fresh gateway per test (a new pull point sees no earlier test's property states),
    with the test users and its event source."""
    g, source = event_gateway(tmp_path)
    g.start()
    add_users(g)
    source.connect()
    g.source = source
    g.source_lock = threading.Lock()
    yield g
    source.close()
    assert g.stop() == 0, g.log()
    assert "panicked" not in g.log()


@pytest.fixture
def proxy(gw):
    p = Proxy(gw.port)
    yield p
    p.close()
    # Every SOAP response the library received was validated, and none failed.
    assert not p.failures, "responses that do not validate:\n\n" + "\n\n".join(p.failures)
    assert any(e["soap"] for e in p.exchanges), "no SOAP response went through the validator"


def raise_di(gw, token: str, state: bool) -> None:
    with gw.source_lock:
        gw.source.raise_event(DI, {"InputToken": token}, {"LogicalState": "true" if state else "false"})


def raise_on_pull(gw, proxy: Proxy, delay: float, tokens, skip: int = 1) -> list[tuple[str, float]]:
    """Raises a DigitalInput event `delay` seconds after each PullMessages request that
    reaches the proxy (one per token, in order), after the first `skip` of them: a new pull
    point's first pull returns at once with the Initialized states (the gateway's own
    Monitoring properties; the library's CreatePullPointSubscription takes no filter), so
    the pulls that wait are the later ones. Returns (token, wall-clock time raised) pairs."""
    raised: list[tuple[str, float]] = []
    pending = iter(tokens)
    skipped = [0]

    def hook(_path, op):
        if op != "PullMessages":
            return
        if skipped[0] < skip:
            skipped[0] += 1
            return
        token = next(pending, None)
        if token is not None:
            def fire():
                raise_di(gw, token, True)
                raised.append((token, time.time()))
            timer = threading.Timer(delay, fire)
            proxy.timers.append(timer)
            timer.start()

    proxy.on_request.append(hook)
    return raised


def node(proxy: Proxy, scenario: str, auth=ADMIN, timeout: float = 150, **extra) -> dict:
    cmd = ["node", str(CLIENT), "--url", proxy.url, "--user", auth[0], "--password", auth[1], "--scenario", scenario]
    for k, v in extra.items():
        cmd += [f"--{k}", str(v)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=NODE_DIR)
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    assert lines, f"the client printed no result (exit {r.returncode}):\n{r.stdout}\n{r.stderr}"
    out = json.loads(lines[-1])
    assert out["ok"] and r.returncode == 0, f"the client failed: {out}\n{r.stderr}"
    return out["result"]


def proxied(proxy: Proxy, address: str) -> bool:
    return address.startswith(f"http://127.0.0.1:{proxy.port}/")


# --------------------------------------------------------------------------- (a) connect
def test_connect_and_device_information(gw, proxy):
    r = node(proxy, "connect")
    # connect(): GetSystemDateAndTime first (unauthenticated), then GetServices; with no
    # media service it does not ask for profiles, and warns of nothing.
    ops = proxy.ops()
    assert ops[:2] == ["GetSystemDateAndTime", "GetServices"], ops
    assert "GetProfiles" not in ops and r["warnings"] == []
    # Its clock offset (device time less its own uptime) is about the wall clock: it read
    # the device's UTC time (its UsernameToken's Created is uptime + this offset).
    assert abs(r["timeShiftMs"] / 1000 - time.time()) < 60, r["timeShiftMs"]
    # The library's clock offset made its UsernameToken acceptable: the device calls passed.
    # Every field as the library parsed it, against the gateway's own answer (linerase would
    # turn an all-digit value into a number; none of these is one).
    info = r["deviceInformation"]
    direct = soap(gw.url, "<tds:GetDeviceInformation/>", auth=ADMIN)
    expected = {f[0].lower() + f[1:]: texts(direct, f".//tds:{f}")[0]
                for f in ("Manufacturer", "Model", "FirmwareVersion", "SerialNumber", "HardwareId")}
    assert info == expected, (info, expected)
    assert info["manufacturer"] == "railgate" and info["serialNumber"].startswith("RG"), info
    # Services, parsed into the library's uri map, name the proxy (so the event calls below
    # go through it too).
    namespaces = {s["namespace"] for s in r["services"]}
    assert {"http://www.onvif.org/ver10/device/wsdl", "http://www.onvif.org/ver10/events/wsdl",
            "http://www.onvif.org/ver10/deviceIO/wsdl"} <= namespaces, namespaces
    assert r["media2Support"] is False and "media" not in r["uri"]
    assert r["uri"]["events"] == f"http://127.0.0.1:{proxy.port}/onvif/event_service"
    assert all(proxied(proxy, s["XAddr"]) for s in r["services"]), r["services"]
    caps = r["capabilities"]
    assert caps["deviceXAddr"] == proxy.url and caps["eventsXAddr"] == r["uri"]["events"]
    # WSPullPointSupport is WS-BaseNotification's CreatePullPoint, which railgate does not
    # offer (ONVIF's CreatePullPointSubscription is another thing); the library parses the
    # flag into a boolean and does not consult it.
    assert caps["wsPullPointSupport"] is False, caps
    # The only relay information the library has: Device.IO's counts (no controller is
    # configured here, so none), parsed into numbers.
    assert caps["relayOutputs"] == 0 and caps["inputConnectors"] == 0, caps
    assert r["hostname"]["name"], r["hostname"]
    assert any(s.startswith("onvif://www.onvif.org/") for s in r["scopes"]), r["scopes"]
    # GetSystemDateAndTime as the library parsed it is now, give or take.
    assert abs(_ts(r["systemDateAndTime"]) - time.time()) < 30, r["systemDateAndTime"]
    # A wrong password is refused and the library surfaces the fault.
    assert r["wrongPasswordError"] == "ONVIF SOAP Fault: Sender not Authorized", r["wrongPasswordError"]
    with proxy.lock:
        refused = [e for e in proxy.exchanges if e["op"] == "GetDeviceInformation" and e["status"] != 200]
    assert refused and refused[-1]["response"] == "Fault", refused


# --------------------------------------------------------------------------- (b) events
MONITORING = ["tns1:Monitoring/OperatingTime/LastReboot", "tns1:Monitoring/OperatingTime/LastReset",
              "tns1:Monitoring/OperatingTime/LastClockSynchronization", "tnsx:Monitoring/EventStorage"]


def _ts(value: str) -> float:
    import datetime as dt
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


PROCESSOR = "tns1:Monitoring/ProcessorUsage"  # raised whenever the load moves: at any time


def of_topic(pull: dict, topic: str) -> list[dict]:
    return [m for m in pull["messages"] if m["topic"] == topic]


def topics(messages: list[dict]) -> list[str]:
    """The topics in order, less ProcessorUsage (in the Initialized states or not, by load)."""
    return [m["topic"] for m in messages if m["topic"] != PROCESSOR]


def test_pull_point_gets_an_event_raised_while_the_pull_waits(gw, proxy):
    raise_di(gw, "node-b", False)  # an existing property: the new pull point starts with it
    raised = raise_on_pull(gw, proxy, 1.5, ["node-b"])
    r = node(proxy, "events", auth=USER, token="node-b")
    sub = r["subscription"]
    assert proxied(proxy, sub["address"]), sub
    assert "notADate" not in json.dumps(r), "the library parses every xs:dateTime into a Date"
    assert 110 <= (_ts(sub["terminationTime"]) - _ts(sub["currentTime"])) <= 130, "the library's PT2M"
    pulls = r["pulls"]
    # The first pull: the Initialized states, at once: the gateway's own properties and
    # the input raised before.
    first = pulls[0]
    assert topics(first["messages"]) == MONITORING + ["tns1:" + DI], first
    assert {m["operation"] for m in first["messages"]} == {"Initialized"}, first
    assert of_topic(first, "tns1:" + DI)[0]["data"] == {"LogicalState": False}, first
    assert first["received"] - first["sent"] < 5, first
    # A later pull waited for the event (raised 1.5 s into the second pull; the gateway's
    # ProcessorUsage may answer one in between), not for its PT1M Timeout, and the library
    # parsed its topic and items.
    assert len(raised) == 1
    token, at = raised[0]
    last = pulls[-1]
    assert last["sent"] < at < last["received"] < at + 5, (at, last)
    assert [m for p in pulls[1:-1] for m in p["messages"] if m["topic"] == "tns1:" + DI] == [], pulls
    (m,) = of_topic(last, "tns1:" + DI)
    assert m["dialect"] == "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet", m
    assert m["source"] == {"InputToken": "node-b"}, m
    # linerase turns the "true" of a SimpleItem's Value into a boolean.
    assert m["data"] == {"LogicalState": True}, m
    assert m["operation"] == "Changed", m
    assert abs(_ts(m["utcTime"]) - at) < 5, m
    assert _ts(last["terminationTime"]) > _ts(last["currentTime"]), last
    assert r["unsubscribed"] is True
    sub_path = sub["address"].split(str(proxy.port), 1)[1]
    with proxy.lock:
        at_sub = [(e["op"], e["status"], e["response"]) for e in proxy.exchanges if e["path"] == sub_path]
    assert at_sub == [("PullMessages", 200, "PullMessagesResponse")] * len(pulls) + [
        ("Unsubscribe", 200, "UnsubscribeResponse")], at_sub


# --------------------------------------------------------------------------- (c) keep-alive
def test_pull_point_pulled_past_its_initial_termination_lives_on(gw, proxy):
    # After the first pull (the Initialized states), each pull is answered by an event 5 s
    # after it arrives, longer than the 4 s lifetime (or sooner by a ProcessorUsage).
    raised = raise_on_pull(gw, proxy, 5.0, [f"k{i}" for i in range(1, 13)])
    r = node(proxy, "keepalive", auth=USER, termination="PT4S", until=13)
    sub = r["subscription"]
    assert proxied(proxy, sub["address"])
    assert 3 <= _ts(sub["terminationTime"]) - _ts(sub["currentTime"]) <= 5, sub
    pulls = r["pulls"]
    assert all("error" not in p for p in pulls), pulls
    assert topics(pulls[0]["messages"]) == MONITORING, pulls[0]
    delivered = [m["source"]["InputToken"] for p in pulls for m in of_topic(p, "tns1:" + DI)]
    assert len(delivered) >= 2 and delivered == [t for t, _ in raised][:len(delivered)], (delivered, raised)
    # The last pull was answered more than three lifetimes after the pull point was made,
    # never renewed; every answer's TerminationTime is after its CurrentTime, by at least
    # the initial period, and the library's reckoning of it is in the future.
    assert pulls[-1]["secondsSinceCreate"] >= 13, pulls
    for p in pulls:
        assert _ts(p["terminationTime"]) - _ts(p["currentTime"]) >= 3.5, p
        assert _ts(p["libraryTerminationTime"]) > p["received"], p
    ops = proxy.ops()
    assert "Renew" not in ops and ops.count("PullMessages") == len(pulls), ops
    with proxy.lock:
        assert all(e["status"] == 200 for e in proxy.exchanges), proxy.exchanges


# --------------------------------------------------------------------------- the event loop
def test_the_library_event_loop_pulls_renews_and_unsubscribes(gw, proxy):
    raise_on_pull(gw, proxy, 1.0, ["loop1", "loop2"])
    r = node(proxy, "eventloop", auth=USER, events=2)
    # The Initialized states first, then the two raised while the loop pulled.
    assert topics(r["events"]) == MONITORING + ["tns1:" + DI] * 2, r["events"]
    ours = [m for m in r["events"] if m["topic"] == "tns1:" + DI]
    assert [m["source"] for m in ours] == [{"InputToken": "loop1"}, {"InputToken": "loop2"}], r
    assert r["errors"] == [], r
    seen = [x["element"] for x in r["responses"]]
    # Create, then a pull and a Renew (the library renews after every pull), then, with no
    # listener left, Unsubscribe.
    tail = seen[seen.index("CreatePullPointSubscriptionResponse"):]
    pulls = tail.count("PullMessagesResponse")
    assert pulls >= 3 and tail == ["CreatePullPointSubscriptionResponse"] + [
        "PullMessagesResponse", "RenewResponse"] * pulls + ["UnsubscribeResponse"], seen
    assert all(x["status"] == 200 for x in r["responses"]), r["responses"]
    # All of it went through the proxy (the subscription address names it).
    ops = proxy.ops()
    assert ops.count("PullMessages") == pulls and ops.count("Renew") == pulls and ops.count("Unsubscribe") == 1, ops


# --------------------------------------------------------------------------- the proxy itself
def test_the_proxy_reports_a_response_that_does_not_validate(tmp_path):
    """The validation above is not vacuous: a SOAP response outside the schemas, served
    through the proxy, is recorded as a failure (and one that is not SOAP is not checked)."""
    bad = (b'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">'
           b'<env:Body><tds:GetHostnameResponse xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
           b'<tds:NoSuchElement/></tds:GetHostnameResponse></env:Body></env:Envelope>')

    class Upstream(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            soap_reply = self.path == "/soap"
            self.send_response(200)
            self.send_header("Content-Type", "application/soap+xml; charset=utf-8" if soap_reply else "text/plain")
            self.send_header("Content-Length", str(len(bad)))
            self.end_headers()
            self.wfile.write(bad)

    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    p = Proxy(upstream.server_address[1])
    try:
        for path in ("/soap", "/text"):
            conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
            conn.request("POST", path, body=b"<x/>", headers={"Content-Type": "application/soap+xml"})
            resp = conn.getresponse()
            assert resp.status == 200 and resp.read() == bad, "forwarded as it came"
            conn.close()
    finally:
        p.close()
        upstream.shutdown()
        upstream.server_close()
    assert len(p.failures) == 1 and "/soap" in p.failures[0] and "NoSuchElement" in p.failures[0], p.failures
