"""The keystore's whole life cycle through raw SOAP against the binary (the Advanced Security
service): an RSA key pair made on the device, its PKCS#10 request signed by a test CA
(rcgen, tests/src/bin/test_ca.rs), the certificates uploaded, a certification path made and
assigned to the TLS server, a new TLS connection presenting it (a real client verifying it
against the CA), replaced and deleted again; wrong inputs refused with the standard's faults
and nothing changed; the access classes enforced."""

import base64
import shutil
import ssl
import subprocess
import time

import pytest

from conftest import (ADMIN, OPERATOR, ROOT, USER, create_pull_point, fault_codes, messages,
                      presented_certificate, pull, serving_https_gateway, soap, texts, topic_filter,
                      zeep_client)

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is missing")

CA_BIN = ROOT / "target" / "debug" / "railgate-test-ca"
# subjectAltName: IP 127.0.0.1, DER (so a verifying client accepts the CA-signed certificate).
SAN_LOOPBACK = base64.b64encode(bytes.fromhex("300687047f000001")).decode()


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    if not CA_BIN.exists():
        pytest.fail(f"{CA_BIN} is missing: cargo build -p railgate-tests --bin railgate-test-ca")
    yield from serving_https_gateway(tmp_path_factory.mktemp("keystore"))


def tas(g, body, auth=ADMIN):
    return soap(g.endpoint("advanced_security_service"), body, auth=auth)


def ok(r):
    assert r.status_code == 200, r.text
    return r


def one(r, path):
    values = texts(ok(r), path)
    assert len(values) == 1, r.text
    return values[0]


def presented(g) -> bytes:
    return presented_certificate(g.tls_port)


def certificate(g, cert_id) -> bytes:
    return base64.b64decode(one(tas(g, f"<tas:GetCertificate><tas:CertificateID>{cert_id}</tas:CertificateID></tas:GetCertificate>"),
                                ".//tas:CertificateContent"))


def upload(g, der: bytes, required=False):
    return tas(g, "<tas:UploadCertificate>"
                  f"<tas:Certificate>{base64.b64encode(der).decode()}</tas:Certificate>"
                  f"<tas:PrivateKeyRequired>{str(required).lower()}</tas:PrivateKeyRequired>"
                  "</tas:UploadCertificate>")


def make_path(g, *ids):
    inner = "".join(f"<tas:CertificateID>{i}</tas:CertificateID>" for i in ids)
    return tas(g, f"<tas:CreateCertificationPath><tas:CertificateIDs>{inner}</tas:CertificateIDs></tas:CreateCertificationPath>")


def test_capabilities_are_declared_and_served_to_anyone(gw):
    r = tas(gw, "<tas:GetServiceCapabilities/>", auth=None)
    ks = ok(r).text
    assert 'MaximumNumberOfKeys="32"' in ks and 'MaximumNumberOfTLSCertificationPaths="1"' in ks
    assert 'RSAKeyLengths="2048 3072 4096"' in ks and 'TLSServerSupported="1.2 1.3"' in ks
    services = soap(gw.url, "<tds:GetServices><tds:IncludeCapability>true</tds:IncludeCapability></tds:GetServices>", auth=ADMIN)
    assert "http://www.onvif.org/ver10/advancedsecurity/wsdl" in texts(ok(services), ".//tds:Namespace")
    assert gw.endpoint("advanced_security_service") in texts(services, ".//tds:XAddr")


def test_the_access_classes_hold(gw):
    # Reading keys is READ_SYSTEM_SECRET (Administrator); making a CSR is READ_SYSTEM.
    assert fault_codes(tas(gw, "<tas:GetAllKeys/>", auth=OPERATOR))[-1] == "ter:NotAuthorized"
    assert tas(gw, "<tas:GetAllKeys/>", auth=None).status_code == 401
    r = tas(gw, "<tas:CreateRSAKeyPair><tas:KeyLength>2048</tas:KeyLength></tas:CreateRSAKeyPair>", auth=USER)
    assert fault_codes(r)[-1] == "ter:NotAuthorized"
    r = tas(gw, "<tas:CreatePKCS10CSR><tas:Subject><tas:CommonName>x</tas:CommonName></tas:Subject>"
                "<tas:KeyID>key-none</tas:KeyID><tas:SignatureAlgorithm><tas:algorithm>1.2.840.10045.4.3.2</tas:algorithm>"
                "</tas:SignatureAlgorithm></tas:CreatePKCS10CSR>", auth=USER)
    assert fault_codes(r)[-2:] == ["ter:InvalidArgVal", "ter:KeyID"], r.text


def test_the_certificate_life_cycle(gw, tmp_path):
    device_path = one(tas(gw, "<tas:GetAssignedServerCertificates/>"), ".//tas:CertificationPathID")
    device_cert = presented(gw)

    # A key pair made on the device, in the background.
    r = tas(gw, "<tas:CreateRSAKeyPair><tas:KeyLength>2048</tas:KeyLength><tas:Alias>site</tas:Alias></tas:CreateRSAKeyPair>")
    key = one(r, ".//tas:KeyID")
    assert one(r, ".//tas:EstimatedCreationTime").startswith("PT")
    deadline = time.monotonic() + 60
    while one(tas(gw, f"<tas:GetKeyStatus><tas:KeyID>{key}</tas:KeyID></tas:GetKeyStatus>"), ".//tas:KeyStatus") != "ok":
        assert time.monotonic() < deadline, "the RSA key was not made in 60 s"
        time.sleep(0.2)
    keys = ok(tas(gw, "<tas:GetAllKeys/>"))
    assert key in texts(keys, ".//tas:KeyID")
    assert "PRIVATE" not in keys.text

    # Its request, with a subjectAltName, signed by the test CA.
    r = tas(gw, "<tas:CreatePKCS10CSR><tas:Subject><tas:Country>SE</tas:Country><tas:Organization>Site</tas:Organization>"
                "<tas:CommonName>gw.site.test</tas:CommonName></tas:Subject>"
                f"<tas:KeyID>{key}</tas:KeyID>"
                "<tas:CSRAttribute><tas:X509v3Extension><tas:extnOID>2.5.29.17</tas:extnOID><tas:critical>false</tas:critical>"
                f"<tas:extnValue>{SAN_LOOPBACK}</tas:extnValue></tas:X509v3Extension></tas:CSRAttribute>"
                "<tas:SignatureAlgorithm><tas:algorithm>1.2.840.113549.1.1.11</tas:algorithm></tas:SignatureAlgorithm>"
                "</tas:CreatePKCS10CSR>")
    csr = tmp_path / "request.der"
    csr.write_bytes(base64.b64decode(one(r, ".//tas:PKCS10CSR")))
    subprocess.run([str(CA_BIN), str(tmp_path), str(csr)], check=True, timeout=60)
    leaf, ca, other_ca = ((tmp_path / n).read_bytes() for n in ("leaf.der", "ca.der", "other-ca.der"))
    # A signature algorithm that does not fit the key is refused.
    r = tas(gw, f"<tas:CreatePKCS10CSR><tas:Subject><tas:CommonName>x</tas:CommonName></tas:Subject><tas:KeyID>{key}</tas:KeyID>"
                "<tas:SignatureAlgorithm><tas:algorithm>1.2.840.10045.4.3.2</tas:algorithm></tas:SignatureAlgorithm></tas:CreatePKCS10CSR>")
    assert fault_codes(r)[-1] == "ter:KeySignatureAlgorithmMismatch", r.text

    # Wrong uploads change nothing.
    before = ok(tas(gw, "<tas:GetAllCertificates/>")).text
    assert fault_codes(upload(gw, b"not a certificate"))[-1] == "ter:BadCertificate"
    assert fault_codes(upload(gw, other_ca, required=True))[-2:] == ["ter:Action", "ter:NoMatchingPrivateKey"]
    assert ok(tas(gw, "<tas:GetAllCertificates/>")).text == before

    ca_id = one(upload(gw, ca), ".//tas:CertificateID")
    other_id = one(upload(gw, other_ca), ".//tas:CertificateID")
    r = upload(gw, leaf, required=True)
    leaf_id = one(r, ".//tas:CertificateID")
    assert one(r, ".//tas:KeyID") == key, "the certificate joins the key it certifies"
    assert fault_codes(upload(gw, leaf))[-1] == "ter:Duplicate"
    assert certificate(gw, leaf_id) == leaf

    # Paths: leaf first, each signed by the next.
    assert fault_codes(make_path(gw, ca_id, leaf_id))[-1] == "ter:InvalidCertificationPath"
    assert fault_codes(make_path(gw, leaf_id, other_id))[-1] == "ter:InvalidCertificationPath"
    assert fault_codes(make_path(gw, leaf_id, "cert-unknown"))[-1] == "ter:CertificateID"
    path = one(make_path(gw, leaf_id, ca_id), ".//tas:CertificationPathID")
    assert texts(tas(gw, f"<tas:GetCertificationPath><tas:CertificationPathID>{path}</tas:CertificationPathID></tas:GetCertificationPath>"),
                 ".//tas:CertificateID") == [leaf_id, ca_id]
    ca_only = one(make_path(gw, ca_id), ".//tas:CertificationPathID")

    # The TLS server: one path at a time; Replace switches new connections over at once.
    r = tas(gw, f"<tas:AddServerCertificateAssignment><tas:CertificationPathID>{path}</tas:CertificationPathID></tas:AddServerCertificateAssignment>")
    assert fault_codes(r)[-2:] == ["ter:Action", "ter:MaximumNumberOfTLSCertificationPathsReached"], r.text
    r = tas(gw, f"<tas:ReplaceServerCertificateAssignment><tas:OldCertificationPathID>{device_path}</tas:OldCertificationPathID>"
                f"<tas:NewCertificationPathID>{ca_only}</tas:NewCertificationPathID></tas:ReplaceServerCertificateAssignment>")
    assert fault_codes(r)[-1] == "ter:NoPrivateKey", r.text
    ok(tas(gw, f"<tas:ReplaceServerCertificateAssignment><tas:OldCertificationPathID>{device_path}</tas:OldCertificationPathID>"
               f"<tas:NewCertificationPathID>{path}</tas:NewCertificationPathID></tas:ReplaceServerCertificateAssignment>"))
    assert presented(gw) == leaf
    # A real client that trusts the test CA only (no pinning) verifies the new chain.
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_text(ssl.DER_cert_to_PEM_cert(ca))
    https = f"https://127.0.0.1:{gw.tls_port}/onvif/device_service"
    assert zeep_client(https, verify=str(ca_pem)).GetDeviceInformation().Manufacturer == "railgate"
    assert ssl.PEM_cert_to_DER_cert((gw.data / "tls" / "device.crt").read_text().split("-----END CERTIFICATE-----")[0]
                                    + "-----END CERTIFICATE-----\n") == leaf

    # In use: not removable while HTTPS is on, not deletable.
    r = tas(gw, f"<tas:RemoveServerCertificateAssignment><tas:CertificationPathID>{path}</tas:CertificationPathID></tas:RemoveServerCertificateAssignment>")
    assert fault_codes(r)[-1] == "ter:ReferenceExists"
    r = tas(gw, f"<tas:DeleteCertificationPath><tas:CertificationPathID>{path}</tas:CertificationPathID></tas:DeleteCertificationPath>")
    assert fault_codes(r)[-1] == "ter:ReferenceExists"
    assert fault_codes(tas(gw, f"<tas:DeleteCertificate><tas:CertificateID>{leaf_id}</tas:CertificateID></tas:DeleteCertificate>"))[-1] == "ter:ReferenceExists"
    assert fault_codes(tas(gw, f"<tas:DeleteKey><tas:KeyID>{key}</tas:KeyID></tas:DeleteKey>"))[-1] == "ter:ReferenceExists"

    # Back to the device certificate, then everything of the site's goes.
    ok(tas(gw, f"<tas:ReplaceServerCertificateAssignment><tas:OldCertificationPathID>{path}</tas:OldCertificationPathID>"
               f"<tas:NewCertificationPathID>{device_path}</tas:NewCertificationPathID></tas:ReplaceServerCertificateAssignment>"))
    assert presented(gw) == device_cert
    for p in (path, ca_only):
        ok(tas(gw, f"<tas:DeleteCertificationPath><tas:CertificationPathID>{p}</tas:CertificationPathID></tas:DeleteCertificationPath>"))
    for c in (leaf_id, ca_id, other_id):
        ok(tas(gw, f"<tas:DeleteCertificate><tas:CertificateID>{c}</tas:CertificateID></tas:DeleteCertificate>"))
    ok(tas(gw, f"<tas:DeleteKey><tas:KeyID>{key}</tas:KeyID></tas:DeleteKey>"))
    assert key not in texts(tas(gw, "<tas:GetAllKeys/>"), ".//tas:KeyID")
    r = tas(gw, f"<tas:GetCertificate><tas:CertificateID>{leaf_id}</tas:CertificateID></tas:GetCertificate>")
    assert fault_codes(r)[-2:] == ["ter:InvalidArgVal", "ter:CertificateID"]


def test_an_ecc_key_signs_its_own_certificate_and_the_store_survives_a_restart(gw):
    pull_point = create_pull_point(gw, topic_filter("tns1:Advancedsecurity/Keystore/KeyStatus"))
    r = tas(gw, "<tas:CreateECCKeyPair><tas:EllipticCurve>secp384r1</tas:EllipticCurve></tas:CreateECCKeyPair>")
    key = one(r, ".//tas:KeyID")
    for _ in range(100):
        if one(tas(gw, f"<tas:GetKeyStatus><tas:KeyID>{key}</tas:KeyID></tas:GetKeyStatus>"), ".//tas:KeyStatus") == "ok":
            break
        time.sleep(0.05)
    # The KeyStatus events: generating (no OldStatus), then generating -> ok.
    seen = []
    deadline = time.monotonic() + 10
    while len(seen) < 2 and time.monotonic() < deadline:
        seen += [m for m in messages(pull(pull_point)) if m["source"].get("KeyID") == key]
    assert [m["data"] for m in seen] == [{"NewStatus": "generating"},
                                         {"OldStatus": "generating", "NewStatus": "ok"}], seen
    assert fault_codes(tas(gw, "<tas:CreateECCKeyPair><tas:EllipticCurve>sect163k1</tas:EllipticCurve></tas:CreateECCKeyPair>"))[-1] == "ter:UnsupportedEllipticCurve"
    assert fault_codes(tas(gw, "<tas:CreateRSAKeyPair><tas:KeyLength>1024</tas:KeyLength></tas:CreateRSAKeyPair>"))[-1] == "ter:KeyLength"
    r = tas(gw, "<tas:CreateSelfSignedCertificate><tas:Subject><tas:CommonName>gw</tas:CommonName></tas:Subject>"
                f"<tas:KeyID>{key}</tas:KeyID><tas:notValidBefore>2026-01-01T00:00:00Z</tas:notValidBefore>"
                "<tas:notValidAfter>2036-01-01T00:00:00Z</tas:notValidAfter>"
                "<tas:SignatureAlgorithm><tas:algorithm>1.2.840.10045.4.3.3</tas:algorithm></tas:SignatureAlgorithm>"
                "</tas:CreateSelfSignedCertificate>")
    cert = one(r, ".//tas:CertificateID")
    r = tas(gw, "<tas:CreateSelfSignedCertificate><tas:Subject><tas:CommonName>gw</tas:CommonName></tas:Subject>"
                f"<tas:KeyID>{key}</tas:KeyID><tas:notValidBefore>yesterday</tas:notValidBefore>"
                "<tas:SignatureAlgorithm><tas:algorithm>1.2.840.10045.4.3.3</tas:algorithm></tas:SignatureAlgorithm>"
                "</tas:CreateSelfSignedCertificate>")
    assert fault_codes(r)[-1] == "ter:InvalidDateTime"
    assert gw.stop() == 0
    gw.start()
    assert key in texts(tas(gw, "<tas:GetAllKeys/>"), ".//tas:KeyID")
    assert cert in texts(tas(gw, "<tas:GetAllCertificates/>"), ".//tas:CertificateID")
    store = gw.data / "keystore" / "keystore.json"
    assert store.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE KEY" not in gw.log() and "pkcs8" not in gw.log()
