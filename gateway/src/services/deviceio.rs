//! The device I/O service (`tmd`), at `/onvif/deviceio_service`: relay outputs, digital
//! inputs and serial ports from the mapping (the serial operations: `services::serial`). GetRelayOutputs and SetRelayOutputState use the device
//! service's `tds` elements, as the WSDL says; the handlers are shared with the device
//! service (`services::io`). Clients that send the relay operations in the other namespace
//! (`tmd:GetRelayOutputs`, `tmd:SetRelayOutputState`, `tds:SetRelayOutputSettings`; onveef
//! does) are served too, answered in the namespace they used (aliases in the access table).

use crate::services::{Ctx, OpResult};
use crate::services::{io, serial};
use crate::xml::ns::{TDS, TMD};
use crate::xml::{Element, XmlWriter};

super::operations! {
    TMD "GetServiceCapabilities" => get_service_capabilities,
    TDS "GetRelayOutputs" => io::get_relay_outputs,
    TMD "GetRelayOutputs" => io::get_relay_outputs,
    TDS "SetRelayOutputState" => io::set_relay_output_state,
    TMD "SetRelayOutputState" => io::set_relay_output_state,
    TMD "SetRelayOutputSettings" => io::set_relay_output_settings_tmd,
    TDS "SetRelayOutputSettings" => io::set_relay_output_settings_tds,
    TMD "GetRelayOutputOptions" => io::get_relay_output_options,
    TMD "GetDigitalInputs" => io::get_digital_inputs,
    TMD "GetDigitalInputConfigurationOptions" => io::get_digital_input_configuration_options,
    TMD "SetDigitalInputConfigurations" => io::set_digital_input_configurations,
    TMD "GetSerialPorts" => serial::get_serial_ports,
    TMD "GetSerialPortConfiguration" => serial::get_serial_port_configuration,
    TMD "SetSerialPortConfiguration" => serial::set_serial_port_configuration,
    TMD "GetSerialPortConfigurationOptions" => serial::get_serial_port_configuration_options,
    TMD "SendReceiveSerialCommand" => serial::send_receive_serial_command,
}

/// `tmd:Capabilities`: how many relays, inputs and serial ports the mapping has.
pub fn write_capabilities(ctx: &Ctx, w: &mut XmlWriter, tag: &str) {
    let plan = ctx.app.io.plan();
    let relays = plan.relays.len().to_string();
    let inputs = plan.inputs.len().to_string();
    let serial_ports = plan.serial_ports.len().to_string();
    w.empty(
        tag,
        &[
            ("VideoSources", "0"),
            ("VideoOutputs", "0"),
            ("AudioSources", "0"),
            ("AudioOutputs", "0"),
            ("RelayOutputs", &relays),
            ("SerialPorts", &serial_ports),
            ("DigitalInputs", &inputs),
            ("DigitalInputOptions", "true"),
        ],
    );
}

async fn get_service_capabilities(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    w.with("tmd:GetServiceCapabilitiesResponse", &[], |w| {
        write_capabilities(ctx, w, "tmd:Capabilities")
    });
    Ok(w.finish())
}
