//! GetDeviceInformation, GetWsdlUrl, GetEndpointReference, GetSystemUris,
//! StartSystemRestore.

use crate::services::{Ctx, OpResult};
use crate::system_files::SystemFile;
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

/// The URI of a system file, on the address the client reached.
fn uri(ctx: &Ctx, file: SystemFile) -> String {
    format!("{}{}", ctx.base_url, file.path())
}

pub(super) async fn get_system_uris(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    w.with("tds:GetSystemUrisResponse", &[], |w| {
        w.with("tds:SystemLogUris", &[], |w| {
            for (kind, file) in [
                ("System", SystemFile::SystemLog),
                ("Access", SystemFile::AccessLog),
            ] {
                w.with("tt:SystemLog", &[], |w| {
                    w.leaf("tt:Type", kind);
                    w.leaf("tt:Uri", &uri(ctx, file));
                });
            }
        });
        w.leaf("tds:SupportInfoUri", &uri(ctx, SystemFile::Support));
        w.leaf("tds:SystemBackupUri", &uri(ctx, SystemFile::Backup));
    });
    Ok(w.finish())
}

pub(super) async fn start_firmware_upgrade(ctx: &Ctx, _req: &Element) -> OpResult {
    if !ctx.app.firmware_upgradable() {
        return Err(crate::soap::SoapFault::action_not_supported(
            if ctx.app.host.firmware_dir(&ctx.app.data_dir()).is_none() {
                format!(
                    "host.backend {} installs no firmware",
                    ctx.app.host.kind().name()
                )
            } else {
                format!(
                    "no release key at {}",
                    ctx.app.config.host.release_key.display()
                )
            },
        ));
    }
    let mut w = XmlWriter::new();
    w.with("tds:StartFirmwareUpgradeResponse", &[], |w| {
        w.leaf("tds:UploadUri", &uri(ctx, SystemFile::Firmware));
        w.leaf("tds:UploadDelay", "PT0S");
        w.leaf("tds:ExpectedDownTime", "PT30S");
    });
    Ok(w.finish())
}

pub(super) async fn start_system_restore(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    w.with("tds:StartSystemRestoreResponse", &[], |w| {
        w.leaf("tds:UploadUri", &uri(ctx, SystemFile::Restore));
        w.leaf("tds:ExpectedDownTime", "PT10S");
    });
    Ok(w.finish())
}
