"""Authentication, user levels and every fault the standard names, on the wire."""

import datetime as dt
import secrets
import subprocess

import requests
from requests.auth import HTTPDigestAuth

from conftest import (ADMIN, NS, OPERATOR, USER, challenges, check_response, digest_authorization,
                      envelope, fault_codes, soap, username_token)

GET_INFO = "<tds:GetDeviceInformation/>"


def test_get_system_date_and_time_needs_no_credentials(gateway):
    r = soap(gateway.url, "<tds:GetSystemDateAndTime/>")
    assert r.status_code == 200
    assert b"<tt:UTCDateTime>" in r.content


def test_pre_auth_operations_ignore_bad_credentials(gateway):
    # A client whose clock is still wrong calls these first; its token must not be checked.
    stale = username_token(*ADMIN, created="2001-01-01T00:00:00Z")
    for op in ["GetSystemDateAndTime", "GetServices", "GetCapabilities", "GetServiceCapabilities", "GetHostname",
               "GetEndpointReference", "GetWsdlUrl"]:
        body = f"<tds:{op}><tds:IncludeCapability>false</tds:IncludeCapability></tds:{op}>" if op == "GetServices" else f"<tds:{op}/>"
        r = soap(gateway.url, body, header=stale)
        assert r.status_code == 200, (op, r.text)


def test_no_credentials_gets_a_digest_challenge_md5_first(gateway):
    r = soap(gateway.url, GET_INFO)
    assert r.status_code == 401
    chs = challenges(r)
    assert [c["algorithm"] for c in chs] == ["MD5", "SHA-256"]
    assert all(c["qop"] == "auth" for c in chs)


def test_username_token_digest_works(gateway):
    r = soap(gateway.url, GET_INFO, auth=ADMIN)
    assert r.status_code == 200
    assert b"<tds:Manufacturer>" in r.content


def test_http_digest_with_requests(gateway):
    # requests' HTTPDigestAuth: a real client library doing the 401 round trip.
    r = requests.post(gateway.url, data=envelope(GET_INFO).encode(),
                      headers={"Content-Type": "application/soap+xml"}, auth=HTTPDigestAuth(*ADMIN), timeout=10)
    check_response(r)
    assert r.status_code == 200


def test_http_digest_md5_and_sha256_by_hand_and_nc_replay(gateway):
    for index, algorithm in enumerate(["MD5", "SHA-256"]):
        ch = challenges(soap(gateway.url, GET_INFO))[index]
        assert ch["algorithm"] == algorithm
        auth = digest_authorization(ch, *ADMIN, uri="/onvif/device_service")
        ok = soap(gateway.url, GET_INFO, headers={"Authorization": auth})
        assert ok.status_code == 200, (algorithm, ok.text)
        replay = soap(gateway.url, GET_INFO, headers={"Authorization": auth})
        assert replay.status_code == 401, "a replayed nonce count must be refused"
        next_nc = digest_authorization(ch, *ADMIN, uri="/onvif/device_service", nc=2)
        assert soap(gateway.url, GET_INFO, headers={"Authorization": next_nc}).status_code == 200


def test_http_digest_with_curl(gateway):
    out = subprocess.run(
        ["curl", "-s", "--digest", "-u", f"{ADMIN[0]}:{ADMIN[1]}", "-H", "Content-Type: application/soap+xml",
         "--data-binary", envelope(GET_INFO), "-w", "\n%{http_code}", gateway.url],
        capture_output=True, timeout=20, check=True)
    body, _, status = out.stdout.rpartition(b"\n")
    assert status == b"200", out.stdout
    from conftest import validator
    validator().check(body)


def test_bad_digest_password_is_401(gateway):
    ch = challenges(soap(gateway.url, GET_INFO))[0]
    auth = digest_authorization(ch, ADMIN[0], "wrong-password", uri="/onvif/device_service")
    assert soap(gateway.url, GET_INFO, headers={"Authorization": auth}).status_code == 401


def test_wrong_password_token_is_not_authorized(gateway):
    r = soap(gateway.url, GET_INFO, header=username_token(ADMIN[0], "wrong-password"))
    assert r.status_code == 400
    assert fault_codes(r) == ["env:Sender", "ter:NotAuthorized"]


def test_replayed_nonce_is_refused(gateway):
    token = username_token(*ADMIN, nonce=secrets.token_bytes(16))
    assert soap(gateway.url, GET_INFO, header=token).status_code == 200
    again = soap(gateway.url, GET_INFO, header=token)
    assert again.status_code == 400
    assert fault_codes(again) == ["env:Sender", "ter:NotAuthorized"]


def test_stale_created_is_refused(gateway):
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = soap(gateway.url, GET_INFO, header=username_token(*ADMIN, created=old))
    assert r.status_code == 400
    assert fault_codes(r)[-1] == "ter:NotAuthorized"
    future = "2255-11-30T00:00:00Z"
    assert soap(gateway.url, GET_INFO, header=username_token(*ADMIN, created=future)).status_code == 400


def test_created_without_fraction_and_with_offset(gateway):
    now = dt.datetime.now(dt.timezone.utc)
    for created in [now.strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y-%m-%dT%H:%M:%S+00:00")]:
        assert soap(gateway.url, GET_INFO, header=username_token(*ADMIN, created=created)).status_code == 200


def test_password_text_is_off_by_default(gateway):
    r = soap(gateway.url, GET_INFO, header=username_token(*ADMIN, digest=False))
    assert r.status_code == 400
    assert fault_codes(r)[-1] == "ter:NotAuthorized"


def test_token_without_nonce_is_refused(gateway):
    token = username_token(*ADMIN).replace("<wsse:Nonce>", "<!--").replace("</wsse:Nonce>", "-->")
    assert soap(gateway.url, GET_INFO, header=token).status_code == 400


def test_genetec_default_namespace_security_header(gateway):
    # Genetec: Security with a default namespace, mustUnderstand, wsu:Id on the token.
    token = username_token(*ADMIN)
    token = (token.replace("wsse:", "").replace('<Security env:mustUnderstand="1">',
             f'<Security xmlns="{NS["wsse"]}" env:mustUnderstand="1">')
             .replace("<UsernameToken>", '<UsernameToken wsu:Id="UsernameToken-1">'))
    r = soap(gateway.url, GET_INFO, header=token)
    assert r.status_code == 200, r.text


def test_wsa_headers_with_must_understand_are_accepted(gateway):
    wsa = ('<wsa:Action xmlns:wsa="http://www.w3.org/2005/08/addressing" env:mustUnderstand="1">'
           'http://www.onvif.org/ver10/device/wsdl/GetDeviceInformation</wsa:Action>'
           '<wsa:To xmlns:wsa="http://www.w3.org/2005/08/addressing" env:mustUnderstand="1">x</wsa:To>')
    r = soap(gateway.url, GET_INFO, header=wsa + username_token(*ADMIN))
    assert r.status_code == 200, r.text


def test_user_levels_follow_the_default_access_policy(gateway):
    # GetUsers is READ_SYSTEM_SECRET: Administrator only.
    assert soap(gateway.url, "<tds:GetUsers/>", auth=ADMIN).status_code == 200
    for who in [OPERATOR, USER]:
        r = soap(gateway.url, "<tds:GetUsers/>", auth=who)
        assert r.status_code == 400
        assert fault_codes(r) == ["env:Sender", "ter:NotAuthorized"]
    # GetDeviceInformation is READ_SYSTEM: every level.
    for who in [ADMIN, OPERATOR, USER]:
        assert soap(gateway.url, GET_INFO, auth=who).status_code == 200
    # SetScopes is WRITE_SYSTEM: not for an Operator.
    r = soap(gateway.url, "<tds:AddScopes><tds:ScopeItem>urn:x</tds:ScopeItem></tds:AddScopes>", auth=OPERATOR)
    assert fault_codes(r)[-1] == "ter:NotAuthorized"


def test_malformed_xml_is_well_formed_fault(gateway):
    for raw in [b"<env:Envelope", b"<?xml version='1.0'?><a><b></a>", b"\xff\xfe<x/>", b"just text"]:
        r = soap(gateway.url, "", raw=raw)
        assert r.status_code == 400, raw
        assert fault_codes(r) == ["env:Sender", "ter:WellFormed"], raw


def test_dtd_and_entities_are_refused(gateway):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>&lol2;</env:Body></env:Envelope>')
    r = soap(gateway.url, "", raw=bomb)
    assert r.status_code == 400
    assert fault_codes(r) == ["env:Sender", "ter:WellFormed"]


def test_deep_nesting_is_refused(gateway):
    deep = "<a>" * 200 + "</a>" * 200
    r = soap(gateway.url, deep)
    assert r.status_code == 400
    assert fault_codes(r)[:2] == ["env:Sender", "ter:WellFormed"]


def test_soap11_envelope_is_version_mismatch(gateway):
    raw = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
           b'<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>')
    r = soap(gateway.url, "", raw=raw, content_type="text/xml")
    assert r.status_code == 500
    assert fault_codes(r) == ["env:VersionMismatch"]
    assert b"SupportedEnvelope" in r.content


def test_unknown_must_understand_header(gateway):
    header = '<x:Billing xmlns:x="urn:example" env:mustUnderstand="true"/>'
    r = soap(gateway.url, "<tds:GetSystemDateAndTime/>", header=header)
    assert r.status_code == 500
    assert fault_codes(r) == ["env:MustUnderstand"]
    assert b"NotUnderstood" in r.content


def test_unknown_and_unsupported_operations(gateway):
    r = soap(gateway.url, '<x:Frobnicate xmlns:x="urn:example"/>', auth=ADMIN)
    assert r.status_code == 500
    assert fault_codes(r) == ["env:Receiver", "ter:ActionNotSupported"]
    # In the WSDL, not implemented: after authentication, the standard's fault, never a fake success.
    r = soap(gateway.url, "<tds:GetSystemBackup/>", auth=ADMIN)
    assert r.status_code == 500
    assert fault_codes(r) == ["env:Receiver", "ter:ActionNotSupported"]
    # ...and an unauthenticated client learns nothing beyond the challenge.
    assert soap(gateway.url, "<tds:GetSystemBackup/>").status_code == 401


def test_oversized_body_is_413(gateway):
    big = envelope("<tds:GetSystemDateAndTime/>" + "<!--" + "x" * 400_000 + "-->")
    r = requests.post(gateway.url, data=big.encode(), headers={"Content-Type": "application/soap+xml"}, timeout=10)
    assert r.status_code == 413

    def chunks():
        for _ in range(100):
            yield b"<!--" + b"x" * 10_000 + b"-->"
    r = requests.post(gateway.url, data=chunks(), headers={"Content-Type": "application/soap+xml"}, timeout=10)
    assert r.status_code == 413, "a chunked body without Content-Length is capped too"


def test_content_types(gateway):
    body = "<tds:GetSystemDateAndTime/>"
    assert soap(gateway.url, body, content_type="text/xml; charset=utf-8").status_code == 200
    assert soap(gateway.url, body, content_type='application/soap+xml; charset=utf-8; action="x"').status_code == 200
    assert soap(gateway.url, body, content_type="application/json").status_code == 415


def test_get_and_unknown_paths_do_not_crash(gateway):
    r = requests.get(gateway.url, timeout=5)
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"
    assert requests.get(gateway.url.replace("device_service", "nope"), timeout=5).status_code == 404
    # ...and the gateway still answers.
    assert soap(gateway.url, "<tds:GetSystemDateAndTime/>").status_code == 200


def test_passwords_never_reach_the_log(gateway):
    soap(gateway.url, GET_INFO, header=username_token(ADMIN[0], "not-the-password-xyz"))
    log = gateway.log()
    for secret in [ADMIN[1], OPERATOR[1], USER[1], "not-the-password-xyz"]:
        assert secret not in log
