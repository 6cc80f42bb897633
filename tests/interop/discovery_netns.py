"""WS-Discovery against the real binary, run INSIDE a network namespace that
test_discovery.py creates (`unshare --net`): it holds only loopback and a veth pair whose two
ends are both inside it (`disc0` 10.77.0.1/24 and `disc1` 10.77.0.2/24), so every Hello, Bye
and Probe stays in the namespace. The pair is there because clients (wsdiscovery among them)
never probe through loopback.

Usage: discovery_netns.py BINARY WORKDIR   (prints one JSON object with what it saw)."""

import json
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import ADMIN, Gateway, soap, validator  # noqa: E402

GROUP, PORT = "239.255.255.250", 3702
IFACE, ADDR = "disc0", "10.77.0.1"
TDS = "http://www.onvif.org/ver10/device/wsdl"
NVT = "http://www.onvif.org/ver10/network/wsdl"


def sh(*args: str) -> None:
    subprocess.run(args, check=True)


class Listener:
    """A plain socket in the multicast group: sees every Hello and Bye on loopback."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Bound to the group address: it sees multicast only, so unicast probes to
        # 127.0.0.1:3702 reach the gateway's socket and nothing else.
        self.s.bind((GROUP, PORT))
        mreq = struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton(ADDR))
        self.s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        self.s.settimeout(0.2)

    def drain(self) -> None:
        """Drops what queued up unread (a full buffer drops what comes next)."""
        self.s.setblocking(False)
        try:
            while True:
                self.s.recvfrom(65536)
        except BlockingIOError:
            pass
        finally:
            self.s.settimeout(0.2)

    def collect(self, seconds: float, until=None) -> list[bytes]:
        got, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data, _ = self.s.recvfrom(65536)
            except socket.timeout:
                continue
            got.append(data)
            if until and until(got):
                break
        return got


def kinds(messages: list[bytes]) -> list[str]:
    out = []
    for m in messages:
        for k in ("Hello", "Bye", "Probe", "ProbeMatches", "Resolve", "ResolveMatches"):
            if f"discovery/{k}<".encode() in m or f"discovery/{k}</".encode() in m:
                out.append(k)
    return out


def main() -> None:
    binary, workdir = sys.argv[1], Path(sys.argv[2])
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", IFACE, "type", "veth", "peer", "name", "disc1")
    sh("ip", "addr", "add", f"{ADDR}/24", "dev", IFACE)
    sh("ip", "addr", "add", "10.77.0.2/24", "dev", "disc1")
    for dev in (IFACE, "disc1"):
        sh("ip", "link", "set", dev, "multicast", "on")
        sh("ip", "link", "set", dev, "up")
    sh("ip", "route", "add", "224.0.0.0/4", "dev", IFACE)
    # Both ends must be up (carrier) before the gateway looks at its interfaces.
    deadline = time.monotonic() + 5
    while "state UP" not in subprocess.run(["ip", "link", "show", IFACE], capture_output=True, text=True).stdout:
        assert time.monotonic() < deadline, "the veth pair did not come up"
        time.sleep(0.05)
    import os
    os.environ["RAILGATE_BIN"] = binary
    result: dict = {}
    listener = Listener()
    # Listening on every address of the namespace, so the XAddrs advertised for disc0 work.
    config = f"device:\n  name: lobby\ndiscovery: {{interfaces: [{IFACE}, lo]}}\n"
    gw = Gateway(workdir, config=config, discovery=None, listen="0.0.0.0:0").start()
    try:
        hello = listener.collect(5, until=lambda g: "Hello" in kinds(g))
        result["hello_at_start"] = [m.decode() for m in hello if "Hello" in kinds([m])]
        errors = [validator().errors(m) for m in hello]
        result["hello_schema_errors"] = [e for e in errors if e]

        from wsdiscovery import QName, Scope
        from wsdiscovery.discovery import ThreadedWSDiscovery

        def search(**kw):
            # A fresh client per search, stopped after it: its own socket on port 3702
            # must not be there when a directed probe is sent to 127.0.0.1:3702.
            wsd = ThreadedWSDiscovery()
            wsd.start()
            # Its address monitor adds the interfaces it sends probes through a moment
            # after start; a probe sent before that goes nowhere.
            time.sleep(1)
            try:
                found = wsd.searchServices(timeout=2, **kw)
                return [{"epr": s.getEPR(), "xaddrs": list(s.getXAddrs()),
                         "scopes": [str(x.getValue()) for x in s.getScopes()],
                         "types": [f"{t.getNamespace()}|{t.getLocalname()}" for t in s.getTypes()]} for s in found]
            finally:
                wsd.stop()

        def directed(types_xml: str = "", body: str | None = None, action: str = "Probe",
                     source: str = "127.0.0.1") -> list[bytes]:
            """A Probe (or another body) sent straight to 127.0.0.1:3702 from `source`; the
            unicast answers."""
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((source, 0))
            s.settimeout(0.3)
            body = ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
                    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/device/wsdl">'
                    f'<s:Header><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/{action}</a:Action>'
                    f'<a:MessageID>urn:uuid:{__import__("uuid").uuid4()}</a:MessageID>'
                    '<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>'
                    f'<s:Body>{body or f"<d:Probe>{types_xml}</d:Probe>"}</s:Body></s:Envelope>')
            s.sendto(body.encode(), ("127.0.0.1", PORT))
            got, deadline = [], time.monotonic() + 2
            while time.monotonic() < deadline:
                try:
                    got.append(s.recvfrom(65536)[0])
                except socket.timeout:
                    pass
            s.close()
            return got

        result["by_type"] = search(types=[QName(TDS, "Device")])
        # Every advertised XAddr answers.
        result["xaddr_status"] = {x: soap(x, "<tds:GetSystemDateAndTime/>").status_code
                                  for d in result["by_type"] for x in d["xaddrs"]}
        result["by_nvt_type"] = search(types=[QName(NVT, "NetworkVideoTransmitter")])
        result["by_scope"] = search(scopes=[Scope("onvif://www.onvif.org/name/lobby")])
        result["by_scope_prefix"] = search(scopes=[Scope("onvif://www.onvif.org/name")])
        result["by_wrong_scope"] = search(scopes=[Scope("onvif://www.onvif.org/name/attic")])
        answers = directed("<d:Types>dn:Device</d:Types>")
        result["directed"] = [m.decode() for m in answers]
        result["directed_schema_errors"] = [e for e in (validator().errors(m) for m in answers) if e]
        result["directed_wrong_type"] = [m.decode() for m in directed("<d:Types>dn:Nothing</d:Types>")]
        epr = result["by_type"][0]["epr"] if result["by_type"] else "urn:uuid:unknown"
        answers = directed(body=f"<d:Resolve><a:EndpointReference><a:Address>{epr}</a:Address></a:EndpointReference></d:Resolve>",
                           action="Resolve")
        result["resolve"] = [m.decode() for m in answers]
        result["resolve_schema_errors"] = [e for e in (validator().errors(m) for m in answers) if e]
        result["resolve_unknown"] = [m.decode() for m in directed(
            body="<d:Resolve><a:EndpointReference><a:Address>urn:uuid:00000000-0000-4000-8000-000000000000</a:Address>"
                 "</a:EndpointReference></d:Resolve>", action="Resolve")]

        r = soap(gw.url, "<tds:GetEndpointReference/>", auth=ADMIN)
        result["endpoint_reference"] = r.content.decode().split("<tds:GUID>")[1].split("<")[0]

        # A new scope: a Hello announces it and the next probe matches it.
        soap(gw.url, "<tds:AddScopes><tds:ScopeItem>onvif://www.onvif.org/location/hall-7</tds:ScopeItem></tds:AddScopes>",
             auth=ADMIN)
        seen = listener.collect(5, until=lambda g: any(b"hall-7" in m and "Hello" in kinds([m]) for m in g))
        result["hello_after_add_scopes"] = [m.decode() for m in seen if "Hello" in kinds([m]) and b"hall-7" in m]
        result["by_new_scope"] = search(scopes=[Scope("onvif://www.onvif.org/location/hall-7")])

        # NonDiscoverable: silence, to multicast and directed probes alike.
        soap(gw.url, "<tds:SetDiscoveryMode><tds:DiscoveryMode>NonDiscoverable</tds:DiscoveryMode></tds:SetDiscoveryMode>",
             auth=ADMIN)
        time.sleep(0.5)
        result["hidden_by_type"] = search(types=[QName(TDS, "Device")])
        result["hidden_directed"] = [m.decode() for m in directed()]
        soap(gw.url, "<tds:SetDiscoveryMode><tds:DiscoveryMode>Discoverable</tds:DiscoveryMode></tds:SetDiscoveryMode>",
             auth=ADMIN)
        seen = listener.collect(5, until=lambda g: "Hello" in kinds(g))
        result["hello_when_discoverable_again"] = "Hello" in kinds(seen)
        result["visible_again"] = search(types=[QName(TDS, "Device")])

        # The IP address filter: a denied address gets no answer, another one does.
        soap(gw.url, "<tds:SetIPAddressFilter><tds:IPAddressFilter><tt:Type>Deny</tt:Type><tt:IPv4Address>"
                     "<tt:Address>127.0.0.2</tt:Address><tt:PrefixLength>32</tt:PrefixLength></tt:IPv4Address>"
                     "</tds:IPAddressFilter></tds:SetIPAddressFilter>", auth=ADMIN)
        result["filtered_directed"] = [m.decode() for m in directed("<d:Types>dn:Device</d:Types>", source="127.0.0.2")]
        result["unfiltered_directed"] = [m.decode() for m in directed("<d:Types>dn:Device</d:Types>")]
        soap(gw.url, "<tds:SetIPAddressFilter><tds:IPAddressFilter><tt:Type>Deny</tt:Type>"
                     "</tds:IPAddressFilter></tds:SetIPAddressFilter>", auth=ADMIN)

        # railgate's own probe client.
        out = subprocess.run([binary, "discover", "--timeout", "2"], capture_output=True, text=True, timeout=30)
        result["discover_exit"] = out.returncode
        result["discover_stdout"] = out.stdout
        result["discover_stderr"] = out.stderr[-2000:]

        # A flood of probes from one source is answered within the rate limit.
        flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        flood.settimeout(0.2)
        probe = Path(workdir / "probe.xml")
        answers = 0
        for i in range(200):
            body = ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
                    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header>'
                    '<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>'
                    f'<a:MessageID>urn:uuid:00000000-0000-4000-8000-{i:012d}</a:MessageID>'
                    '<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>'
                    '<s:Body><d:Probe/></s:Body></s:Envelope>')
            flood.sendto(body.encode(), ("127.0.0.1", PORT))
        probe.write_text("flood sent")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                flood.recvfrom(65536)
                answers += 1
            except socket.timeout:
                pass
        result["flood_answers"] = answers
        # Garbage is dropped without harm.
        for junk in (b"", b"\x00" * 100, b"<not xml", b"<?xml version='1.0'?><a>" * 1000):
            flood.sendto(junk, ("127.0.0.1", PORT))
        time.sleep(0.3)
        result["alive_after_junk"] = soap(gw.url, "<tds:GetSystemDateAndTime/>").status_code == 200

        # A reload: off (Bye, then silence), then on again with the NetworkVideoTransmitter type.
        time.sleep(1.2)  # the flood's rate limit refills
        listener.drain()
        gw.config_path.write_text("device:\n  name: lobby\ndiscovery: {interfaces: [off]}\n")
        gw.proc.send_signal(signal.SIGHUP)
        seen = listener.collect(5, until=lambda g: "Bye" in kinds(g))
        result["reload_off_bye"] = "Bye" in kinds(seen)
        time.sleep(0.3)
        result["reload_off_directed"] = [m.decode() for m in directed()]
        listener.drain()
        gw.config_path.write_text(f"device:\n  name: lobby\ndiscovery: {{interfaces: [{IFACE}, lo], network_video_transmitter: true}}\n")
        gw.proc.send_signal(signal.SIGHUP)
        seen = listener.collect(5, until=lambda g: "Hello" in kinds(g))
        result["reload_on_hello_nvt"] = any("Hello" in kinds([m]) and b"NetworkVideoTransmitter" in m for m in seen)
        result["reload_on_directed_nvt"] = any(b"NetworkVideoTransmitter" in m for m in directed())
        # Only the types change: a Hello with the new metadata version, no Bye.
        time.sleep(1.2)
        listener.drain()
        gw.config_path.write_text(config)
        gw.proc.send_signal(signal.SIGHUP)
        seen = listener.collect(5, until=lambda g: "Hello" in kinds(g))
        result["reload_types_kinds"] = kinds(seen)
        result["reload_types_directed_nvt"] = any(b"NetworkVideoTransmitter" in m for m in directed())
    finally:
        stopped = gw.stop()
        bye = listener.collect(3, until=lambda g: "Bye" in kinds(g))
        result["stop_status"] = stopped
        result["bye"] = [m.decode() for m in bye if "Bye" in kinds([m])]
        result["bye_schema_errors"] = [e for e in (validator().errors(m) for m in bye) if e]
        result["log_tail"] = gw.log()[-3000:]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
