"""Interop tests: real ONVIF clients (zeep, onvif-zeep-async, requests, curl) against the
real railgate binary on loopback. Every SOAP response any test receives is validated
against the official schemas with tests/onvif/validate.py (see `validator`)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import os
import queue
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
ONVIF = ROOT / "tests" / "onvif"
WSDL = ONVIF / "wsdl"
DEVICE_WSDL = WSDL / "ver10" / "device" / "wsdl" / "devicemgmt.wsdl"

NS = {
    "env": "http://www.w3.org/2003/05/soap-envelope",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
    "tas": "http://www.onvif.org/ver10/advancedsecurity/wsdl",
    "ter": "http://www.onvif.org/ver10/error",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
}
ADMIN = ("admin", "adminpass1")
OPERATOR = ("op", "operator-pass")
USER = ("viewer", "viewer-pass")


def binary() -> Path:
    if os.environ.get("RAILGATE_BIN"):
        return Path(os.environ["RAILGATE_BIN"])
    return ROOT / "target" / "debug" / "railgate"


# --------------------------------------------------------------------------- validation
class Validator:
    """Loads validate.py once and checks SOAP messages in-process."""

    def __init__(self) -> None:
        spec = importlib.util.spec_from_file_location("onvif_validate", ONVIF / "validate.py")
        self.mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.mod)
        # validate.py (vendored unmodified) loads the services it was written for; railgate
        # also serves the Advanced Security service, whose WSDL is in the same vendored set.
        self.mod.WSDLS.append("ver10/advancedsecurity/wsdl/advancedsecurity.wsdl")
        self.schema, _problems, _how = self.mod.get_schema(False, True, False)
        self.count = 0

    def errors(self, data: bytes) -> list[str]:
        if not data.startswith(b"<?xml"):
            return ["the XML declaration is not at byte 0"]
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        root = etree.fromstring(data, parser)
        errors, targets, _notes = self.mod.check_envelope(root, False, False)
        for _where, el in targets:
            errors += self.mod.element_errors(self.schema, schema_form(el))
        return errors

    def check(self, data: bytes) -> None:
        self.count += 1
        errs = self.errors(data)
        assert not errs, "response does not validate:\n" + "\n".join(errs) + "\n" + data.decode(errors="replace")


# Responses to request forms the WSDL does not define, answered in the namespace the client
# used (tmd:GetRelayOutputs on the DeviceIO endpoint, as onveef sends it): no schema element
# exists for them, so each is validated as the WSDL response it mirrors element for element.
TMD_NS = "http://www.onvif.org/ver10/deviceIO/wsdl"
ALIAS_RESPONSES = {f"{{{TMD_NS}}}GetRelayOutputsResponse", f"{{{TMD_NS}}}SetRelayOutputStateResponse"}


def schema_form(el):
    """`el`, or for an alias response a copy with its tmd elements renamed to tds."""
    if el.tag not in ALIAS_RESPONSES:
        return el
    import copy
    twin = copy.deepcopy(el)
    for e in twin.iter():
        if isinstance(e.tag, str) and e.tag.startswith(f"{{{TMD_NS}}}"):
            e.tag = "{%s}%s" % (NS["tds"], etree.QName(e).localname)
    return twin


VALIDATOR: Validator | None = None


def validator() -> Validator:
    global VALIDATOR
    if VALIDATOR is None:
        VALIDATOR = Validator()
    return VALIDATOR


def check_response(resp) -> None:
    """Validates a SOAP response (anything served as application/soap+xml)."""
    ctype = resp.headers.get("content-type", "")
    if "soap+xml" in ctype:
        validator().check(resp.content)


def pytest_sessionfinish(session, exitstatus):
    if VALIDATOR is not None:
        print(f"\n[interop] {VALIDATOR.count} SOAP responses validated against the ONVIF schemas")


# --------------------------------------------------------------------------- gateway process
class Gateway:
    """The railgate binary, started on 127.0.0.1 with an ephemeral port."""

    def __init__(self, workdir: Path, config: str = "", env: dict | None = None, listen: str = "127.0.0.1:0",
                 discovery: str = "off", args: tuple[str, ...] = ()):
        self.workdir = workdir
        self.data = workdir / "data"
        self.config_path = workdir / "railgate.yaml"
        self.config_path.write_text(config)
        self.log_path = workdir / "railgate.log"
        self.env = {**os.environ, "RAILGATE_ADMIN_PASSWORD": ADMIN[1], **(env or {})}
        self.listen = listen
        # WS-Discovery stays off unless a test asks (its tests run in their own network
        # namespace): nothing a test does may reach another machine. None: as the
        # configuration file says (only inside such a namespace).
        self.discovery = discovery
        self.args = list(args)
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    def start(self, timeout: float = 15.0) -> "Gateway":
        log = open(self.log_path, "ab")
        offset = log.tell()
        self.proc = subprocess.Popen(
            [str(binary()), "--config", str(self.config_path), "--data-dir", str(self.data),
             "--listen", self.listen, *(["--discovery-interfaces", self.discovery] if self.discovery is not None else []),
             "--log-level", "info,railgate=debug", *self.args],
            stdout=log, stderr=log, env=self.env, cwd=self.workdir,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = self.log_path.read_bytes()[offset:].decode(errors="replace")
            m = re.findall(r"serving ONVIF at http://[^ ]*:(\d+)/onvif", fresh)
            if m:
                self.port = int(m[-1])
                return self
            # HTTP turned off (SetNetworkProtocols): HTTPS only.
            m = re.findall(r"serving ONVIF at https://[^ ]*:(\d+)/onvif", fresh)
            if m and "ONVIF is served over HTTPS only" in fresh:
                self.port = None
                self.tls_port = int(m[-1])
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"railgate exited with {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.05)
        raise RuntimeError("railgate did not start:\n" + self.log())

    def stop(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("railgate did not stop within the grace period on SIGTERM")
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/onvif/device_service"

    def endpoint(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port}/onvif/{service}"


@pytest.fixture(scope="session", autouse=True)
def _binary_exists():
    assert binary().exists(), f"{binary()} is missing: build it first (cargo build)"


def add_users(g: "Gateway") -> None:
    """Creates the Operator and User the tests log in as."""
    body = "".join(
        f"<tds:User><tt:Username>{u}</tt:Username><tt:Password>{p}</tt:Password><tt:UserLevel>{lvl}</tt:UserLevel></tds:User>"
        for (u, p), lvl in [(OPERATOR, "Operator"), (USER, "User")]
    )
    r = soap(g.url, f"<tds:CreateUsers>{body}</tds:CreateUsers>", auth=ADMIN)
    assert r.status_code == 200, r.text


def serving_https_gateway(workdir: Path, server: str = ""):
    """A started gateway serving HTTPS beside HTTP on a free loopback port (`g.tls_port`;
    `g.cert`: the certificate it publishes), with the test users; `server`: more
    `server:` keys. A generator for module fixtures: stops it cleanly afterwards."""
    port = free_port()
    g = Gateway(workdir, config=f"server:\n  tls_listen: [127.0.0.1:{port}]\n{server}").start()
    g.tls_port = port
    g.cert = g.data / "tls" / "device.crt"
    add_users(g)
    yield g
    assert g.stop() == 0, g.log()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """One gateway per test module, with an Operator and a User besides the admin."""
    g = Gateway(tmp_path_factory.mktemp("gw")).start()
    add_users(g)
    yield g
    assert g.stop() == 0, g.log()


# --------------------------------------------------------------------------- SOAP helpers
def envelope(body: str, header: str = "") -> str:
    decls = " ".join(f'xmlns:{p}="{u}"' for p, u in NS.items())
    return f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope {decls}><env:Header>{header}</env:Header><env:Body>{body}</env:Body></env:Envelope>'


def username_token(user: str, password: str, nonce: bytes | None = None, created: str | None = None,
                   digest: bool = True) -> str:
    nonce = nonce if nonce is not None else secrets.token_bytes(16)
    created = created or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if digest:
        pw = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()
        ptype = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
    else:
        pw, ptype = password, "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
    return (
        '<wsse:Security env:mustUnderstand="1"><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username>"
        f'<wsse:Password Type="{ptype}">{pw}</wsse:Password>'
        f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>"
        f"<wsu:Created>{created}</wsu:Created>"
        "</wsse:UsernameToken></wsse:Security>"
    )


def soap(url: str, body: str, auth: tuple[str, str] | None = None, header: str | None = None,
         content_type: str = "application/soap+xml; charset=utf-8", raw: bytes | None = None,
         headers: dict | None = None) -> requests.Response:
    """POSTs a request (with a fresh UsernameToken when `auth` is given) and validates the
    response if it is SOAP."""
    if header is None:
        header = username_token(*auth) if auth else ""
    data = raw if raw is not None else envelope(body, header).encode()
    r = requests.post(url, data=data, headers={"Content-Type": content_type, **(headers or {})}, timeout=30)
    check_response(r)
    return r


def xml(resp) -> etree._Element:
    return etree.fromstring(resp.content)


def fault_codes(resp) -> list[str]:
    """The fault's code and subcodes, e.g. ['env:Sender', 'ter:NotAuthorized']."""
    root = xml(resp)
    return [v.text for v in root.iter("{%s}Value" % NS["env"])]


def texts(resp, path: str) -> list[str]:
    return [e.text for e in xml(resp).findall(path, NS)]


def presented_certificate(port: int, client: tuple[str, str] | None = None) -> bytes:
    """The certificate a new TLS connection to 127.0.0.1:`port` is shown (not verified
    here), offering the client certificate `client` (cert, key PEM files) if given."""
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if client:
        ctx.load_cert_chain(*client)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as tls:
            # TLS 1.3 reports a refused client certificate after the handshake: read once.
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            tls.recv(1)
            return tls.getpeercert(binary_form=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def socat_pty_pair(workdir: Path):
    """A socat pseudo-terminal pair `workdir/ttyA` <-> `workdir/ttyB` (a serial line between a
    peer and railgate), killed on exit."""
    import shutil
    assert shutil.which("socat"), "socat is missing (tests/run installs it)"
    a, b = workdir / "ttyA", workdir / "ttyB"
    socat = subprocess.Popen(["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not (a.exists() and b.exists()):
            assert time.monotonic() < deadline, "socat made no pty pair in 5 s"
            time.sleep(0.02)
        yield a, b
    finally:
        socat.kill()
        socat.wait()


def challenges(resp) -> list[dict]:
    """The Digest challenges of a 401, in order, as dicts."""
    out = []
    for value in resp.raw.headers.getlist("WWW-Authenticate"):
        assert value.startswith("Digest "), value
        params = dict(re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', value) and
                      [(k, a or b) for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', value)])
        out.append(params)
    return out


def digest_authorization(ch: dict, user: str, password: str, uri: str, nc: int = 1,
                         method: str = "POST", cnonce: str = "0a4f113b") -> str:
    """An RFC 7616 Authorization header answering challenge `ch`."""
    h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[ch["algorithm"]]
    H = lambda s: h(s.encode()).hexdigest()  # noqa: E731
    ha1 = H(f"{user}:{ch['realm']}:{password}")
    ha2 = H(f"{method}:{uri}")
    ncs = f"{nc:08x}"
    response = H(f"{ha1}:{ch['nonce']}:{ncs}:{cnonce}:auth:{ha2}")
    return (f'Digest username="{user}", realm="{ch["realm"]}", nonce="{ch["nonce"]}", uri="{uri}", '
            f'algorithm={ch["algorithm"]}, qop=auth, nc={ncs}, cnonce="{cnonce}", response="{response}", '
            f'opaque="{ch["opaque"]}"')


# --------------------------------------------------------------------------- zeep, offline
def _catalog() -> dict[str, Path]:
    tree = etree.parse(str(WSDL / "catalog.xml"))
    out = {}
    for e in tree.getroot():
        if not isinstance(e.tag, str):
            continue
        key = e.get("systemId") or e.get("name")
        if key and e.get("uri"):
            out[key] = WSDL / e.get("uri")
    return out


def offline_load(catalog: dict, url: str) -> bytes | None:
    """A schema or WSDL from the vendored set: by the XML catalog, else (for the OASIS
    files, which import each other relative to their published addresses) by file name.
    Never from the network."""
    for candidate in (url, url.replace("https://", "http://", 1)):
        if candidate in catalog:
            return catalog[candidate].read_bytes()
    if url.startswith(("http:", "https:")):
        local = WSDL / "external" / url.rsplit("/", 1)[-1]
        if local.is_file():
            return local.read_bytes()
        raise RuntimeError(f"refusing to fetch {url}: schemas must come from the vendored set")
    return None


def zeep_client(url: str, auth: tuple[str, str] | None = ADMIN, http_digest: bool = False,
                verify: str | bool = True):
    """A zeep client of the device service built from the official WSDL (offline, through
    the XML catalog); every response it receives is validated."""
    import zeep
    from zeep.wsse.username import UsernameToken

    catalog = _catalog()

    class OfflineValidatingTransport(zeep.Transport):
        def load(self, url):
            return offline_load(catalog, url) or super().load(url)

        def post_xml(self, address, envelope, headers):
            response = super().post_xml(address, envelope, headers)
            check_response(response)
            return response

    session = requests.Session()
    session.verify = verify
    if verify is not True:
        # A pinned certificate: REQUESTS_CA_BUNDLE and friends must not replace it.
        session.trust_env = False
    if http_digest and auth:
        session.auth = requests.auth.HTTPDigestAuth(*auth)
    transport = OfflineValidatingTransport(session=session, timeout=30, operation_timeout=90)
    wsse = UsernameToken(*auth, use_digest=True) if auth and not http_digest else None
    client = zeep.Client(str(DEVICE_WSDL), transport=transport, wsse=wsse)
    return client.create_service("{http://www.onvif.org/ver10/device/wsdl}DeviceBinding", url)


def zeep_fault_codes(exc) -> list[str]:
    """Code and subcodes of a zeep Fault."""
    detail = exc.code, exc.subcodes
    codes = [detail[0]] + [q.localname if hasattr(q, "localname") else str(q) for q in (detail[1] or [])]
    return [c.split("}")[-1].split(":")[-1] for c in codes if c]


# --------------------------------------------------------------------------- events
EVENT_WSDL = WSDL / "ver10" / "events" / "wsdl" / "event.wsdl"
NS.update({
    "tev": "http://www.onvif.org/ver10/events/wsdl",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "tns1": "http://www.onvif.org/ver10/topics",
    "wsrf-r": "http://docs.oasis-open.org/wsrf/r-2",
    "tmd": "http://www.onvif.org/ver10/deviceIO/wsdl",
})


class EventSource:
    """The test-build event source of a gateway (a Unix socket, one JSON line per request)."""

    def __init__(self, path: Path):
        self.path = path
        self.sock: socket.socket | None = None
        self.reader = None

    def connect(self) -> None:
        deadline = time.monotonic() + 10
        while not self.path.exists():
            assert time.monotonic() < deadline, f"{self.path} never appeared: is the binary built with test-events?"
            time.sleep(0.05)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(self.path))
        self.reader = self.sock.makefile("r")

    def send(self, obj: dict) -> str:
        import json
        if self.sock is None:
            self.connect()
        self.sock.sendall((json.dumps(obj) + "\n").encode())
        reply = self.reader.readline().strip()
        assert reply.startswith("ok"), reply
        return reply

    def raise_event(self, topic: str, source: dict, data: dict, prop: bool = True) -> int | None:
        reply = self.send({"topic": topic, "property": prop, "source": source, "data": data})
        return None if reply == "ok -" else int(reply.split()[1])

    def close(self) -> None:
        if self.sock:
            self.sock.close()
            self.sock = None


def event_gateway(workdir: Path, config: str = "") -> tuple["Gateway", EventSource]:
    sock = workdir / "events.sock"
    g = Gateway(workdir, config=config, env={"RAILGATE_TEST_EVENTS": str(sock)})
    return g, EventSource(sock)


def serving_event_gateway(workdir: Path, config: str = ""):
    """A started gateway with the test users and its event source connected (`g.source`);
    a generator for module fixtures: stops it cleanly afterwards."""
    g, source = event_gateway(workdir, config)
    g.start()
    add_users(g)
    source.connect()
    g.source = source
    yield g
    source.close()
    assert g.stop() == 0, g.log()
    assert "panicked" not in g.log()


def onveef_client(url: str, auth: tuple[str, str]):
    """An onveef client (zeep-free; it discovers the services with GetServices and sends the
    relay operations in the DeviceIO namespace to the DeviceIO endpoint). Every response it
    receives is validated (an httpx response hook); `client.sent` holds the request bodies."""
    import httpx
    from onveef import OnvifClient

    def validate(response):
        response.read()
        check_response(response)

    sent: list[bytes] = []
    http = httpx.Client(timeout=60, event_hooks={"request": [lambda request: sent.append(request.read())],
                                                 "response": [validate]})
    client = OnvifClient(url, username=auth[0], password=auth[1], http_client=http, retries=0)
    # onveef 0.6.0 builds `httpx.Timeout(self._timeout, read=...)` for PullMessages from an
    # httpx.Timeout, which httpx rejects (an assertion) whatever its version: a float default
    # is what that call can take.
    client._timeout = 60.0
    client.sent = sent
    return client


def zeep_service(wsdl: Path, binding: str, url: str, auth: tuple[str, str] | None = ADMIN):
    """A zeep client of `binding` (a QName) from an official WSDL, loaded offline through the
    XML catalog; every response it receives is validated."""
    import zeep
    from zeep.wsse.username import UsernameToken

    catalog = _catalog()

    class OfflineValidatingTransport(zeep.Transport):
        def load(self, u):
            return offline_load(catalog, u) or super().load(u)

        def post_xml(self, address, envelope, headers):
            response = super().post_xml(address, envelope, headers)
            check_response(response)
            return response

    transport = OfflineValidatingTransport(session=requests.Session(), timeout=30, operation_timeout=120)
    client = zeep.Client(str(wsdl), transport=transport, wsse=UsernameToken(*auth, use_digest=True) if auth else None)
    return client.create_service(binding, url)


def zeep_events(url: str, binding: str = "EventBinding", auth: tuple[str, str] | None = ADMIN):
    """A zeep client of the event service (or, with binding PullPointSubscriptionBinding /
    SubscriptionManagerBinding, of a subscription address), from the official WSDL."""
    return zeep_service(EVENT_WSDL, "{http://www.onvif.org/ver10/events/wsdl}" + binding, url, auth)


def zeep_deviceio(url: str, auth: tuple[str, str] | None = ADMIN):
    """A zeep client of the DeviceIO service, from the official WSDL."""
    return zeep_service(WSDL / "ver10" / "deviceio.wsdl", "{http://www.onvif.org/ver10/deviceIO/wsdl}DeviceIOBinding",
                        url, auth)


def pull(url: str, timeout: str = "PT1S", limit: int = 100, auth=ADMIN) -> requests.Response:
    return soap(url, f"<tev:PullMessages><tev:Timeout>{timeout}</tev:Timeout><tev:MessageLimit>{limit}</tev:MessageLimit></tev:PullMessages>", auth=auth)


def messages(resp) -> list[dict]:
    """The notification messages of a PullMessages response, as dicts."""
    out = []
    for m in xml(resp).findall(".//wsnt:NotificationMessage", NS):
        msg = m.find(".//tt:Message", NS)
        items = lambda group: {i.get("Name"): i.get("Value") for i in msg.findall(f"tt:{group}/tt:SimpleItem", NS)}  # noqa: E731
        out.append({
            "topic": m.find("wsnt:Topic", NS).text.strip(),
            "op": msg.get("PropertyOperation"),
            "utc": msg.get("UtcTime"),
            "source": items("Source"),
            "data": items("Data"),
        })
    return out


def create_pull_point(gw: "Gateway", filter_xml: str = "", termination: str = "PT60S", auth=ADMIN, policy: str = "") -> str:
    body = (f"<tev:CreatePullPointSubscription>{f'<tev:Filter>{filter_xml}</tev:Filter>' if filter_xml else ''}"
            f"<tev:InitialTerminationTime>{termination}</tev:InitialTerminationTime>{policy}</tev:CreatePullPointSubscription>")
    r = soap(gw.endpoint("event_service"), body, auth=auth)
    assert r.status_code == 200, r.text
    return texts(r, ".//tev:SubscriptionReference/wsa:Address")[0]


def topic_filter(expr: str, dialect: str = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet") -> str:
    return f'<wsnt:TopicExpression Dialect="{dialect}">{expr}</wsnt:TopicExpression>'


def pull_until(address: str, want, timeout: float = 20.0, pulled=None) -> list[dict]:
    """Pulls (with `pulled(address)`, by default one PT1S PullMessages) until `want(messages
    so far)` holds; returns everything pulled, or fails after `timeout` seconds."""
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pulled is None:
            r = pull(address, "PT1S")
            assert r.status_code == 200, r.text
            got += messages(r)
        else:
            got += pulled(address)
        if want(got):
            return got
    raise AssertionError(f"not seen within {timeout} s: {got}")


MODBUS_PEER = ROOT / "adapters" / "tests" / "peers" / "modbus_server.py"


class ModbusPeer:
    """adapters/tests/peers/modbus_server.py (pymodbus) started with `args` (e.g. "tcp",
    "127.0.0.1", "0"; "--layout", "sparse", "rtu", "/dev/pts/3"); `port`: the TCP port it
    serves. Every line it reports (each write; each read too with --layout sparse) arrives on
    `reports` as (time.monotonic(), dict); `wait_for` keeps the ones it reads in `seen`."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, str(MODBUS_PEER), *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().split()
        assert line and line[0] == "READY", line
        self.port = int(line[1]) if len(line) > 1 else None
        self.reports: "queue.Queue[tuple[float, dict]]" = queue.Queue()
        self.seen: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    @classmethod
    def tcp(cls, port: int = 0, *options: str) -> "ModbusPeer":
        """Serving TCP on 127.0.0.1:`port` (0: an ephemeral one) with `options`."""
        return cls(*options, "tcp", "127.0.0.1", str(port))

    def _read(self):
        for line in self.proc.stdout:
            self.reports.put((time.monotonic(), json.loads(line)))

    def drain(self, settle: float = 0.5) -> list[dict]:
        """Every report so far (waiting `settle` seconds for late lines)."""
        time.sleep(settle)
        out = []
        while True:
            try:
                out.append(self.reports.get_nowait()[1])
            except queue.Empty:
                return out

    def wait_for(self, want, timeout: float = 10.0) -> tuple[float, dict]:
        """The first report from now on equal to `want` (a dict) or for which `want(report)`
        holds: when it arrived, and the report."""
        match = want if callable(want) else (lambda r: r == want)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no report {want} within {timeout} s; seen {self.seen[-20:]}"
            try:
                at, report = self.reports.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(report)
            if match(report):
                return at, report

    def next_report(self, timeout: float = 10.0) -> dict:
        """The next report (a write, with the default layout)."""
        return self.wait_for(lambda _: True, timeout)[1]

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
        self.proc.kill()
        self.proc.wait()

    kill = close
