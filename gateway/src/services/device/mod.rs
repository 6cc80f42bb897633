//! The device management service (`tds`), at `/onvif/device_service`.

mod capabilities;
mod datetime;
mod info;
pub mod network;
pub mod scopes;
mod users;

use crate::xml::ns::TDS;

pub use capabilities::{version, write_device_capabilities};

crate::services::operations! {
    TDS "GetServices" => capabilities::get_services,
    TDS "GetServiceCapabilities" => capabilities::get_service_capabilities,
    TDS "GetCapabilities" => capabilities::get_capabilities,
    TDS "GetDeviceInformation" => info::get_device_information,
    TDS "GetWsdlUrl" => info::get_wsdl_url,
    TDS "GetEndpointReference" => info::get_endpoint_reference,
    TDS "GetSystemUris" => info::get_system_uris,
    TDS "GetSystemDateAndTime" => datetime::get_system_date_and_time,
    TDS "GetScopes" => scopes::get_scopes,
    TDS "SetScopes" => scopes::set_scopes,
    TDS "AddScopes" => scopes::add_scopes,
    TDS "RemoveScopes" => scopes::remove_scopes,
    TDS "GetDiscoveryMode" => scopes::get_discovery_mode,
    TDS "SetDiscoveryMode" => scopes::set_discovery_mode,
    TDS "GetUsers" => users::get_users,
    TDS "CreateUsers" => users::create_users,
    TDS "DeleteUsers" => users::delete_users,
    TDS "SetUser" => users::set_user,
    TDS "GetHostname" => network::get_hostname,
    TDS "GetNetworkInterfaces" => network::get_network_interfaces,
    TDS "GetDNS" => network::get_dns,
    TDS "GetNTP" => network::get_ntp,
    TDS "GetNetworkProtocols" => network::get_network_protocols,
    TDS "GetNetworkDefaultGateway" => network::get_network_default_gateway,
    TDS "GetZeroConfiguration" => network::get_zero_configuration,
    TDS "GetRelayOutputs" => crate::services::io::get_relay_outputs,
    TDS "SetRelayOutputSettings" => crate::services::io::set_relay_output_settings_tds,
    TDS "SetRelayOutputState" => crate::services::io::set_relay_output_state,
    TDS "SendAuxiliaryCommand" => crate::services::io::send_auxiliary_command,
}
