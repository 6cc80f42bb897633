"""The event service with real clients: pull points, long polls, filters, renew, sync
points, Seek over a restart, faults. Events are raised through the test-build source."""

import asyncio
import datetime as dt
import time

import pytest

from conftest import (serving_event_gateway, ADMIN, USER, create_pull_point, event_gateway, fault_codes, messages, pull, soap, texts,
                      topic_filter, xml, zeep_events, NS)

DI = "Device/Trigger/DigitalInput"


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    yield from serving_event_gateway(tmp_path_factory.mktemp("ev"), config="events:\n  max_pull_points: 32\n")


def zmsg(notification) -> tuple:
    """(source, operation, data) of a NotificationMessage as zeep returns it (the tt:Message
    under wsnt:Message is an xs:any, so zeep hands over the lxml element)."""
    m = notification.Message._value_1
    if hasattr(m, "findall"):
        items = lambda g: {i.get("Name"): i.get("Value") for i in m.findall(f"tt:{g}/tt:SimpleItem", NS)}  # noqa: E731
        return items("Source"), m.get("PropertyOperation"), items("Data")
    # onvif-zeep-async knows the tt: schema and gives typed objects.
    typed = lambda g: {i.Name: i.Value for i in (getattr(m, g).SimpleItem if getattr(m, g) else [])}  # noqa: E731
    return typed("Source"), m.PropertyOperation, typed("Data")


def raise_di(gw, token, state):
    return gw.source.raise_event(DI, {"InputToken": token}, {"LogicalState": "true" if state else "false"})


def test_capabilities_and_properties(gw):
    r = soap(gw.endpoint("event_service"), "<tev:GetServiceCapabilities/>")
    caps = xml(r).find(".//tev:Capabilities", NS)
    assert caps.get("PersistentNotificationStorage") == "true"
    assert caps.get("MaxPullPoints") == "32"
    raise_di(gw, "props", False)
    r = soap(gw.endpoint("event_service"), "<tev:GetEventProperties/>", auth=USER)
    assert r.status_code == 200
    body = r.content.decode()
    assert 'wstop:topic="true"' in body and "<Begin" in body and "<DigitalInput" in body
    dialects = texts(r, ".//wsnt:TopicExpressionDialect")
    assert "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet" in dialects
    # Listed by both service discovery paths.
    r = soap(gw.url, "<tds:GetCapabilities><tds:Category>Events</tds:Category></tds:GetCapabilities>")
    assert texts(r, ".//tt:Events/tt:XAddr") == [gw.endpoint("event_service")]


def test_pull_point_with_zeep_initialized_then_changed_long_poll(gw):
    events = zeep_events(gw.endpoint("event_service"))
    raise_di(gw, "in1", False)
    created = events.CreatePullPointSubscription(InitialTerminationTime="PT600S")
    assert (created.TerminationTime - created.CurrentTime).total_seconds() == pytest.approx(600, abs=2)
    address = create_pull_point(gw, topic_filter("tns1:Device/Trigger//."), "PT600S")
    pp = zeep_events(address, "PullPointSubscriptionBinding")
    first = pp.PullMessages(Timeout=dt.timedelta(seconds=5), MessageLimit=100)
    states = {zmsg(m)[0].get("InputToken"): zmsg(m)[1] for m in first.NotificationMessage}
    assert states.get("in1") == "Initialized", states
    # A long poll returns as soon as an event arrives.
    import threading
    threading.Timer(0.7, lambda: raise_di(gw, "in1", True)).start()
    t0 = time.monotonic()
    second = pp.PullMessages(Timeout=dt.timedelta(seconds=20), MessageLimit=100)
    waited = time.monotonic() - t0
    assert 0.5 < waited < 5, waited
    got = [zmsg(m) for m in second.NotificationMessage]
    assert [(src["InputToken"], op, data["LogicalState"]) for src, op, data in got] == [("in1", "Changed", "true")]
    assert second.TerminationTime.tzinfo is not None


def test_pull_returns_empty_only_at_the_timeout(gw):
    address = create_pull_point(gw, topic_filter("tns1:Device/Trigger/Relay"))
    t0 = time.monotonic()
    r = pull(address, "PT2S")
    assert messages(r) == []
    assert time.monotonic() - t0 >= 1.9


def test_no_change_no_event_and_message_limit(gw):
    address = create_pull_point(gw, topic_filter("tns1:Device/Trigger/DigitalInput"))
    pull(address, "PT1S")  # drain the Initialized states
    assert raise_di(gw, "lim", True) is not None
    assert raise_di(gw, "lim", True) is None, "same value: no event"
    for i in range(5):
        raise_di(gw, "lim", i % 2 == 1)
    first = messages(pull(address, "PT1S", limit=4))
    rest = messages(pull(address, "PT1S", limit=100))
    assert len(first) == 4 and len(rest) == 2, (first, rest)
    assert [m["op"] for m in first + rest][1:] == ["Changed"] * 5


def test_content_filter_and_changed_only(gw):
    content = ('<wsnt:MessageContent Dialect="http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter">'
               'boolean(//tt:SimpleItem[@Name="InputToken" and @Value="wanted"])</wsnt:MessageContent>')
    address = create_pull_point(gw, topic_filter("tns1:Device//.") + content,
                                policy="<tev:SubscriptionPolicy><tev:ChangedOnly/></tev:SubscriptionPolicy>")
    raise_di(gw, "unwanted", True)
    raise_di(gw, "wanted", True)   # first time known: Initialized, not delivered with ChangedOnly
    raise_di(gw, "wanted", False)
    got = messages(pull(address, "PT1S"))
    assert [(m["source"]["InputToken"], m["op"]) for m in got] == [("wanted", "Changed")]


def test_filter_faults(gw):
    bad_expr = soap(gw.endpoint("event_service"),
                    f"<tev:CreatePullPointSubscription><tev:Filter>{topic_filter('tns1:Device/*')}</tev:Filter></tev:CreatePullPointSubscription>",
                    auth=ADMIN)
    assert bad_expr.status_code == 400, "a client's malformed filter is env:Sender"
    assert fault_codes(bad_expr)[0] == "env:Sender"
    assert xml(bad_expr).find(".//env:Detail/wsnt:InvalidTopicExpressionFault", NS) is not None
    unbound = soap(gw.endpoint("event_service"),
                   f"<tev:CreatePullPointSubscription><tev:Filter>{topic_filter('nope:Device/Trigger')}</tev:Filter></tev:CreatePullPointSubscription>",
                   auth=ADMIN)
    assert unbound.status_code == 400, unbound.text
    assert xml(unbound).find(".//wsnt:InvalidTopicExpressionFault", NS) is not None
    assert texts(bad_expr, ".//env:Header/wsa:Action") == ["http://www.w3.org/2005/08/addressing/soap/fault"]
    dialect = soap(gw.endpoint("event_service"),
                   f"<tev:CreatePullPointSubscription><tev:Filter>{topic_filter('tns1:Device', 'urn:nope')}</tev:Filter></tev:CreatePullPointSubscription>",
                   auth=ADMIN)
    assert xml(dialect).find(".//wsnt:TopicExpressionDialectUnknownFault", NS) is not None
    assert dialect.status_code == 400
    content = soap(gw.endpoint("event_service"),
                   '<tev:CreatePullPointSubscription><tev:Filter><wsnt:MessageContent Dialect="http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter">boolean(//tt:SimpleItem[@Other="x"])</wsnt:MessageContent></tev:Filter></tev:CreatePullPointSubscription>',
                   auth=ADMIN)
    assert xml(content).find(".//wsnt:InvalidMessageContentExpressionFault", NS) is not None
    assert content.status_code == 400
    past = soap(gw.endpoint("event_service"),
                "<tev:CreatePullPointSubscription><tev:InitialTerminationTime>2001-01-01T00:00:00Z</tev:InitialTerminationTime></tev:CreatePullPointSubscription>",
                auth=ADMIN)
    assert xml(past).find(".//wsnt:UnacceptableInitialTerminationTimeFault/wsnt:MinimumTime", NS) is not None


def test_pull_timeout_too_large(gw):
    address = create_pull_point(gw)
    r = pull(address, "PT1H")
    assert r.status_code == 500
    assert texts(r, ".//tev:PullMessagesFaultResponse/tev:MaxTimeout") == ["PT600S"]


def test_renew_unsubscribe_and_unknown_subscription(gw):
    address = create_pull_point(gw, termination="PT10S")
    mgr = zeep_events(address, "SubscriptionManagerBinding")
    renewed = mgr.Renew(TerminationTime="PT600S")
    assert (renewed.TerminationTime - renewed.CurrentTime).total_seconds() == pytest.approx(600, abs=2)
    absolute = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    renewed = mgr.Renew(TerminationTime=absolute)
    assert renewed.TerminationTime.strftime("%Y-%m-%dT%H:%M:%SZ") == absolute
    r = soap(address, "<wsnt:Renew><wsnt:TerminationTime>2001-01-01T00:00:00Z</wsnt:TerminationTime></wsnt:Renew>", auth=ADMIN)
    assert xml(r).find(".//wsnt:UnacceptableTerminationTimeFault", NS) is not None
    mgr.Unsubscribe()
    gone = pull(address)
    assert gone.status_code == 500
    assert xml(gone).find(".//env:Detail/wsrf-r:ResourceUnknownFault", NS) is not None


def test_expiry_by_termination_time(gw):
    address = create_pull_point(gw, termination="PT1S")
    time.sleep(2.5)
    assert xml(pull(address)).find(".//wsrf-r:ResourceUnknownFault", NS) is not None


def test_synchronization_point_resends_initialized(gw):
    raise_di(gw, "sync", True)
    address = create_pull_point(gw, topic_filter("tns1:Device/Trigger/DigitalInput"))
    pull(address, "PT1S")
    assert messages(pull(address, "PT1S")) == []
    assert soap(address, "<tev:SetSynchronizationPoint/>", auth=ADMIN).status_code == 200
    again = messages(pull(address, "PT1S"))
    assert again and all(m["op"] == "Initialized" for m in again)
    assert {"InputToken": "sync"} in [m["source"] for m in again]


def test_max_pull_points(tmp_path):
    g, source = event_gateway(tmp_path, config="events:\n  max_pull_points: 2\n")
    g.start()
    try:
        create_pull_point(g)
        create_pull_point(g)
        r = soap(g.endpoint("event_service"), "<tev:CreatePullPointSubscription/>", auth=ADMIN)
        assert r.status_code == 500
        assert xml(r).find(".//wsnt:SubscribeCreationFailedFault", NS) is not None
    finally:
        assert g.stop() == 0


def test_access_control_on_pull_points(gw):
    # READ_MEDIA: every user level may create and pull its own pull point. (This test pulled
    # the admin's pull point as the User until issue 11: a pull point belongs to its creator.)
    own = create_pull_point(gw, auth=USER)
    assert pull(own, auth=USER).status_code == 200, "READ_MEDIA: every user level"
    address = create_pull_point(gw)
    r = pull(address, auth=USER)
    assert r.status_code == 500 and xml(r).find(".//wsrf-r:ResourceUnknownFault", NS) is not None, "another principal's pull point"
    assert pull(address, auth=None).status_code == 401


def test_seek_back_over_a_restart(tmp_path):
    g, source = event_gateway(tmp_path)
    g.start()
    source.connect()
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    seqs = [source.raise_event("Test/Seek", {"Id": "s"}, {"N": str(i)}, prop=False) for i in range(5)]
    source.close()
    assert g.stop() == 0
    g.start()
    try:
        address = create_pull_point(g, topic_filter("tns1:Test/Seek"))
        assert messages(pull(address, "PT1S")) == [], "a new pull point starts at the newest event"
        assert soap(address, f"<tev:Seek><tev:UtcTime>{before.strftime('%Y-%m-%dT%H:%M:%S.%fZ')[:-4]}Z</tev:UtcTime></tev:Seek>", auth=ADMIN).status_code == 200
        got = messages(pull(address, "PT1S"))
        # The store began after `before`: the beginning of the buffer is reported first.
        assert got[0]["topic"] == "tns1:EventBuffer/Begin", got
        assert [m["data"]["N"] for m in got[1:]] == ["0", "1", "2", "3", "4"], got
        # Reverse: newest first, then the beginning-of-buffer event once.
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert soap(address, f"<tev:Seek><tev:UtcTime>{now}</tev:UtcTime><tev:Reverse>true</tev:Reverse></tev:Seek>", auth=ADMIN).status_code == 200
        back = messages(pull(address, "PT1S"))
        assert [m["data"].get("N") for m in back if m["topic"].endswith("Test/Seek")] == ["4", "3", "2", "1", "0"]
        assert back[-1]["topic"] == "tns1:EventBuffer/Begin"
        # Seeking to before the oldest event reports the beginning of the buffer first.
        assert soap(address, "<tev:Seek><tev:UtcTime>2001-01-01T00:00:00Z</tev:UtcTime></tev:Seek>", auth=ADMIN).status_code == 200
        fwd = messages(pull(address, "PT1S"))
        assert fwd[0]["topic"] == "tns1:EventBuffer/Begin"
        assert [m["topic"] for m in fwd].count("tns1:EventBuffer/Begin") == 1
    finally:
        assert g.stop() == 0
    assert seqs == sorted(seqs)


def test_home_assistant_pull_point_manager(gw):
    import onvif
    from onvif import ONVIFCamera

    async def flow():
        cam = ONVIFCamera("127.0.0.1", gw.port, *ADMIN, wsdl_dir=onvif.__path__[0] + "/wsdl", adjust_time=True)
        try:
            await cam.update_xaddrs()
            manager = await cam.create_pullpoint_manager(dt.timedelta(seconds=600), lambda: None)
            await manager.set_synchronization_point()
            service = manager.get_service()
            first = await service.PullMessages({"MessageLimit": 100, "Timeout": dt.timedelta(seconds=5)})
            assert any(zmsg(m)[1] == "Initialized" for m in first.NotificationMessage)
            raise_di(gw, "ha", True)
            raise_di(gw, "ha", False)
            second = await service.PullMessages({"MessageLimit": 100, "Timeout": dt.timedelta(seconds=60)})
            ops = [(zmsg(m)[0].get("InputToken"), zmsg(m)[1]) for m in second.NotificationMessage]
            assert ("ha", "Changed") in ops, ops
            await manager.shutdown()
        finally:
            await cam.close()

    asyncio.run(flow())


def test_controller_link_state_of_a_southbound_link(gw):
    rg = "urn:railgate:topics"
    expr = (f'<wsnt:TopicExpression xmlns:rg="{rg}" Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">'
            "rg:Monitoring/ControllerLink</wsnt:TopicExpression>")
    address = create_pull_point(gw, expr)
    pull(address, "PT1S")
    gw.source.send({"link": "panel1", "up": False, "reason": "connection refused"})
    down = messages(pull(address, "PT5S"))
    assert [(m["topic"], m["source"], m["op"], m["data"]) for m in down] == [
        ("tnsx:Monitoring/ControllerLink", {"Controller": "panel1"}, "Initialized",
         {"Connected": "false", "Reason": "connection refused"})]
    gw.source.send({"link": "panel1", "up": True})
    up = messages(pull(address, "PT5S"))
    assert [(m["op"], m["data"]) for m in up] == [("Changed", {"Connected": "true", "Reason": "connected"})], \
        "a VMS rule fires on the SimpleItem changing, not on Deleted"
    assert gw.source.send({"link": "panel1", "up": True}) == "ok -", "no repeat of an unchanged state"


def test_events_command_lists_and_follows(gw):
    import subprocess
    from conftest import binary
    gw.source.raise_event("Test/Cli", {"Id": "c"}, {"N": "1"}, prop=False)
    out = subprocess.run([binary(), "--data-dir", gw.data, "events", "--topic", "Test/Cli"],
                         capture_output=True, text=True, check=True).stdout
    assert "tns1:Test/Cli" in out and "data:N=1" in out
    # The topic as a VMS shows it, with its prefix: the same event; another namespace: none.
    prefixed = subprocess.run([binary(), "--data-dir", gw.data, "events", "--topic", "tns1:Test/Cli"],
                              capture_output=True, text=True, check=True).stdout
    assert prefixed == out
    other = subprocess.run([binary(), "--data-dir", gw.data, "events", "--topic", "rg:Test/Cli"],
                           capture_output=True, text=True, check=True).stdout
    assert "Test/Cli" not in other
    unknown = subprocess.run([binary(), "--data-dir", gw.data, "events", "--topic", "tnsx:Test/Cli"],
                             capture_output=True, text=True)
    assert unknown.returncode == 64 and "give the path alone" in unknown.stderr, unknown
    follower = subprocess.Popen([binary(), "--data-dir", gw.data, "events", "--topic", "Test/Cli", "--follow"],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert "data:N=1" in follower.stdout.readline()
        gw.source.raise_event("Test/Cli", {"Id": "c"}, {"N": "2"}, prop=False)
        assert "data:N=2" in follower.stdout.readline(), "new events are printed as they are stored"
    finally:
        follower.kill()
        follower.wait()
