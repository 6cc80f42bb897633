"""The binary as integrators and operators meet it: flags, exit codes, first start,
persistence across restarts, private files, shutdown, lockout, slow and idle clients."""

import os
import re
import socket
import stat
import subprocess
import time

import pytest
import requests

from conftest import (ADMIN, Gateway, binary, challenges, digest_authorization, envelope, fault_codes, soap,
                      username_token, zeep_client)

INFO = "<tds:GetDeviceInformation/>"


def test_help_documents_every_flag_and_subcommand():
    out = subprocess.run([binary(), "--help"], capture_output=True, text=True, check=True).stdout
    for word in ["--config", "--listen", "--data-dir", "--log-level", "--log-format", "run", "check"]:
        assert word in out, word


def test_port_taken_is_a_clear_error_and_exit_code(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        g = Gateway(tmp_path, listen=f"127.0.0.1:{port}")
        p = subprocess.run([binary(), "--config", g.config_path, "--data-dir", g.data, "--listen", g.listen],
                           capture_output=True, text=True, timeout=20, env=g.env)
    assert p.returncode == 69, p.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in p.stderr
    assert "panicked" not in p.stderr
    assert not g.data.exists(), "nothing is written when the port is taken"


def test_invalid_config_reports_line_and_column(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("device:\n  model: x\nserver:\n  listen:\n    - nowhere\n")
    p = subprocess.run([binary(), "check", cfg], capture_output=True, text=True)
    assert p.returncode == 78
    assert re.search(rf"{re.escape(str(cfg))}:5:7: error: ", p.stderr), p.stderr
    p = subprocess.run([binary(), "--config", cfg], capture_output=True, text=True, timeout=20)
    assert p.returncode == 78
    good = tmp_path / "good.yaml"
    good.write_text("device:\n  name: lobby\n")
    assert subprocess.run([binary(), "check", good], capture_output=True).returncode == 0


def test_first_start_random_admin_password_private_files_and_persistence(tmp_path):
    g = Gateway(tmp_path, env={"RAILGATE_ADMIN_PASSWORD": ""}).start()
    try:
        pw_file = g.data / "initial-admin-password"
        password = pw_file.read_text().strip()
        assert len(password) >= 20
        assert stat.S_IMODE(os.stat(g.data).st_mode) == 0o700
        for f in ["state.db", "initial-admin-password"]:
            assert stat.S_IMODE(os.stat(g.data / f).st_mode) == 0o600, f
        assert password not in g.log(), "the generated password is never logged"
        assert str(pw_file) in g.log(), "the log says where it is"
        assert "\x1b[" not in g.log(), "no terminal colour codes in a log file"
        admin = ("admin", password)
        dev = zeep_client(g.url, auth=admin)
        dev.CreateUsers(User=[{"Username": "keeper", "Password": "keeper-pass", "UserLevel": "Operator"}])
        dev.AddScopes(ScopeItem=["urn:site:persisted"])
        dev.SetDiscoveryMode(DiscoveryMode="NonDiscoverable")
        epr = dev.GetEndpointReference().GUID
        serial = dev.GetDeviceInformation().SerialNumber
    finally:
        assert g.stop() == 0
    g.start()
    try:
        dev = zeep_client(g.url, auth=("keeper", "keeper-pass"))
        assert dev.GetDiscoveryMode() == "NonDiscoverable"
        assert "urn:site:persisted" in [s.ScopeItem for s in dev.GetScopes()]
        assert dev.GetEndpointReference().GUID == epr
        assert dev.GetDeviceInformation().SerialNumber == serial
        assert soap(g.url, INFO, auth=admin).status_code == 200, "the first password still works"
        assert password not in g.log(), "not logged on a later start either"
    finally:
        assert g.stop() == 0


@pytest.mark.parametrize("source", ["file", "credential"])
def test_first_admin_password_from_a_file_or_systemd_credential(tmp_path, source):
    secret = "from-a-file-" + source
    pw = tmp_path / "secret"
    pw.write_text(secret + "\n")
    env = {"RAILGATE_ADMIN_PASSWORD": "the-env-loses"}
    if source == "file":
        env["RAILGATE_ADMIN_PASSWORD_FILE"] = str(pw)
    else:
        creds = tmp_path / "creds"
        creds.mkdir()
        (creds / "admin-password").write_text(secret)
        env["CREDENTIALS_DIRECTORY"] = str(creds)
    g = Gateway(tmp_path, env=env).start()
    try:
        assert soap(g.url, INFO, auth=("admin", secret)).status_code == 200
        assert soap(g.url, INFO, auth=("admin", "the-env-loses")).status_code == 400, "a wrong UsernameToken"
        assert not (g.data / "initial-admin-password").exists()
        assert secret not in g.log()
    finally:
        assert g.stop() == 0


def test_an_unreadable_password_file_stops_the_start(tmp_path):
    g = Gateway(tmp_path, env={"RAILGATE_ADMIN_PASSWORD_FILE": str(tmp_path / "missing")})
    with pytest.raises(RuntimeError):
        g.start()
    assert g.proc.returncode == 78
    assert "RAILGATE_ADMIN_PASSWORD_FILE" in g.log()


def test_sigterm_during_a_request_finishes_it(tmp_path):
    g = Gateway(tmp_path).start()
    with socket.create_connection(("127.0.0.1", g.port)) as s:
        body = envelope("<tds:GetSystemDateAndTime/>").encode()
        head = (f"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        s.sendall(head + body[:20])
        time.sleep(0.2)
        g.proc.send_signal(15)
        time.sleep(0.2)
        s.sendall(body[20:])
        reply = s.recv(65536)
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert g.proc.wait(15) == 0


def test_lockout_after_repeated_failures(tmp_path):
    g = Gateway(tmp_path, config="security:\n  lockout_after_failures: 3\n  lockout_secs: 2\n").start()
    try:
        for _ in range(3):
            assert soap(g.url, INFO, header=username_token(ADMIN[0], "guess-guess")).status_code == 400
        locked = soap(g.url, INFO, auth=ADMIN)
        assert locked.status_code == 429
        assert int(locked.headers["Retry-After"]) >= 1
        assert soap(g.url, "<tds:GetSystemDateAndTime/>").status_code == 200, "PRE_AUTH still answers"
        time.sleep(2.2)
        assert soap(g.url, INFO, auth=ADMIN).status_code == 200
    finally:
        assert g.stop() == 0


def test_expired_digest_nonce_is_stale(tmp_path):
    g = Gateway(tmp_path, config="security:\n  digest_nonce_lifetime_secs: 1\n").start()
    try:
        ch = challenges(soap(g.url, INFO))[0]
        time.sleep(2.1)
        r = soap(g.url, INFO, headers={"Authorization": digest_authorization(ch, *ADMIN, uri="/onvif/device_service")})
        assert r.status_code == 401
        assert all("stale" in c for c in challenges(r))
    finally:
        assert g.stop() == 0


def test_created_window_can_be_switched_off(tmp_path):
    g = Gateway(tmp_path, config="security:\n  created_window_secs: 0\n").start()
    try:
        token = username_token(*ADMIN, created="2255-11-30T00:00:00Z")
        assert soap(g.url, INFO, header=token).status_code == 200
        assert fault_codes(soap(g.url, INFO, header=token))[-1] == "ter:NotAuthorized", "replay still refused"
    finally:
        assert g.stop() == 0


def test_keep_alive_and_slow_clients(tmp_path):
    g = Gateway(tmp_path, config="server:\n  header_timeout_secs: 1\n  body_timeout_secs: 1\n").start()
    try:
        with requests.Session() as session:
            for _ in range(20):
                r = session.post(g.url, data=envelope("<tds:GetSystemDateAndTime/>"),
                                 headers={"Content-Type": "application/soap+xml"}, timeout=5)
                assert r.status_code == 200
        # A client that never finishes its request head is cut off...
        slow = socket.create_connection(("127.0.0.1", g.port))
        slow.sendall(b"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\n")
        # ...one that never sends its body gets 408...
        idle = socket.create_connection(("127.0.0.1", g.port))
        idle.sendall(b"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n<a>")
        # ...and neither delays anyone else.
        assert soap(g.url, "<tds:GetSystemDateAndTime/>").status_code == 200
        slow.settimeout(5)
        idle.settimeout(5)
        t0 = time.monotonic()
        assert slow.recv(1024) == b"", "closed without an answer once the header timeout passed"
        assert time.monotonic() - t0 < 4
        assert idle.recv(1024).startswith(b"HTTP/1.1 408")
        slow.close()
        idle.close()
    finally:
        assert g.stop() == 0
