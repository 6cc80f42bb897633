"""StartFirmwareUpgrade through a real client and HTTP POST: a release package signed with
the release key (made here with OpenSSL's ed25519) is verified before anything is written,
installed beside the running program, tried, and confirmed once it answers; one that does
not answer in time is rolled back, and one that dies is reported as failed by the program
that starts instead. Packages signed with another key, or altered, are refused with nothing
installed."""

import base64
import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import zeep

from conftest import ADMIN, Gateway, binary, free_port, zeep_client, zeep_fault_codes

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("strip") is None,
                                reason="openssl or strip (binutils) is missing")


def release_program(folder: Path) -> bytes:
    """This railgate as a release would ship it: stripped (the debug build is 250+ MB)."""
    copy = folder / "railgate-stripped"
    shutil.copy(binary(), copy)
    subprocess.run(["strip", str(copy)], check=True)
    return copy.read_bytes()


def faults_of(call, *args, **kwargs) -> list[str]:
    with pytest.raises(zeep.exceptions.Fault) as e:
        call(*args, **kwargs)
    return zeep_fault_codes(e.value)


def keypair(folder: Path, name: str) -> tuple[Path, Path]:
    """An ed25519 key (PEM) and its public key as railgate reads it (one base64 line)."""
    pem = folder / f"{name}.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(pem)], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", str(pem), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    pub = folder / f"{name}.pub"
    pub.write_text(base64.b64encode(der[-32:]).decode() + "\n")
    return pem, pub


def package(key: Path, version: str, program: bytes, folder: Path) -> bytes:
    header = json.dumps({"version": version, "binary_len": len(program),
                         "binary_sha256": hashlib.sha256(program).hexdigest()})
    signed = b"RAILGATE-PACKAGE 1\n" + header.encode() + b"\n" + program
    (folder / "signed.bin").write_bytes(signed)
    sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", str(key), "-rawin", "-in",
                          str(folder / "signed.bin")], check=True, capture_output=True).stdout
    assert len(sig) == 64
    return signed + sig


def upgradable(tmp_path: Path, trial_secs: int = 20, env: dict | None = None) -> tuple[Gateway, Path, Path]:
    pem, pub = keypair(tmp_path, "release")
    root = tmp_path / "host"
    g = Gateway(tmp_path, config=f"host:\n  backend: sandbox\n  root: {root}\n  release_key: {pub}\n"
                                 f"  upgrade_trial_secs: {trial_secs}\n",
                env=env, listen=f"127.0.0.1:{free_port()}").start()
    return g, pem, root / "firmware"


def post(uri: str, data: bytes):
    return requests.post(uri, data=data, auth=requests.auth.HTTPDigestAuth(*ADMIN), timeout=60,
                         headers={"Content-Type": "application/octet-stream"})


def wait_log(g: Gateway, text: str, count: int = 1, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while g.log().count(text) < count:
        assert time.monotonic() < deadline, f"never logged {text!r}:\n{g.log()[-4000:]}"
        time.sleep(0.05)


def test_a_signed_release_is_verified_installed_tried_and_confirmed(tmp_path):
    g, pem, firmware = upgradable(tmp_path)
    try:
        dev = zeep_client(g.url)
        assert dev.GetServiceCapabilities().System.HttpFirmwareUpgrade is True
        start = dev.StartFirmwareUpgrade()
        assert start.UploadUri.endswith("/onvif/system/firmware")
        program = release_program(tmp_path)
        good = package(pem, "0.1.1-test", program, tmp_path)
        # Another key, an altered byte, not a package: refused, nothing written.
        other, _ = keypair(tmp_path, "other")
        r = post(start.UploadUri, package(other, "0.1.1-test", program, tmp_path))
        assert r.status_code == 415 and "not the release key's" in r.text
        altered = bytearray(good)
        altered[len(good) // 2] ^= 0xFF
        assert post(start.UploadUri, bytes(altered)).status_code == 415
        assert post(start.UploadUri, b"\x7fELF").status_code == 415
        assert not firmware.exists() or not any(firmware.iterdir())
        assert requests.post(start.UploadUri, data=good, timeout=30,
                             headers={"Content-Type": "application/octet-stream"}).status_code == 401

        pid = g.proc.pid
        r = post(start.UploadUri, good)
        assert r.status_code == 200 and "0.1.1-test" in r.text, r.text
        wait_log(g, "firmware 0.1.1-test confirmed")
        assert g.proc.pid == pid and g.proc.poll() is None
        assert (firmware / "current").resolve() == (firmware / "railgate-0.1.1-test").resolve()
        assert (firmware / "railgate-0.1.1-test").read_bytes() == program
        assert not (firmware / "trial.json").exists()
        assert g.log().count("railgate started") == 2
        assert zeep_client(g.url).GetDeviceInformation().Manufacturer == "railgate"
    finally:
        assert g.stop() == 0, g.log()


def test_a_release_that_does_not_answer_in_time_is_rolled_back(tmp_path):
    g, pem, firmware = upgradable(tmp_path, trial_secs=5, env={"RAILGATE_TEST_FIRMWARE_NEVER_READY": "1"})
    try:
        uri = zeep_client(g.url).StartFirmwareUpgrade().UploadUri
        assert post(uri, package(pem, "0.1.2-mute", release_program(tmp_path), tmp_path)).status_code == 200
        wait_log(g, "did not answer within 5 s: rolling back")
        wait_log(g, "railgate started", count=3)
        assert not (firmware / "trial.json").exists() and not (firmware / "current").exists()
        assert zeep_client(g.url).GetDeviceInformation().Manufacturer == "railgate"
    finally:
        assert g.stop() == 0, g.log()


def test_a_release_that_dies_is_reported_by_the_program_started_instead(tmp_path):
    g, pem, firmware = upgradable(tmp_path)
    uri = zeep_client(g.url).StartFirmwareUpgrade().UploadUri
    assert post(uri, package(pem, "0.1.3-broken", b"#!/bin/sh\nexit 3\n", tmp_path)).status_code == 200
    assert g.proc.wait(30) == 3, g.log()  # the new "program" ran in place of railgate, and died
    assert (firmware / "trial.json").exists()
    # As the supervisor would: the installed program again.
    g.start()
    try:
        wait_log(g, "the firmware upgrade did not come up")
        assert not (firmware / "trial.json").exists()
        assert zeep_client(g.url).GetDeviceInformation().Manufacturer == "railgate"
    finally:
        assert g.stop() == 0, g.log()


def test_without_a_backend_that_installs_firmware_it_is_refused(gateway):
    dev = zeep_client(gateway.url)
    assert dev.GetServiceCapabilities().System.HttpFirmwareUpgrade is False
    assert faults_of(dev.StartFirmwareUpgrade) == ["Receiver", "ActionNotSupported"]
