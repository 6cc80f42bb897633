"""Basic notification: Subscribe with a consumer the test runs; railgate POSTs wsnt:Notify
to it, retries while it is down, and honours Renew, Unsubscribe and the consumer allow-list."""

import http.server
import queue
import threading
import time

import pytest

from conftest import ADMIN, NS, event_gateway, fault_codes, free_port, soap, texts, validator, xml
from lxml import etree


class Consumer:
    """A notification consumer: an HTTP server that records every Notify body."""

    def __init__(self, port: int = 0):
        received = self.received = queue.Queue()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.put(body)
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify"

    def next(self, timeout: float = 10) -> etree._Element:
        body = self.received.get(timeout=timeout)
        validator().check(body)
        return etree.fromstring(body)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def subscribe(gw, consumer_url: str, termination: str = "PT600S", extra: str = ""):
    body = (f"<wsnt:Subscribe><wsnt:ConsumerReference><wsa:Address>{consumer_url}</wsa:Address></wsnt:ConsumerReference>"
            f"{extra}<wsnt:InitialTerminationTime>{termination}</wsnt:InitialTerminationTime></wsnt:Subscribe>")
    return soap(gw.endpoint("event_service"), body, auth=ADMIN)


def notified(doc) -> list[tuple]:
    out = []
    for m in doc.findall(".//wsnt:NotificationMessage", NS):
        msg = m.find(".//tt:Message", NS)
        src = {i.get("Name"): i.get("Value") for i in msg.findall("tt:Source/tt:SimpleItem", NS)}
        data = {i.get("Name"): i.get("Value") for i in msg.findall("tt:Data/tt:SimpleItem", NS)}
        out.append((m.find("wsnt:Topic", NS).text, msg.get("PropertyOperation"), src, data))
    return out


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    metrics_port = free_port()
    g, source = event_gateway(tmp_path_factory.mktemp("bn"),
                              config=f"metrics:\n  listen: [127.0.0.1:{metrics_port}]\n")
    g.metrics_port = metrics_port
    g.start()
    source.connect()
    g.source = source
    yield g
    source.close()
    assert g.stop() == 0


def test_notify_reaches_the_consumer_with_initialized_then_changed(gw):
    consumer = Consumer()
    try:
        gw.source.raise_event("Device/Trigger/DigitalInput", {"InputToken": "bn1"}, {"LogicalState": "false"})
        filt = ('<wsnt:Filter><wsnt:TopicExpression Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">'
                'tns1:Device/Trigger/DigitalInput</wsnt:TopicExpression></wsnt:Filter>')
        r = subscribe(gw, consumer.url, extra=filt)
        assert r.status_code == 200, r.text
        manager = texts(r, ".//wsnt:SubscriptionReference/wsa:Address")[0]
        assert "/onvif/event_service/subscription/" in manager
        first = consumer.next()
        assert first.find(".//wsa:Action", NS).text == "http://docs.oasis-open.org/wsn/bw-2/NotificationConsumer/Notify"
        assert ("tns1:Device/Trigger/DigitalInput", "Initialized", {"InputToken": "bn1"}, {"LogicalState": "false"}) in notified(first)
        assert first.find(".//wsnt:NotificationMessage/wsnt:SubscriptionReference/wsa:Address", NS).text == manager
        gw.source.raise_event("Device/Trigger/DigitalInput", {"InputToken": "bn1"}, {"LogicalState": "true"})
        assert notified(consumer.next()) == [("tns1:Device/Trigger/DigitalInput", "Changed", {"InputToken": "bn1"}, {"LogicalState": "true"})]
        # Pulling from a push subscription is refused; Renew and Unsubscribe work on its manager.
        r = soap(manager, "<tev:PullMessages><tev:Timeout>PT1S</tev:Timeout><tev:MessageLimit>1</tev:MessageLimit></tev:PullMessages>", auth=ADMIN)
        assert xml(r).find(".//wsnt:UnableToGetMessagesFault", NS) is not None
        r = soap(manager, "<wsnt:Renew><wsnt:TerminationTime>PT120S</wsnt:TerminationTime></wsnt:Renew>", auth=ADMIN)
        assert r.status_code == 200
        assert soap(manager, "<wsnt:Unsubscribe/>", auth=ADMIN).status_code == 200
        gw.source.raise_event("Device/Trigger/DigitalInput", {"InputToken": "bn1"}, {"LogicalState": "false"})
        with pytest.raises(queue.Empty):
            consumer.next(timeout=2)
    finally:
        consumer.close()


def test_consumer_down_then_back_gets_everything(gw):
    consumer = Consumer()
    port = consumer.port
    r = subscribe(gw, consumer.url, extra=('<wsnt:Filter><wsnt:TopicExpression Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">'
                                           'tns1:Test/Down</wsnt:TopicExpression></wsnt:Filter>'))
    assert r.status_code == 200
    consumer.close()
    for i in range(3):
        gw.source.raise_event("Test/Down", {"Id": "d"}, {"N": str(i)}, prop=False)
    time.sleep(1.5)  # at least one failed delivery
    back = Consumer(port)
    try:
        got = []
        deadline = time.monotonic() + 15
        while len(got) < 3 and time.monotonic() < deadline:
            got += [d["N"] for _, _, _, d in notified(back.next(timeout=15))]
        assert got == ["0", "1", "2"]
    finally:
        back.close()
    assert "Notify not delivered" in gw.log()
    # The metrics saw the failed attempt and the delivery.
    from test_metrics import scrape
    m = scrape(gw.metrics_port)
    assert m[("railgate_push_notifications_total", (("kind", "delivered"),))] >= 3
    assert m[("railgate_push_notifications_total", (("kind", "failed"),))] >= 1


def test_consumer_allow_list(tmp_path):
    g, _ = event_gateway(tmp_path, config="events:\n  consumer_networks: [10.0.0.0/8]\n")
    g.start()
    try:
        r = subscribe(g, "http://127.0.0.1:9/notify")
        assert r.status_code == 500
        assert xml(r).find(".//wsnt:SubscribeCreationFailedFault", NS) is not None
        assert "consumer_networks" in r.text
    finally:
        assert g.stop() == 0


def test_subscribe_needs_credentials(gw):
    body = ("<wsnt:Subscribe><wsnt:ConsumerReference><wsa:Address>http://127.0.0.1:9/</wsa:Address>"
            "</wsnt:ConsumerReference></wsnt:Subscribe>")
    assert soap(gw.endpoint("event_service"), body).status_code == 401


def test_notify_carries_the_consumer_reference_parameters(gw):
    consumer = Consumer()
    try:
        body = ("<wsnt:Subscribe><wsnt:ConsumerReference>"
                f"<wsa:Address>{consumer.url}</wsa:Address>"
                '<wsa:ReferenceParameters><v:Subscriber xmlns:v="urn:example:vms" v:kind="door">'
                "site-7 &amp; lobby</v:Subscriber><v:Empty xmlns:v=\"urn:example:vms\"/></wsa:ReferenceParameters>"
                "</wsnt:ConsumerReference><wsnt:InitialTerminationTime>PT60S</wsnt:InitialTerminationTime></wsnt:Subscribe>")
        r = soap(gw.endpoint("event_service"), body, auth=ADMIN)
        assert r.status_code == 200, r.text
        assert texts(r, ".//env:Header/wsa:Action") == [
            "http://docs.oasis-open.org/wsn/bw-2/NotificationProducer/SubscribeResponse"]
        gw.source.raise_event("Device/Trigger/DigitalInput", {"InputToken": "refp"}, {"LogicalState": "true"})
        doc = consumer.next()
        header = doc.find("env:Header", NS)
        sub = header.find("{urn:example:vms}Subscriber")
        assert sub is not None, etree.tostring(header)
        assert sub.text == "site-7 & lobby"
        assert sub.get("{urn:example:vms}kind") == "door"
        assert sub.get(f"{{{NS['wsa']}}}IsReferenceParameter") == "true"
        empty = header.find("{urn:example:vms}Empty")
        assert empty is not None and empty.get(f"{{{NS['wsa']}}}IsReferenceParameter") == "true"
        assert header.find("wsa:To", NS).text == consumer.url
    finally:
        consumer.close()
