"""The device service's older certificate operations, driven by zeep (the official device
WSDL) on the same keystore as the Advanced Security service: an on-board key and
self-signed certificate, its PKCS#10 request signed by a test CA (rcgen) and loaded back,
CA certificates, the certificate status choosing what HTTPS presents, the client certificate
mode (a new TLS connection without a certificate the CA issued is refused), and the access
policy document (GetAccessPolicy/SetAccessPolicy), checked and enforced."""

import base64
import shutil
import ssl
import subprocess

import pytest
import zeep

from conftest import (ADMIN, OPERATOR, ROOT, USER, fault_codes, presented_certificate,
                      serving_https_gateway, soap, zeep_client, zeep_fault_codes)

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is missing")

CA_BIN = ROOT / "target" / "debug" / "railgate-test-ca"


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    yield from serving_https_gateway(tmp_path_factory.mktemp("certificates"))


def faults(call, *args, **kwargs) -> list[str]:
    """The fault's code and subcodes, written ter:X as the standard does."""
    with pytest.raises(zeep.exceptions.Fault) as e:
        call(*args, **kwargs)
    return [f"ter:{c}" if c not in ("Sender", "Receiver") else f"env:{c}" for c in zeep_fault_codes(e.value)]


def test_an_on_board_certificate_is_signed_by_a_ca_and_presented(gw, tmp_path):
    dev = zeep_client(gw.url)
    device_cert = presented_certificate(gw.tls_port)
    made = dev.CreateCertificate(CertificateID="site1", Subject="CN=gw.site.test, O=Site")
    assert made.CertificateID == "site1"
    assert faults(dev.CreateCertificate, CertificateID="site1")[-1] == "ter:InvalidArgVal"
    ids = [c.CertificateID for c in dev.GetCertificates()]
    assert "site1" in ids and len(ids) == 2, ids
    status = {s.CertificateID: s.Status for s in dev.GetCertificatesStatus()}
    assert status["site1"] is False and sum(status.values()) == 1, status

    csr = tmp_path / "request.der"
    csr.write_bytes(dev.GetPkcs10Request(CertificateID="site1").Data)
    subprocess.run([str(CA_BIN), str(tmp_path), str(csr)], check=True, timeout=60)
    leaf, ca, other = ((tmp_path / n).read_bytes() for n in ("leaf.der", "ca.der", "other-ca.der"))

    # A certificate for a key the device does not have, or no certificate at all: refused.
    assert faults(dev.LoadCertificates, NVTCertificate=[{"CertificateID": "x", "Certificate": {"Data": other}}])[-1] == "ter:NoMatchingPrivateKey"
    assert faults(dev.LoadCertificates, NVTCertificate=[{"CertificateID": "x", "Certificate": {"Data": b"junk"}}])[-1] == "ter:BadCertificate"
    dev.LoadCertificates(NVTCertificate=[{"CertificateID": "site1", "Certificate": {"Data": leaf}}])
    info = dev.GetCertificateInformation(CertificateID="site1")
    assert "railgate test CA" in info.IssuerDN and "gw.site.test" in info.SubjectDN
    assert info.KeyLength == 2048 and info.Version == "3"
    assert faults(dev.GetCertificateInformation, CertificateID="nope")[-1] == "ter:CertificateID"

    dev.LoadCACertificates(CACertificate=[{"CertificateID": "siteca", "Certificate": {"Data": ca}}])
    assert [c.CertificateID for c in dev.GetCACertificates()] == ["siteca"]

    # Status true: the HTTPS server presents it to new connections.
    dev.SetCertificatesStatus(CertificateStatus=[{"CertificateID": "site1", "Status": True}])
    assert presented_certificate(gw.tls_port) == leaf
    status = {s.CertificateID: s.Status for s in dev.GetCertificatesStatus()}
    assert status["site1"] is True and sum(status.values()) == 1
    assert faults(dev.DeleteCertificates, CertificateID=["site1"])[-1] == "ter:ReferenceExists"
    # Turning the only one off while HTTPS is on would leave it without a certificate.
    assert faults(dev.SetCertificatesStatus, CertificateStatus=[{"CertificateID": "site1", "Status": False}])[-1] == "ter:ReferenceExists"

    # Client certificates: only a client the CA issued gets through.
    client = (str(tmp_path / "client.pem"), str(tmp_path / "client-key.pem"))
    dev.SetClientCertificateMode(Enabled=True)
    assert dev.GetClientCertificateMode() is True
    assert presented_certificate(gw.tls_port, client) == leaf
    with pytest.raises((ssl.SSLError, ConnectionError)):
        presented_certificate(gw.tls_port)
    # The last CA certificate cannot go while client certificates are required.
    assert faults(dev.DeleteCertificates, CertificateID=["siteca"])[-1] == "ter:ReferenceExists"
    dev.SetClientCertificateMode(Enabled=False)
    assert presented_certificate(gw.tls_port) == leaf

    # Back to the device's own certificate; the site's go, with their keys.
    device_id = next(c.CertificateID for c in dev.GetCertificates() if c.Certificate.Data == device_cert)
    dev.SetCertificatesStatus(CertificateStatus=[{"CertificateID": device_id, "Status": True}])
    assert presented_certificate(gw.tls_port) == device_cert
    dev.DeleteCertificates(CertificateID=["site1", "siteca"])
    assert [c.CertificateID for c in dev.GetCertificates()] == [device_id]
    assert dev.GetCACertificates() == []
    tas = soap(gw.endpoint("advanced_security_service"), "<tas:GetAllKeys/>", auth=ADMIN)
    assert tas.text.count("<tas:KeyAttribute>") == 1, "the key went with its certificate"


def test_the_access_policy_is_a_checked_document_the_gate_enforces(gw):
    admin = zeep_client(gw.url)
    policy = admin.GetAccessPolicy()
    text = policy.Data.decode()
    assert "READ_SYSTEM: [Administrator, Operator, User]" in text
    assert zeep_client(gw.url, auth=USER).GetDeviceInformation().Manufacturer == "railgate"
    # Users may no longer read the configuration.
    narrowed = text.replace("READ_SYSTEM: [Administrator, Operator, User]", "READ_SYSTEM: [Administrator, Operator]")
    admin.SetAccessPolicy(PolicyFile={"Data": narrowed.encode()})
    assert faults(zeep_client(gw.url, auth=USER).GetDeviceInformation)[-1] == "ter:NotAuthorized"
    assert zeep_client(gw.url, auth=OPERATOR).GetDeviceInformation().Manufacturer == "railgate"
    # Bounded: the Administrator's classes stay theirs; a broken document changes nothing.
    for bad in (narrowed.replace("WRITE_SYSTEM: [Administrator]", "WRITE_SYSTEM: [Administrator, Operator]"),
                narrowed.replace("READ_SYSTEM: [Administrator, Operator]", "READ_SYSTEM: [Operator]"),
                "READ_SYSTEM: [Administrator",
                "not: a policy"):
        assert faults(admin.SetAccessPolicy, PolicyFile={"Data": bad.encode()})[-2:] == ["ter:InvalidArgs", "ter:PolicyFormat"]
    assert admin.GetAccessPolicy().Data.decode() == narrowed
    assert faults(zeep_client(gw.url, auth=OPERATOR).SetAccessPolicy, PolicyFile={"Data": text.encode()})[-1] == "ter:NotAuthorized"
    # Kept across a restart, until set back.
    assert gw.stop() == 0
    gw.start()
    assert faults(zeep_client(gw.url, auth=USER).GetDeviceInformation)[-1] == "ter:NotAuthorized"
    zeep_client(gw.url).SetAccessPolicy(PolicyFile={"Data": text.encode()})
    assert zeep_client(gw.url, auth=USER).GetDeviceInformation().Manufacturer == "railgate"
    r = soap(gw.url, "<tds:GetAccessPolicy/>", auth=OPERATOR)
    assert fault_codes(r)[-1] == "ter:NotAuthorized"
