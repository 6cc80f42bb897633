"""What VMS clients rely on from a pull point (issue 12), against the real binary with raw
SOAP: PullMessages keeps a pull point alive by its initial termination period (Milestone and
Genetec pull without ever renewing), every answer's TerminationTime is after its CurrentTime,
and MessageLimit 0 returns no message."""

import datetime as dt
import time

import pytest

from conftest import (serving_event_gateway, USER, create_pull_point, fault_codes, messages, pull, texts,
                      topic_filter)

QUIET = topic_filter("tns1:Device/Trigger/Relay")  # nothing raises it in these tests


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    yield from serving_event_gateway(tmp_path_factory.mktemp("vms"))


def times(resp) -> tuple[dt.datetime, dt.datetime]:
    parse = lambda s: dt.datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return parse(texts(resp, ".//tev:CurrentTime")[0]), parse(texts(resp, ".//tev:TerminationTime")[0])


def test_a_pull_point_pulled_but_never_renewed_lives_on(gw):
    pp = create_pull_point(gw, QUIET, termination="PT2S", auth=USER)
    started = time.monotonic()
    # Each pull waits its whole Timeout (longer than the lifetime); three of them outlive the
    # initial 2 s three times over.
    for _ in range(3):
        r = pull(pp, timeout="PT3S", auth=USER)
        assert r.status_code == 200, r.text
        assert messages(r) == []
        current, termination = times(r)
        assert termination > current, (current, termination)
        assert termination - current >= dt.timedelta(seconds=1.9), "extended by the initial period"
    assert time.monotonic() - started >= 8.5
    # Not pulled any more, it ends after its period.
    time.sleep(2.5)
    r = pull(pp, timeout="PT0S", auth=USER)
    assert r.status_code != 200
    assert "wsrf-r:ResourceUnknownFault" in fault_codes(r) or "ResourceUnknownFault" in r.text


def test_message_limit_zero_returns_no_message(gw):
    pp = create_pull_point(gw, auth=USER)
    gw.source.raise_event("Device/Trigger/DigitalInput", {"InputToken": "ml0"}, {"LogicalState": "true"})
    started = time.monotonic()
    r = pull(pp, timeout="PT20S", limit=0, auth=USER)
    assert r.status_code == 200, r.text
    assert messages(r) == []
    assert time.monotonic() - started < 5, "answered at once, not at the Timeout"
    current, termination = times(r)
    assert termination > current
    r = pull(pp, timeout="PT2S", limit=100, auth=USER)
    assert any(m["source"].get("InputToken") == "ml0" for m in messages(r)), "still waiting for the next pull"


def test_a_second_pull_supersedes_a_waiting_one_with_a_fault_not_an_empty_answer(gw):
    import concurrent.futures
    pp = create_pull_point(gw, QUIET, auth=USER)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        first = pool.submit(pull, pp, "PT20S", 100, USER)
        time.sleep(0.5)
        started = time.monotonic()
        second = pull(pp, timeout="PT1S", auth=USER)
        old = first.result(timeout=10)
    assert second.status_code == 200, second.text
    assert old.status_code == 500, old.text
    assert "ter:Action" in fault_codes(old)
    assert "superseded" in old.text
    assert time.monotonic() - started < 5, "the first answered when the second came, not at its Timeout"


def test_event_replies_carry_ws_addressing_action_and_relates_to(gw):
    from conftest import soap, username_token
    pp = create_pull_point(gw, QUIET, auth=USER)
    wsa = ('<wsa:MessageID env:mustUnderstand="true">urn:uuid:5f1c0e0a-0000-4000-8000-000000000001</wsa:MessageID>'
           f'<wsa:To env:mustUnderstand="true">{pp}</wsa:To>'
           '<wsa:Action env:mustUnderstand="true">http://www.onvif.org/ver10/events/wsdl/PullPointSubscription/PullMessagesRequest</wsa:Action>')
    r = soap(pp, "<tev:PullMessages><tev:Timeout>PT0S</tev:Timeout><tev:MessageLimit>10</tev:MessageLimit></tev:PullMessages>",
             header=username_token(*USER) + wsa)
    assert r.status_code == 200, r.text
    assert texts(r, ".//env:Header/wsa:Action") == [
        "http://www.onvif.org/ver10/events/wsdl/PullPointSubscription/PullMessagesResponse"]
    assert texts(r, ".//env:Header/wsa:RelatesTo") == ["urn:uuid:5f1c0e0a-0000-4000-8000-000000000001"]
    # Without a MessageID: the Action alone.
    r = soap(pp, "<wsnt:Renew><wsnt:TerminationTime>PT60S</wsnt:TerminationTime></wsnt:Renew>", auth=USER)
    assert texts(r, ".//env:Header/wsa:Action") == [
        "http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/RenewResponse"]
    assert texts(r, ".//env:Header/wsa:RelatesTo") == []
    # A fault relates to its request too: a pull on the pull point after Unsubscribe.
    soap(pp, "<wsnt:Unsubscribe/>", auth=USER)
    r = soap(pp, "<tev:PullMessages><tev:Timeout>PT0S</tev:Timeout><tev:MessageLimit>10</tev:MessageLimit></tev:PullMessages>",
             header=username_token(*USER) + wsa)
    assert r.status_code == 500 and "ResourceUnknownFault" in r.text, r.text
    assert texts(r, ".//env:Header/wsa:Action") == ["http://www.w3.org/2005/08/addressing/soap/fault"]
    assert texts(r, ".//env:Header/wsa:RelatesTo") == ["urn:uuid:5f1c0e0a-0000-4000-8000-000000000001"]


def test_onveef_pulls_events_and_keeps_its_pull_point_alive_without_renewing(gw):
    """onveef (zeep-free) as a VMS that never renews: its raw pull-point calls, with its own
    WS-Addressing headers, against the pull-point lifetime rule."""
    from conftest import onveef_client
    cam = onveef_client(gw.url, USER)
    created = cam.events_create_pull_point(termination_time="PT2S",
                                           topic_filter="tns1:Device/Trigger/DigitalInput")
    url = created["subscription_url"]
    assert url.startswith(gw.url.rsplit("/onvif/", 1)[0]), url
    started = time.monotonic()
    seen = []
    while time.monotonic() - started < 6:  # three times the initial lifetime, never renewed
        if not seen:
            gw.source.raise_event("Device/Trigger/DigitalInput", {"InputToken": "onveef-1"}, {"LogicalState": "true"})
        got = cam.events_pull_messages(subscription_url=url, timeout="PT1S", message_limit=10)
        assert got["termination_time"] > got["current_time"], got
        seen += got["messages"]
    assert b"<wsa:Action" in cam.sent[-1] and b"PullMessagesRequest" in cam.sent[-1]
    mine = [m for m in seen if m["source"].get("InputToken") == "onveef-1"]
    assert mine and mine[0]["topic"].endswith("Device/Trigger/DigitalInput"), seen
    # The property's first value: Initialized (the property state model decides the operation).
    assert mine[0]["data"] == {"LogicalState": "true"} and mine[0]["property_operation"] == "Initialized"
    cam.events_unsubscribe(subscription_url=url)
