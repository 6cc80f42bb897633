//! GetDeviceInformation, GetWsdlUrl, GetEndpointReference, GetSystemUris.

use crate::services::{Ctx, OpResult};
use crate::xml::{Element, XmlWriter};

pub(super) async fn get_device_information(ctx: &Ctx, _req: &Element) -> OpResult {
    let id = &ctx.app.identity;
    let mut w = XmlWriter::new();
    w.with("tds:GetDeviceInformationResponse", &[], |w| {
        w.leaf("tds:Manufacturer", &id.manufacturer);
        w.leaf("tds:Model", &id.model);
        w.leaf("tds:FirmwareVersion", &id.firmware_version);
        w.leaf("tds:SerialNumber", &id.serial_number);
        w.leaf("tds:HardwareId", &id.hardware_id);
    });
    Ok(w.finish())
}

pub(super) async fn get_wsdl_url(_ctx: &Ctx, _req: &Element) -> OpResult {
    // The published ONVIF specification index, where every WSDL railgate implements lives.
    Ok("<tds:GetWsdlUrlResponse><tds:WsdlUrl>https://www.onvif.org/profiles/specifications/</tds:WsdlUrl></tds:GetWsdlUrlResponse>".into())
}

pub(super) async fn get_endpoint_reference(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    w.with("tds:GetEndpointReferenceResponse", &[], |w| {
        w.leaf("tds:GUID", &ctx.app.endpoint_reference);
    });
    Ok(w.finish())
}

pub(super) async fn get_system_uris(_ctx: &Ctx, _req: &Element) -> OpResult {
    // railgate offers no log, support or backup download over HTTP: every URI is optional,
    // so the honest answer is an empty list.
    Ok("<tds:GetSystemUrisResponse/>".into())
}
