"""Honest state when a link is down, against the real binary and a pymodbus peer in its sparse
layout (adapters/tests/peers/modbus_server.py --layout sparse: HR60 = 87, HR61-63 refused, a
discrete input block at 1000), started, killed and started again on one port.

- Every controller has `rg:Monitoring/ControllerLink` (Connected, Reason) and
  `rg:Monitoring/FailingPoints` (Failing, Count) from start; a controller never up has no
  input properties.
- A subscriber joining during an outage gets the link state (Connected=false) as
  Initialized before any input's Initialized; SetSynchronizationPoint gives the same order.
- On reconnect, ControllerLink Connected=true (Changed) comes before the inputs' Changed.
- FailingPoints names the refused point.
- Every response validates with the vendored validator (conftest.soap), and every tt:Message
  also with the older onvif.xsd onvif-zeep-async ships (strict about elements it does not
  know); onvif-zeep-async itself reads the link state.
- GetEventProperties declares both topics with simple items."""

import asyncio
import datetime as dt
import time
from pathlib import Path

import pytest
from lxml import etree

from conftest import ADMIN, NS, Gateway, ModbusPeer, create_pull_point, free_port, messages, pull, soap
from conftest import pull_until as conftest_pull_until

RG = "urn:railgate:topics"
LINK = "tnsx:Monitoring/ControllerLink"
FAILING = "tnsx:Monitoring/FailingPoints"
DOOR = "tns1:Device/Trigger/DigitalInput"
BATTERY = "tns1:Monitoring/BatteryCapacity"


def Peer(port: int, *options: str) -> ModbusPeer:
    """The sparse pymodbus device on `port`."""
    return ModbusPeer.tcp(port, "--layout", "sparse", *options)


_OLD_SCHEMA = None


def old_schema():
    """onvif-zeep-async's own onvif.xsd (older than the vendored set)."""
    global _OLD_SCHEMA
    if _OLD_SCHEMA is None:
        import onvif
        import xmlschema
        _OLD_SCHEMA = xmlschema.XMLSchema(str(Path(onvif.__path__[0]) / "wsdl" / "onvif.xsd"), allow="local")
    return _OLD_SCHEMA


def pulled(address: str, timeout: str = "PT1S") -> list[dict]:
    """One PullMessages (validated by conftest.soap); each tt:Message is also checked against
    the older schema."""
    r = pull(address, timeout)
    assert r.status_code == 200, r.text
    for m in etree.fromstring(r.content).iter("{%s}Message" % NS["tt"]):
        errors = [str(e)[:300] for e in old_schema().iter_errors(etree.tostring(m).decode())]
        assert not errors, errors
    return messages(r)


def pull_until(address: str, want, timeout: float = 30.0) -> list[dict]:
    return conftest_pull_until(address, want, timeout, pulled)


def first(got: list[dict], pred) -> int:
    return next(i for i, m in enumerate(got) if pred(m))


def is_link(connected: str, op: str | None = None):
    return lambda m: m["topic"] == LINK and m["data"]["Connected"] == connected and op in (None, m["op"])


def start(tmp_path: Path, port: int, metrics_port: int | None = None) -> Gateway:
    (tmp_path / "site.yaml").write_text(f"""\
controllers:
  - name: panel
    modbus_tcp: {{host: 127.0.0.1, port: {port}}}
    unit: 1
    address_base: 0
    poll_interval: 50ms
    timeout: 300ms
    retries: 0
    backoff: {{initial: 200ms, max: 1s}}
inputs:
  - {{token: Door, discrete_input: 1000}}
values:
  - {{name: Battery, holding_register: 60, type: u16, unit: '%', topic: '{BATTERY}'}}
  - {{name: Spare, holding_register: 62, type: u16, topic: 'rg:Panel/Spare'}}
""")
    metrics = f"metrics:\n  listen: [127.0.0.1:{metrics_port}]\n" if metrics_port else ""
    return Gateway(tmp_path, config="mapping: site.yaml\n" + metrics).start()


def link_up_metric(metrics_port: int) -> float:
    return panel_metric(metrics_port, "railgate_controller_link_up")


def panel_metric(metrics_port: int, name: str) -> float:
    from test_metrics import scrape
    return scrape(metrics_port).get((name, (("controller", "panel"),)), 0)


@pytest.fixture
def port():
    return free_port()


def test_link_state_comes_first_for_late_subscribers_and_on_reconnect(tmp_path, port):
    metrics_port = free_port()
    g = start(tmp_path, port, metrics_port)
    peer = None
    try:
        # Never up: the link state and the failing points exist, no input does.
        a = create_pull_point(g, termination="PT300S")
        got = pull_until(a, lambda ms: any(is_link("false")(m) and "refused" in m["data"]["Reason"].lower()
                                            for m in ms))
        initial = [m for m in got if m["op"] == "Initialized"]
        assert [m["topic"] for m in initial if m["topic"] in (LINK, FAILING)] == [LINK, FAILING], initial
        link = next(m for m in initial if m["topic"] == LINK)
        assert (link["source"], link["data"]["Connected"]) == ({"Controller": "panel"}, "false")
        assert [m["data"] for m in initial if m["topic"] == FAILING] == [{"Failing": "", "Count": "0"}]
        assert not [m for m in got if m["topic"] in (DOOR, BATTERY)], "no input of a link never up"
        assert link_up_metric(metrics_port) == 0

        # The device answers: link up first, then the first readings, and the refused point.
        peer = Peer(port)
        got = pull_until(a, lambda ms: any(m["topic"] == DOOR for m in ms)
                         and any(m["topic"] == FAILING and m["data"]["Count"] == "1" for m in ms))
        up = first(got, is_link("true", "Changed"))
        assert got[up]["data"]["Reason"] == "connected"
        assert up < first(got, lambda m: m["topic"] == DOOR) < len(got)
        assert up < first(got, lambda m: m["topic"] == BATTERY)
        assert got[first(got, lambda m: m["topic"] == DOOR)]["data"] == {"LogicalState": "false"}
        failing = got[first(got, lambda m: m["topic"] == FAILING)]
        assert (failing["op"], failing["data"]) == ("Changed", {"Failing": "panel/holding/62", "Count": "1"})
        assert up < got.index(failing)
        assert link_up_metric(metrics_port) == 1
        # Polled: requests and complete poll cycles (50 ms apart, each well under 1 s).
        assert panel_metric(metrics_port, "railgate_controller_requests_total") >= 2
        assert panel_metric(metrics_port, "railgate_poll_cycle_seconds_count") >= 1
        from test_metrics import scrape
        under_a_second = scrape(metrics_port)[("railgate_poll_cycle_seconds_bucket", (("controller", "panel"), ("le", "1.0")))]
        assert under_a_second >= 1

        # The device is gone: Connected=false, Changed, with a reason.
        peer.kill()
        got = pull_until(a, lambda ms: any(is_link("false", "Changed")(m) for m in ms))
        down = got[first(got, is_link("false"))]
        assert down["data"]["Reason"] not in ("", "connected"), down
        assert link_up_metric(metrics_port) == 0
        assert panel_metric(metrics_port, "railgate_controller_failures_total") >= 1

        # A subscriber joining during the outage: the link state before every input.
        b = create_pull_point(g, termination="PT300S")
        joined = pulled(b)
        assert all(m["op"] == "Initialized" for m in joined), joined
        topics = [m["topic"] for m in joined]
        assert topics.index(LINK) < topics.index(DOOR) and topics.index(LINK) < topics.index(BATTERY), topics
        assert joined[topics.index(LINK)]["data"]["Connected"] == "false"
        assert joined[topics.index(DOOR)]["data"] == {"LogicalState": "false"}, "inputs keep their last value"
        assert joined[topics.index(FAILING)]["data"]["Count"] == "1"
        # SetSynchronizationPoint: the same order.
        r = soap(b, "<tev:SetSynchronizationPoint/>", auth=ADMIN)
        assert r.status_code == 200, r.text
        again = [m["topic"] for m in pulled(b)]
        assert again.index(LINK) < again.index(DOOR), again

        # Back, with the door now closed: link-up before the input's Changed, for both.
        peer = Peer(port, "--on", "discrete:1000")
        for address in (a, b):
            got = pull_until(address, lambda ms: any(m["topic"] == DOOR and m["op"] == "Changed" for m in ms))
            door = first(got, lambda m: m["topic"] == DOOR and m["op"] == "Changed")
            assert got[door]["data"] == {"LogicalState": "true"}
            assert first(got, is_link("true", "Changed")) < door, got
            assert sum(1 for m in got if m["topic"] == LINK) == 1, f"one transition, one message: {got}"
    finally:
        if peer:
            peer.kill()
        assert g.stop() == 0, g.log()


def test_get_event_properties_declares_both_topics(tmp_path, port):
    g = start(tmp_path, port)
    try:
        r = soap(g.endpoint("event_service"), "<tev:GetEventProperties/>", auth=ADMIN)
        assert r.status_code == 200, r.text
        root = etree.fromstring(r.content)
        monitoring = [e for e in root.iter("{%s}Monitoring" % RG)]
        assert len(monitoring) == 1, r.text
        for topic, source, data in [("ControllerLink", ["Controller"], ["Connected", "Reason"]),
                                    ("FailingPoints", ["Controller"], ["Failing", "Count"])]:
            [el] = monitoring[0].findall(topic)
            assert el.get("{http://docs.oasis-open.org/wsn/t-1}topic") == "true"
            desc = el.find("tt:MessageDescription", NS)
            assert desc.get("IsProperty") == "true"
            names = lambda part: [i.get("Name") for i in desc.findall(f"tt:{part}/tt:SimpleItemDescription", NS)]  # noqa: E731
            assert (names("Source"), names("Data")) == (source, data)
            assert desc.findall(".//tt:ElementItemDescription", NS) == []
        assert b"LinkStatus" not in r.content
    finally:
        assert g.stop() == 0, g.log()


def test_onvif_zeep_async_reads_the_link_state_of_a_controller_never_up(tmp_path, port):
    """The client (its own older schemas, strict) parses the property; no input appears."""
    import onvif
    from onvif import ONVIFCamera
    from onvif.zeep_aiohttp import AIOHTTPTransport

    from conftest import validator

    g = start(tmp_path, port)
    original = AIOHTTPTransport._post_internal

    async def checked(self, *args, **kwargs):
        response, content = await original(self, *args, **kwargs)
        if "soap+xml" in response.headers.get("Content-Type", ""):
            validator().check(content)
        return response, content

    async def flow():
        cam = ONVIFCamera("127.0.0.1", g.port, *ADMIN, wsdl_dir=onvif.__path__[0] + "/wsdl", adjust_time=True)
        try:
            await cam.update_xaddrs()
            manager = await cam.create_pullpoint_manager(dt.timedelta(seconds=600), lambda: None)
            service = manager.get_service()
            seen = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                res = await service.PullMessages({"MessageLimit": 100, "Timeout": dt.timedelta(seconds=1)})
                for n in res.NotificationMessage:
                    m = n.Message._value_1
                    items = lambda g: {i.Name: i.Value for i in (getattr(m, g).SimpleItem if getattr(m, g) else [])}  # noqa: E731
                    seen.append((items("Source"), m.PropertyOperation, items("Data")))
                if any(d.get("Reason", "").lower().find("refused") >= 0 for _, _, d in seen):
                    break
            await manager.shutdown()
            return seen
        finally:
            await cam.close()

    try:
        AIOHTTPTransport._post_internal = checked
        seen = asyncio.run(flow())
    finally:
        AIOHTTPTransport._post_internal = original
        assert g.stop() == 0, g.log()
    links = [(op, d["Connected"]) for s, op, d in seen if s == {"Controller": "panel"} and "Connected" in d]
    assert links and links[0] == ("Initialized", "false"), seen
    assert all(c == "false" for _, c in links), seen
    assert not [s for s, _, _ in seen if "InputToken" in s], "a controller never up has no input properties"
