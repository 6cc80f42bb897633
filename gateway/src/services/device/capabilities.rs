//! GetServices, GetServiceCapabilities and GetCapabilities: what the device offers, and where.
//!
//! Both discovery paths (GetServices for modern clients, GetCapabilities for
//! onvif-zeep-async and other legacy ones) are built from the same facts, so they agree.
//! A service is listed only once it implements operations.

use crate::services::{Ctx, OpResult, is_offered, parse_bool};
use crate::soap::{Service, SoapFault};
use crate::xml::ns::TDS;
use crate::xml::write::bool_str;
use crate::xml::{Element, XmlWriter};

/// The WSDL version each service implements (the release of the WSDL railgate is built
/// against), as (Major, Minor).
pub fn version(service: Service) -> (u32, u32) {
    match service {
        Service::Device => (26, 6),
        Service::DeviceIo => (21, 6),
        Service::Events => (24, 12),
        Service::AdvancedSecurity => (26, 6),
    }
}

/// Whether WS-Discovery runs (on at least one interface, by configuration).
fn discovery_enabled(ctx: &Ctx) -> bool {
    crate::discovery::socket::Selection::parse(&ctx.app.discovery.borrow().interfaces)
        != crate::discovery::socket::Selection::Off
}

/// Whether railgate serves on IPv6 (some listen address is one).
fn serves_ipv6(ctx: &Ctx) -> bool {
    ctx.app.config.server.listen.iter().any(|a| a.is_ipv6())
}

/// `tds:DeviceServiceCapabilities`, written as the element `tag`.
pub fn write_device_capabilities(ctx: &Ctx, w: &mut XmlWriter, tag: &str) {
    let discovery = discovery_enabled(ctx);
    let limits = ctx.app.users.limits();
    let ipv6 = serves_ipv6(ctx).to_string();
    let max_users = limits.max_users.to_string();
    let max_name = limits.max_username_len.to_string();
    let max_password = limits.max_password_len.to_string();
    let host = ctx.app.host.capabilities();
    let ntp = host.ntp_servers.to_string();
    w.with(tag, &[], |w| {
        w.empty(
            "tds:Network",
            &[
                ("IPFilter", "true"),
                ("ZeroConfiguration", bool_str(host.zero_configuration)),
                ("IPVersion6", &ipv6),
                ("DynDNS", bool_str(host.dynamic_dns)),
                ("Dot11Configuration", "false"),
                ("HostnameFromDHCP", bool_str(host.hostname_from_dhcp)),
                ("NTP", &ntp),
                ("DHCPv6", "false"),
            ],
        );
        w.empty(
            "tds:Security",
            &[
                ("TLS1.0", "false"),
                ("TLS1.1", "false"),
                ("TLS1.2", bool_str(ctx.app.keystore.serving_tls())),
                ("OnboardKeyGeneration", "true"),
                ("AccessPolicyConfig", "true"),
                ("DefaultAccessPolicy", "true"),
                ("Dot1X", "false"),
                ("RemoteUserHandling", "false"),
                ("X.509Token", "false"),
                ("SAMLToken", "false"),
                ("KerberosToken", "false"),
                ("UsernameToken", "true"),
                ("HttpDigest", "true"),
                ("RELToken", "false"),
                ("MaxUsers", &max_users),
                ("MaxUserNameLength", &max_name),
                ("MaxPasswordLength", &max_password),
                ("HashingAlgorithms", "MD5 SHA-256"),
            ],
        );
        w.empty(
            "tds:System",
            &[
                ("DiscoveryResolve", bool_str(discovery)),
                ("DiscoveryBye", bool_str(discovery)),
                ("RemoteDiscovery", "false"),
                ("SystemBackup", "false"),
                ("SystemLogging", "true"),
                ("CloudFirmwareUpgrade", "false"),
                (
                    "HttpFirmwareUpgrade",
                    bool_str(ctx.app.firmware_upgradable()),
                ),
                ("HttpSystemBackup", "true"),
                ("HttpSystemLogging", "true"),
                ("HttpSupportInformation", "true"),
                ("StorageConfiguration", "false"),
                ("DiscoveryNotSupported", bool_str(!discovery)),
                ("NetworkConfigNotSupported", bool_str(!host.network)),
                ("UserConfigNotSupported", "false"),
            ],
        );
        let commands = ctx.app.io.commands();
        if !commands.is_empty() {
            w.empty("tds:Misc", &[("AuxiliaryCommands", &commands.join(" "))]);
        }
    });
}

fn write_version(w: &mut XmlWriter, tag: &str, service: Service) {
    let (major, minor) = version(service);
    w.with(tag, &[], |w| {
        w.leaf("tt:Major", &major.to_string());
        w.leaf("tt:Minor", &minor.to_string());
    });
}

/// `tt:IO` of GetCapabilities: input and relay counts, and the auxiliary commands.
fn write_io_capabilities(ctx: &Ctx, w: &mut XmlWriter) {
    let plan = ctx.app.io.plan();
    w.with("tt:IO", &[], |w| {
        w.leaf("tt:InputConnectors", &plan.inputs.len().to_string());
        w.leaf("tt:RelayOutputs", &plan.relays.len().to_string());
        if !plan.commands.is_empty() {
            w.with("tt:Extension", &[], |w| {
                w.leaf("tt:Auxiliary", "true");
                for c in &plan.commands {
                    w.leaf("tt:AuxiliaryCommands", &c.command);
                }
                // Required by the schema once the extension is present.
                w.empty("tt:Extension", &[]);
            });
        }
    });
}

pub(super) async fn get_services(ctx: &Ctx, req: &Element) -> OpResult {
    let include = match req.child(TDS, "IncludeCapability") {
        Some(e) => parse_bool(e.text_trim()).ok_or_else(|| {
            SoapFault::invalid_args(format!(
                "IncludeCapability {:?} is not a boolean",
                e.text_trim()
            ))
        })?,
        None => false,
    };
    let mut w = XmlWriter::new();
    w.with("tds:GetServicesResponse", &[], |w| {
        for service in Service::ALL.into_iter().filter(|s| is_offered(*s)) {
            w.with("tds:Service", &[], |w| {
                w.leaf("tds:Namespace", service.namespace());
                w.leaf("tds:XAddr", &ctx.xaddr(service));
                // The wrapper must hold the service's capabilities element; services gain
                // theirs here as they are implemented.
                if include {
                    match service {
                        Service::Device => {
                            w.with("tds:Capabilities", &[], |w| {
                                write_device_capabilities(ctx, w, "tds:Capabilities")
                            });
                        }
                        Service::Events => {
                            w.with("tds:Capabilities", &[], |w| {
                                crate::services::events::write_capabilities(ctx, w)
                            });
                        }
                        Service::DeviceIo => {
                            w.with("tds:Capabilities", &[], |w| {
                                crate::services::deviceio::write_capabilities(
                                    ctx,
                                    w,
                                    "tmd:Capabilities",
                                )
                            });
                        }
                        Service::AdvancedSecurity => {
                            w.with("tds:Capabilities", &[], |w| {
                                crate::services::advanced_security::write_capabilities(
                                    ctx,
                                    w,
                                    "tas:Capabilities",
                                )
                            });
                        }
                    }
                }
                write_version(w, "tds:Version", service);
            });
        }
    });
    Ok(w.finish())
}

pub(super) async fn get_service_capabilities(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    w.with("tds:GetServiceCapabilitiesResponse", &[], |w| {
        write_device_capabilities(ctx, w, "tds:Capabilities")
    });
    Ok(w.finish())
}

pub(super) async fn get_capabilities(ctx: &Ctx, req: &Element) -> OpResult {
    let (mut want_device, mut want_events, mut want_all) = (false, false, false);
    let mut categories = req
        .children_named(TDS, "Category")
        .map(|c| c.text_trim())
        .peekable();
    if categories.peek().is_none() {
        (want_device, want_events, want_all) = (true, true, true);
    }
    for category in categories {
        match category {
            "All" => (want_device, want_events, want_all) = (true, true, true),
            "Device" => want_device = true,
            "Events" if is_offered(Service::Events) => want_events = true,
            "Analytics" | "Events" | "Imaging" | "Media" | "PTZ" => {
                return Err(SoapFault::action_not_supported_because(
                    "ter:NoSuchService",
                    format!("railgate has no {category} service"),
                ));
            }
            other => {
                return Err(SoapFault::invalid_arg_val(
                    None,
                    format!("{other:?} is not a capability category"),
                ));
            }
        }
    }
    let (major, minor) = version(Service::Device);
    let mut w = XmlWriter::new();
    w.with("tds:GetCapabilitiesResponse", &[], |w| {
        w.with("tds:Capabilities", &[], |w| {
            if want_device {
                w.with("tt:Device", &[], |w| {
                    w.leaf("tt:XAddr", &ctx.xaddr(Service::Device));
                    let host = ctx.app.host.capabilities();
                    w.with("tt:Network", &[], |w| {
                        w.leaf("tt:IPFilter", "true");
                        w.leaf("tt:ZeroConfiguration", bool_str(host.zero_configuration));
                        w.leaf("tt:IPVersion6", bool_str(serves_ipv6(ctx)));
                        w.leaf("tt:DynDNS", bool_str(host.dynamic_dns));
                    });
                    w.with("tt:System", &[], |w| {
                        let discovery = bool_str(discovery_enabled(ctx));
                        w.leaf("tt:DiscoveryResolve", discovery);
                        w.leaf("tt:DiscoveryBye", discovery);
                        for flag in ["RemoteDiscovery", "SystemBackup"] {
                            w.leaf(&format!("tt:{flag}"), "false");
                        }
                        w.leaf("tt:SystemLogging", "true");
                        w.leaf(
                            "tt:FirmwareUpgrade",
                            bool_str(ctx.app.firmware_upgradable()),
                        );
                        w.with("tt:SupportedVersions", &[], |w| {
                            w.leaf("tt:Major", &major.to_string());
                            w.leaf("tt:Minor", &minor.to_string());
                        });
                    });
                    write_io_capabilities(ctx, w);
                    w.with("tt:Security", &[], |w| {
                        w.leaf("tt:TLS1.1", "false");
                        w.leaf("tt:TLS1.2", bool_str(ctx.app.keystore.serving_tls()));
                        w.leaf("tt:OnboardKeyGeneration", "true");
                        w.leaf("tt:AccessPolicyConfig", "true");
                        for flag in ["X.509Token", "SAMLToken", "KerberosToken", "RELToken"] {
                            w.leaf(&format!("tt:{flag}"), "false");
                        }
                    });
                });
            }
            if want_events && is_offered(Service::Events) {
                w.with("tt:Events", &[], |w| {
                    w.leaf("tt:XAddr", &ctx.xaddr(Service::Events));
                    w.leaf("tt:WSSubscriptionPolicySupport", "true");
                    w.leaf("tt:WSPullPointSupport", "false");
                    w.leaf("tt:WSPausableSubscriptionManagerInterfaceSupport", "false");
                });
            }
            // DeviceIO has no category of its own: it comes with All (or no category).
            if want_all && is_offered(Service::DeviceIo) {
                let relays = ctx.app.io.plan().relays.len().to_string();
                w.with("tt:Extension", &[], |w| {
                    w.with("tt:DeviceIO", &[], |w| {
                        w.leaf("tt:XAddr", &ctx.xaddr(Service::DeviceIo));
                        w.leaf("tt:VideoSources", "0");
                        w.leaf("tt:VideoOutputs", "0");
                        w.leaf("tt:AudioSources", "0");
                        w.leaf("tt:AudioOutputs", "0");
                        w.leaf("tt:RelayOutputs", &relays);
                    });
                });
            }
        });
    });
    Ok(w.finish())
}
