"""HTTPS beside HTTP: rustls serving the same routes with the device's self-signed
certificate (made on first start, key 0600), pinned by the clients; TLS 1.2 and 1.3 only
(OpenSSL's s_client as the peer), ALPN http/1.1, https XAddrs for clients that came over TLS,
and a silent client dropped after the handshake timeout."""

import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import ADMIN, Gateway, envelope, free_port, serving_https_gateway, zeep_client

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is missing")


@pytest.fixture(scope="module")
def tls_gateway(tmp_path_factory):
    yield from serving_https_gateway(tmp_path_factory.mktemp("tls"), "  tls_handshake_timeout_secs: 2\n")


def https(g) -> str:
    return f"https://127.0.0.1:{g.tls_port}/onvif/device_service"


def s_client(g, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{g.tls_port}", *args],
                          input="", capture_output=True, text=True, timeout=30)


def test_the_device_certificate_is_made_once_and_its_key_kept_private(tls_gateway):
    # The key is in the keystore (0600 in a 0700 folder), never beside the published certificate.
    store = tls_gateway.data / "keystore" / "keystore.json"
    assert store.stat().st_mode & 0o777 == 0o600
    assert store.parent.stat().st_mode & 0o777 == 0o700
    assert not (tls_gateway.data / "tls" / "device.key").exists()
    assert "PRIVATE KEY" not in tls_gateway.cert.read_text()
    assert tls_gateway.cert.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert "serving ONVIF at https://127.0.0.1:" in tls_gateway.log()


def test_a_real_client_over_https_with_the_certificate_pinned(tls_gateway):
    dev = zeep_client(https(tls_gateway), verify=str(tls_gateway.cert))
    assert dev.GetDeviceInformation().Manufacturer == "railgate"
    services = dev.GetServices(IncludeCapability=False)
    assert all(s.XAddr.startswith(f"https://127.0.0.1:{tls_gateway.tls_port}/") for s in services)
    # HTTP still serves beside it, with http XAddrs.
    plain = zeep_client(tls_gateway.url).GetServices(IncludeCapability=False)
    assert all(s.XAddr.startswith("http://") for s in plain)
    # An unpinned client refuses the self-signed certificate.
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(https(tls_gateway), data=envelope("<tds:GetSystemDateAndTime/>"), timeout=10,
                      headers={"Content-Type": "application/soap+xml"})


def test_only_tls_1_2_and_1_3_are_spoken_and_alpn_is_http_1_1(tls_gateway):
    for version, name in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")]:
        r = s_client(tls_gateway, version, "-alpn", "http/1.1")
        assert r.returncode == 0, r.stderr
        assert f"Protocol  : {name}" in r.stdout or f"New, {name}" in r.stdout, r.stdout
        assert "ALPN protocol: http/1.1" in r.stdout
    for version in ["-tls1", "-tls1_1"]:
        r = s_client(tls_gateway, version, "-cipher", "DEFAULT:@SECLEVEL=0")
        assert r.returncode != 0, f"{version} was accepted:\n{r.stdout}"


def test_a_client_that_never_shakes_hands_is_dropped_on_time(tls_gateway):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", tls_gateway.tls_port), timeout=30) as s:
        assert s.recv(1) == b""
    waited = time.monotonic() - started
    assert 1.0 <= waited <= 10.0, waited
    # ...and the port still serves.
    r = requests.post(https(tls_gateway), data=envelope("<tds:GetSystemDateAndTime/>"), timeout=10,
                      verify=str(tls_gateway.cert), headers={"Content-Type": "application/soap+xml"})
    assert r.status_code == 200


def test_home_assistants_library_over_https_with_the_certificate_pinned(tls_gateway, monkeypatch):
    """onvif-zeep-async (Home Assistant's ONVIF library) verifies nothing by itself: its one
    TLS context is replaced by one that trusts the device certificate only."""
    import asyncio
    import ssl

    import onvif
    import onvif.client
    from onvif import ONVIFCamera

    pinned = ssl.create_default_context(cafile=str(tls_gateway.cert))
    monkeypatch.setattr(onvif.client, "_NO_VERIFY_SSL_CONTEXT", pinned)

    async def flow():
        cam = ONVIFCamera("https://127.0.0.1", tls_gateway.tls_port, *ADMIN,
                          wsdl_dir=onvif.__path__[0] + "/wsdl")
        try:
            await cam.update_xaddrs()
            caps = await cam.get_capabilities()
            mgmt = await cam.create_devicemgmt_service()
            info = await mgmt.GetDeviceInformation()
            return caps, info
        finally:
            await cam.close()

    caps, info = asyncio.run(flow())
    assert info.Manufacturer == "railgate"
    xaddr = caps["Device"]["XAddr"] if isinstance(caps, dict) else caps.Device.XAddr
    assert xaddr.startswith(f"https://127.0.0.1:{tls_gateway.tls_port}/"), caps

    # A context that trusts another certificate refuses the device's.
    other = ssl.create_default_context()
    other.load_verify_locations(cadata=ssl.DER_cert_to_PEM_cert(_other_certificate()))
    monkeypatch.setattr(onvif.client, "_NO_VERIFY_SSL_CONTEXT", other)
    with pytest.raises(Exception):
        asyncio.run(flow())


def _other_certificate() -> bytes:
    """A self-signed certificate that is not the device's (made by openssl)."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-subj", "/CN=other", "-days", "1", "-keyout", f"{d}/k.pem",
                        "-out", f"{d}/c.pem", "-outform", "DER"], check=True, capture_output=True, timeout=30)
        return open(f"{d}/c.pem", "rb").read()


def test_https_is_turned_on_and_http_off_by_set_network_protocols(tmp_path):
    """A device that starts with HTTP only: a client turns HTTPS on (the device certificate is
    made then), HTTP off, and the device stays HTTPS-only across a restart until HTTP is on
    again; both off is refused."""
    g = Gateway(tmp_path).start()
    try:
        dev = zeep_client(g.url)
        http_port, tls_port = g.port, free_port()
        assert dev.GetCapabilities(Category=["Device"]).Device.Security["TLS1.2"] is False
        dev.SetNetworkProtocols(NetworkProtocols=[{"Name": "HTTPS", "Enabled": True, "Port": [tls_port]}])
        cert = g.data / "tls" / "device.crt"
        url = f"https://127.0.0.1:{tls_port}/onvif/device_service"
        secure = zeep_client(url, verify=str(cert))
        assert secure.GetCapabilities(Category=["Device"]).Device.Security["TLS1.2"] is True
        http, https = secure.GetNetworkProtocols()
        assert (http.Enabled, http.Port, https.Enabled, https.Port) == (True, [http_port], True, [tls_port])
        assert zeep_fault_codes_of(secure.SetNetworkProtocols, NetworkProtocols=[
            {"Name": "HTTP", "Enabled": False, "Port": [http_port]},
            {"Name": "HTTPS", "Enabled": False, "Port": [tls_port]}])[:2] == ["Sender", "InvalidArgVal"]
        secure.SetNetworkProtocols(NetworkProtocols=[{"Name": "HTTP", "Enabled": False, "Port": [http_port]}])
        http, https = secure.GetNetworkProtocols()
        assert (http.Enabled, http.Port, https.Enabled) == (False, [http_port], True)
        deadline = time.monotonic() + 5
        while True:
            try:
                requests.post(g.url, data=envelope("<tds:GetSystemDateAndTime/>"), timeout=1,
                              headers={"Content-Type": "application/soap+xml"})
            except requests.ConnectionError:
                break
            assert time.monotonic() < deadline, "HTTP still answers"
            time.sleep(0.05)
        # Kept across a restart: HTTPS only.
        assert g.stop() == 0, g.log()
        g.start()
        assert g.port is None and g.tls_port == tls_port
        secure = zeep_client(url, verify=str(cert))
        services = secure.GetServices(IncludeCapability=False)
        assert all(s.XAddr.startswith("https://") for s in services)
        secure.SetNetworkProtocols(NetworkProtocols=[{"Name": "HTTP", "Enabled": True, "Port": [http_port]}])
        g.port = http_port
        assert zeep_client(g.url).GetDeviceInformation().Manufacturer == "railgate"
    finally:
        assert g.stop() == 0, g.log()


def zeep_fault_codes_of(call, *args, **kwargs) -> list[str]:
    import zeep
    from conftest import zeep_fault_codes
    with pytest.raises(zeep.exceptions.Fault) as e:
        call(*args, **kwargs)
    return zeep_fault_codes(e.value)
