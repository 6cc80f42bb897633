//! The device management service (`tds`), at `/onvif/device_service`.

mod access_policy;
mod capabilities;
mod certificates;
mod datetime;
mod info;
mod ip_filter;
pub mod network;
mod network_set;
pub mod scopes;
pub mod support;
mod system;
mod users;

use crate::host::settings::{HostError, Invalid};
use crate::soap::SoapFault;
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
    TDS "StartSystemRestore" => info::start_system_restore,
    TDS "StartFirmwareUpgrade" => info::start_firmware_upgrade,
    TDS "GetSystemLog" => support::get_system_log,
    TDS "GetSystemSupportInformation" => support::get_system_support_information,
    TDS "GetSystemDateAndTime" => datetime::get_system_date_and_time,
    TDS "SetSystemDateAndTime" => datetime::set_system_date_and_time,
    TDS "SystemReboot" => system::system_reboot,
    TDS "SetSystemFactoryDefault" => system::set_system_factory_default,
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
    TDS "SetHostname" => network_set::set_hostname,
    TDS "SetHostnameFromDHCP" => network_set::set_hostname_from_dhcp,
    TDS "SetDNS" => network_set::set_dns,
    TDS "SetNTP" => network_set::set_ntp,
    TDS "SetNetworkInterfaces" => network_set::set_network_interfaces,
    TDS "SetNetworkDefaultGateway" => network_set::set_network_default_gateway,
    TDS "SetZeroConfiguration" => network_set::set_zero_configuration,
    TDS "GetDynamicDNS" => network_set::get_dynamic_dns,
    TDS "GetAccessPolicy" => access_policy::get_access_policy,
    TDS "SetAccessPolicy" => access_policy::set_access_policy,
    TDS "GetCertificates" => certificates::get_certificates,
    TDS "GetCACertificates" => certificates::get_ca_certificates,
    TDS "GetCertificatesStatus" => certificates::get_certificates_status,
    TDS "SetCertificatesStatus" => certificates::set_certificates_status,
    TDS "CreateCertificate" => certificates::create_certificate,
    TDS "GetPkcs10Request" => certificates::get_pkcs10_request,
    TDS "LoadCertificates" => certificates::load_certificates,
    TDS "LoadCertificateWithPrivateKey" => certificates::load_certificate_with_private_key,
    TDS "LoadCACertificates" => certificates::load_ca_certificates,
    TDS "DeleteCertificates" => certificates::delete_certificates,
    TDS "GetCertificateInformation" => certificates::get_certificate_information,
    TDS "GetClientCertificateMode" => certificates::get_client_certificate_mode,
    TDS "SetClientCertificateMode" => certificates::set_client_certificate_mode,
    TDS "GetIPAddressFilter" => ip_filter::get_ip_address_filter,
    TDS "SetIPAddressFilter" => ip_filter::set_ip_address_filter,
    TDS "AddIPAddressFilter" => ip_filter::add_ip_address_filter,
    TDS "RemoveIPAddressFilter" => ip_filter::remove_ip_address_filter,
    TDS "SetDynamicDNS" => network_set::set_dynamic_dns,
    TDS "GetNetworkInterfaces" => network::get_network_interfaces,
    TDS "GetDNS" => network::get_dns,
    TDS "GetNTP" => network::get_ntp,
    TDS "GetNetworkProtocols" => network::get_network_protocols,
    TDS "SetNetworkProtocols" => network_set::set_network_protocols,
    TDS "GetNetworkDefaultGateway" => network::get_network_default_gateway,
    TDS "GetZeroConfiguration" => network::get_zero_configuration,
    TDS "GetRelayOutputs" => crate::services::io::get_relay_outputs,
    TDS "SetRelayOutputSettings" => crate::services::io::set_relay_output_settings_tds,
    TDS "SetRelayOutputState" => crate::services::io::set_relay_output_state,
    TDS "SendAuxiliaryCommand" => crate::services::io::send_auxiliary_command,
}

/// The fault for a change the host backend refused: what it does not support is
/// `ter:ActionNotSupported`, a value it cannot take the subcode Core names for it, a failure
/// `ter:Action`.
fn host_fault(error: HostError) -> SoapFault {
    match error {
        HostError::NotSupported(detail) => SoapFault::action_not_supported(detail),
        HostError::Invalid(what, detail) => SoapFault::invalid_arg_val(
            Some(match what {
                Invalid::TimeZone => "ter:InvalidTimeZone",
                Invalid::DateTime => "ter:InvalidDateTime",
                Invalid::NtpServerUndefined => "ter:NtpServerUndefined",
                Invalid::TimeSyncedToNtp => "ter:TimeSyncedToNtp",
                Invalid::Hostname => "ter:InvalidHostname",
                Invalid::Ipv4Address => "ter:InvalidIPv4Address",
                Invalid::Ipv6Address => "ter:InvalidIPv6Address",
                Invalid::DnsName => "ter:InvalidDnsName",
                Invalid::NetworkInterface => "ter:InvalidNetworkInterface",
                Invalid::Mtu => "ter:InvalidMtuValue",
                Invalid::GatewayAddress => "ter:InvalidGatewayAddress",
            }),
            detail,
        ),
        HostError::Failed(detail) => {
            tracing::warn!(error = %detail, "the host did not apply a change");
            SoapFault::action_failed(None, detail)
        }
    }
}
