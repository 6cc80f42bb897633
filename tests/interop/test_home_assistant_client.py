"""onvif-zeep-async, the library Home Assistant's ONVIF integration uses, doing what Home
Assistant does when a device is added: clock offset, service discovery, identity, MAC."""

import asyncio
import datetime as dt

import onvif
import pytest
from onvif import ONVIFCamera
from onvif.zeep_aiohttp import AIOHTTPTransport

from conftest import ADMIN, OPERATOR, validator

WSDL_DIR = onvif.__path__[0] + "/wsdl"


@pytest.fixture(autouse=True)
def validate_every_response(monkeypatch):
    """Every response the library receives goes through the schema validator."""
    original = AIOHTTPTransport._post_internal
    seen = []

    async def checked(self, *args, **kwargs):
        response, content = await original(self, *args, **kwargs)
        if "soap+xml" in response.headers.get("Content-Type", ""):
            validator().check(content)
            seen.append(len(content))
        return response, content

    monkeypatch.setattr(AIOHTTPTransport, "_post_internal", checked)
    yield
    assert seen, "no response went through the validator"


def run(coro):
    return asyncio.run(coro)


def test_home_assistant_setup_flow(gateway):
    async def flow():
        cam = ONVIFCamera("127.0.0.1", gateway.port, *ADMIN, wsdl_dir=WSDL_DIR, adjust_time=True)
        try:
            await cam.update_xaddrs()
            assert cam.dt_diff is not None and abs(cam.dt_diff) < dt.timedelta(seconds=5)
            assert cam.xaddrs["http://www.onvif.org/ver10/device/wsdl"] == gateway.url
            caps = await cam.get_capabilities()
            assert caps["Device"]["XAddr"] == gateway.url
            mgmt = await cam.create_devicemgmt_service()
            info = await mgmt.GetDeviceInformation()
            assert info.Manufacturer == "railgate" and info.SerialNumber.startswith("RG")
            # Home Assistant keys the device by the MAC of the first enabled interface.
            interfaces = await mgmt.GetNetworkInterfaces()
            macs = [i.Info.HwAddress for i in interfaces if i.Enabled]
            assert macs and all(len(m) == 17 for m in macs)
            date = await mgmt.GetSystemDateAndTime()
            assert date.UTCDateTime.Date.Year >= 2024
            scopes = await mgmt.GetScopes()
            assert any(s.ScopeItem.startswith("onvif://www.onvif.org/name/") for s in scopes)
        finally:
            await cam.close()

    run(flow())


def test_wrong_password_surfaces_as_not_authorized(gateway):
    async def flow():
        cam = ONVIFCamera("127.0.0.1", gateway.port, ADMIN[0], "wrong-password", wsdl_dir=WSDL_DIR)
        try:
            await cam.update_xaddrs()  # PRE_AUTH calls work
            mgmt = await cam.create_devicemgmt_service()
            with pytest.raises(Exception) as e:
                await mgmt.GetDeviceInformation()
            assert "NotAuthorized" in repr(e.value) or "Sender not Authorized" in str(e.value)
        finally:
            await cam.close()

    run(flow())


def test_operator_reads_but_cannot_manage_users(gateway):
    async def flow():
        cam = ONVIFCamera("127.0.0.1", gateway.port, *OPERATOR, wsdl_dir=WSDL_DIR)
        try:
            await cam.update_xaddrs()
            mgmt = await cam.create_devicemgmt_service()
            assert (await mgmt.GetHostname()).Name
            with pytest.raises(Exception) as e:
                await mgmt.GetUsers()
            assert "Sender not Authorized" in str(e.value)
        finally:
            await cam.close()

    run(flow())
