"""Issue 11, subscriptions and push delivery, tried as a hostile client would, against the
real binary: one account acting on another's subscriptions, one account taking every slot,
a far-future reverse Seek and other extreme times, and Subscribe used for server-side
request forgery (loopback, link-local, the device's own addresses). The non-loopback listen
address the forgery checks need is in a network namespace this test creates
(subscriptions_netns.py; only loopback and a veth pair inside). DNS rebinding is covered by
the Rust test `events::push::tests::delivery_goes_to_the_address_pinned_at_subscribe`."""

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import (serving_event_gateway, ADMIN, NS, OPERATOR, USER, Gateway, add_users, binary, create_pull_point, pull, soap, topic_filter, xml)

HERE = Path(__file__).resolve().parent
FAR = "+262142-12-31T23:59:59.999999999"  # chrono's last instant: Seek + 1 ms overflowed


def fault(r, element: str) -> bool:
    return r.status_code == 500 and xml(r).find(f".//{element}", NS) is not None


def reason(r) -> str:
    return "".join(xml(r).xpath("//*[local-name()='Reason']//text()"))


def subscribe(gw, url: str, auth=ADMIN, termination: str = "PT600S"):
    body = (f"<wsnt:Subscribe><wsnt:ConsumerReference><wsa:Address>{url}</wsa:Address></wsnt:ConsumerReference>"
            f"<wsnt:InitialTerminationTime>{termination}</wsnt:InitialTerminationTime></wsnt:Subscribe>")
    return soap(gw.endpoint("event_service"), body, auth=auth)


def subscription_address(r) -> str:
    assert r.status_code == 200, r.text
    return xml(r).find(".//wsnt:SubscriptionReference/wsa:Address", NS).text


def operations(address: str) -> dict[str, str]:
    """Every request on a pull point, by name."""
    return {
        "PullMessages": "<tev:PullMessages><tev:Timeout>PT0S</tev:Timeout><tev:MessageLimit>10</tev:MessageLimit></tev:PullMessages>",
        "Renew": "<wsnt:Renew><wsnt:TerminationTime>PT120S</wsnt:TerminationTime></wsnt:Renew>",
        "Seek": "<tev:Seek><tev:UtcTime>2020-01-01T00:00:00Z</tev:UtcTime></tev:Seek>",
        "SetSynchronizationPoint": "<tev:SetSynchronizationPoint/>",
        "Unsubscribe": "<wsnt:Unsubscribe/>",
    }


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    yield from serving_event_gateway(tmp_path_factory.mktemp("atk"))


def test_another_account_cannot_touch_a_pull_point_and_learns_nothing(gw):
    mine = create_pull_point(gw, auth=OPERATOR)  # user A (Operator level)
    missing = mine.rsplit("/", 1)[0] + "/AAAAAAAAAAAAAAAA"
    for name, body in operations(mine).items():
        theirs = soap(mine, body, auth=USER)  # user B
        assert fault(theirs, "wsrf-r:ResourceUnknownFault"), (name, theirs.text)
        # Exactly what a reference that does not exist gets: existence is not revealed.
        nothing = soap(missing, body, auth=USER)
        assert (theirs.status_code, reason(theirs)) == (nothing.status_code, reason(nothing)), name
        assert fault(nothing, "wsrf-r:ResourceUnknownFault")
    # B's Unsubscribe did not end it: A still pulls.
    assert pull(mine, "PT0S", auth=OPERATOR).status_code == 200
    # Administrators manage every subscription, in the order that ends with Unsubscribe.
    for name, body in operations(mine).items():
        r = soap(mine, body, auth=ADMIN)
        assert r.status_code == 200, (name, r.text)
    assert fault(pull(mine, "PT0S", auth=OPERATOR), "wsrf-r:ResourceUnknownFault"), "the admin unsubscribed it"


def test_another_account_cannot_renew_or_end_a_push_subscription(gw):
    # A loopback consumer is fine here: the gateway listens on loopback only.
    r = subscribe(gw, "http://127.0.0.1:9/notify", auth=OPERATOR)
    manager = subscription_address(r)
    renew = "<wsnt:Renew><wsnt:TerminationTime>PT120S</wsnt:TerminationTime></wsnt:Renew>"
    assert fault(soap(manager, renew, auth=USER), "wsrf-r:ResourceUnknownFault")
    assert fault(soap(manager, "<wsnt:Unsubscribe/>", auth=USER), "wsrf-r:ResourceUnknownFault")
    assert soap(manager, renew, auth=OPERATOR).status_code == 200, "still there for its owner"
    assert soap(manager, renew, auth=ADMIN).status_code == 200
    assert soap(manager, "<wsnt:Unsubscribe/>", auth=ADMIN).status_code == 200
    assert fault(soap(manager, "<wsnt:Unsubscribe/>", auth=OPERATOR), "wsrf-r:ResourceUnknownFault")


def test_subscription_references_are_not_logged_at_info(gw):
    address = create_pull_point(gw, auth=USER)
    sub_id = address.rsplit("/", 1)[1]
    assert soap(address, "<wsnt:Unsubscribe/>", auth=USER).status_code == 200
    lines = [line for line in gw.log().splitlines() if sub_id in line]
    assert lines, "the reference is logged at DEBUG (the gateway runs with railgate=debug)"
    assert all(" DEBUG " in line or "DEBUG" in line.split(sub_id)[0] for line in lines), lines
    assert not [line for line in gw.log().splitlines() if "127.0.0.1:9/notify" in line and " INFO " in line]


def test_far_future_reverse_seek_and_extreme_times_are_answered(gw):
    address = create_pull_point(gw, auth=USER)
    gw.source.raise_event("Test/Seek", {"Id": "far"}, {"N": "1"}, prop=False)
    for utc, reverse in [(FAR, "true"), (FAR, "false"), ("9999-12-31T23:59:59.999Z", "true"),
                         ("0001-01-01T00:00:00Z", "true"), ("0001-01-01T00:00:00Z", "false")]:
        r = soap(address, f"<tev:Seek><tev:UtcTime>{utc}</tev:UtcTime><tev:Reverse>{reverse}</tev:Reverse></tev:Seek>", auth=USER)
        assert r.status_code == 200, (utc, reverse, r.text)
        assert pull(address, "PT0S", limit=1000, auth=USER).status_code == 200
    # A reverse Seek from the end of time reads every stored event back, newest first.
    soap(address, f"<tev:Seek><tev:UtcTime>{FAR}</tev:UtcTime><tev:Reverse>true</tev:Reverse></tev:Seek>", auth=USER)
    back = pull(address, "PT0S", limit=1000, auth=USER)
    assert b"Test/Seek" in back.content
    # Extreme lifetimes: refused with the standard fault or granted within the maximum.
    ev = gw.endpoint("event_service")
    for termination, ok in [("P9999999Y", False), ("P99999999999999999999D", False), ("-PT1S", False),
                            ("PT0S", False), (FAR, True), ("9999-12-31T23:59:59Z", True)]:
        r = soap(ev, f"<tev:CreatePullPointSubscription><tev:InitialTerminationTime>{termination}</tev:InitialTerminationTime></tev:CreatePullPointSubscription>", auth=USER)
        if ok:
            assert r.status_code == 200, (termination, r.text)
            soap(subscription_address_of(r), "<wsnt:Unsubscribe/>", auth=USER)
        else:
            assert fault(r, "wsnt:UnacceptableInitialTerminationTimeFault"), (termination, r.text)
    for termination, ok in [(FAR, True), ("P3650D", True), ("P9999999Y", False), ("1970-01-01T00:00:00Z", False)]:
        r = soap(address, f"<wsnt:Renew><wsnt:TerminationTime>{termination}</wsnt:TerminationTime></wsnt:Renew>", auth=USER)
        assert (r.status_code == 200) == ok, (termination, r.text)
    # PullMessages: a Timeout of ten years is refused with the maximum; a MessageLimit beyond
    # any integer is clamped.
    r = pull(address, "P3650D", auth=USER)
    assert r.status_code == 500 and xml(r).find(".//tev:PullMessagesFaultResponse", {"tev": "http://www.onvif.org/ver10/events/wsdl"}) is not None, r.text
    r = soap(address, "<tev:PullMessages><tev:Timeout>PT0S</tev:Timeout><tev:MessageLimit>99999999999999999999999</tev:MessageLimit></tev:PullMessages>", auth=USER)
    assert r.status_code == 200, r.text
    r = soap(address, "<tev:PullMessages><tev:Timeout>PT0S</tev:Timeout><tev:MessageLimit>-1</tev:MessageLimit></tev:PullMessages>", auth=USER)
    assert r.status_code in (400, 500) and r.status_code != 200
    # The gateway is alive and serving.
    assert gw.proc.poll() is None
    assert soap(gw.url, "<tds:GetSystemDateAndTime/>").status_code == 200
    assert "panicked" not in gw.log()


def subscription_address_of(r) -> str:
    return xml(r).find(".//tev:SubscriptionReference/wsa:Address", {**NS, "tev": "http://www.onvif.org/ver10/events/wsdl"}).text


def test_one_account_cannot_take_every_pull_point_and_256_long_polls_are_served(tmp_path):
    """The defaults (512 in all, 256 per user) hold a VMS fleet on one account: 256 pull
    points, all long-polling at once; the 257th is refused for that account only."""
    g = Gateway(tmp_path).start()
    try:
        add_users(g)
        ev = g.endpoint("event_service")
        # A topic nothing raises here (no mapping): monitoring events such as ProcessorUsage,
        # which the load itself may move, do not end the long polls early.
        quiet = topic_filter("tns1:Device/Trigger/DigitalInput")
        create = ("<tev:CreatePullPointSubscription>"
                  f"<tev:Filter>{quiet}</tev:Filter>"
                  "<tev:InitialTerminationTime>PT300S</tev:InitialTerminationTime></tev:CreatePullPointSubscription>")

        def make(_):
            r = soap(ev, create, auth=USER)
            # A response object keeps its keep-alive connection open: close it, as a VMS
            # reusing its connections would not hold 256 idle ones beside 256 long polls.
            r.close()
            assert r.status_code == 200, r.text
            return subscription_address_of(r)

        with ThreadPoolExecutor(16) as pool:
            addresses = list(pool.map(make, range(256)))
        over = soap(ev, create, auth=USER)
        assert fault(over, "wsnt:SubscribeCreationFailedFault"), over.text
        assert "per user" in reason(over)
        # Another account and the admin still get theirs.
        assert soap(ev, create, auth=OPERATOR).status_code == 200
        assert soap(ev, create, auth=ADMIN).status_code == 200
        # Drain the Initialized states every new pull point starts with, so the next pulls wait.
        def drain(address):
            r = pull(address, "PT0S", limit=1000, auth=USER)
            r.close()
            return r.status_code

        with ThreadPoolExecutor(16) as pool:
            assert set(pool.map(drain, addresses)) == {200}
        # 256 concurrent long polls from the one account, all held for their Timeout.
        started = time.monotonic()
        with ThreadPoolExecutor(256) as pool:
            polled = list(pool.map(lambda a: pull(a, "PT3S", auth=USER), addresses))
        elapsed = time.monotonic() - started
        assert [r.status_code for r in polled] == [200] * 256
        print(f"\n[attack-subscriptions] 256 concurrent 3 s long polls on one account answered in {elapsed:.1f} s")
        assert 2.5 < elapsed < 30
    finally:
        assert g.stop() == 0


def test_push_limits_global_and_per_user_are_honoured(tmp_path):
    g = Gateway(tmp_path, config="events:\n  max_push_subscriptions: 3\n  max_push_subscriptions_per_user: 1\n").start()
    try:
        add_users(g)
        assert subscribe(g, "http://127.0.0.1:9/a", auth=USER).status_code == 200
        over = subscribe(g, "http://127.0.0.1:9/b", auth=USER)
        assert fault(over, "wsnt:SubscribeCreationFailedFault") and "per user" in reason(over), over.text
        assert subscribe(g, "http://127.0.0.1:9/c", auth=OPERATOR).status_code == 200
        assert subscribe(g, "http://127.0.0.1:9/d", auth=ADMIN).status_code == 200
        full = subscribe(g, "http://127.0.0.1:9/e", auth=ADMIN)
        assert fault(full, "wsnt:SubscribeCreationFailedFault") and "at most 3 push subscriptions" in reason(full), full.text
        caps = soap(g.endpoint("event_service"), "<tev:GetServiceCapabilities/>", auth=ADMIN)
        assert b'MaxNotificationProducers="3"' in caps.content
    finally:
        assert g.stop() == 0


def in_namespace() -> list[str]:
    assert shutil.which("unshare"), "unshare (util-linux) is missing"
    assert shutil.which("ip"), "ip (iproute2) is missing: tests/run installs it"
    return ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--net", "--map-root-user"]


@pytest.fixture(scope="module")
def netns(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("subsns")
    out = subprocess.run(in_namespace() + [sys.executable, str(HERE / "subscriptions_netns.py"), str(binary()), str(workdir)],
                         capture_output=True, text=True, timeout=180, cwd=HERE)
    assert out.returncode == 0, out.stderr[-4000:] + out.stdout[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_ssrf_targets_are_refused_on_a_network_listener(netns):
    for name, r in netns["refused"].items():
        assert r["refused"], (name, r)
    reasons = {name: r["reason"] for name, r in netns["refused"].items()}
    assert "loopback" in reasons["loopback"]
    assert "loopback" in reasons["loopback_name"]
    assert "link-local" in reasons["link_local"]
    assert "own addresses" in reasons["own_address"]
    assert "own addresses" in reasons["own_other_interface"]
    assert "https" in reasons["https"]
    # The reason does not echo the address.
    assert not any("169.254" in why or "127.0.0.1" in why for why in reasons.values())
    assert netns["hits_without_allow"] == 0, "nothing was sent to the refused loopback consumer"
    # An ordinary address is accepted.
    assert netns["accepted_elsewhere"]["status"] == 200
    assert netns["stop_any"] == 0


def test_consumer_networks_open_what_they_name_only(netns):
    assert netns["named_loopback"]["status"] == 200, netns["named_loopback"]
    assert netns["hits_when_named"] >= 1, "delivered to the named loopback consumer"
    assert netns["named_still_no_link_local"]["refused"]
    assert "own addresses" in netns["named_own_not_named"]["reason"]
    assert netns["stop_named"] == 0
