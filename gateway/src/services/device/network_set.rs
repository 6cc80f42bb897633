//! SetHostname, SetHostnameFromDHCP, SetDNS, SetNTP, SetNetworkInterfaces,
//! SetNetworkDefaultGateway, SetZeroConfiguration and SetDynamicDNS: each request is read
//! and checked here (the faults Core names for each value), then applied by the host
//! backend, which refuses what it cannot do; the matching Get reads the same backend.
//! SetNetworkProtocols changes what railgate itself serves (`device::protocols`), with every
//! backend.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::host_fault;
use crate::device::protocols::{MAX_PORTS, ProtocolError};
use crate::host::net::{Dns, Ntp, NtpServer};
use crate::host::settings::{
    self, DynamicDns, DynamicDnsType, Gateways, InterfaceChange, Ipv4Change, Ipv6Change,
    is_valid_hostname,
};
use crate::services::{Ctx, OpResult, parse_bool, required_text};
use crate::soap::SoapFault;
use crate::xml::ns::{TDS, TT};
use crate::xml::write::bool_str;
use crate::xml::{Element, XmlWriter};

fn reboot_needed(tag: &str, needed: bool) -> String {
    let mut w = XmlWriter::new();
    w.with(tag, &[], |w| {
        w.leaf("tds:RebootNeeded", bool_str(needed));
    });
    w.finish()
}

/// A required boolean child.
fn bool_child(req: &Element, ns: &str, name: &'static str) -> Result<bool, SoapFault> {
    let text = required_text(req, ns, name)?;
    parse_bool(text)
        .ok_or_else(|| SoapFault::invalid_args(format!("{name} {text:?} is not a boolean")))
}

/// An optional boolean child.
fn opt_bool(req: &Element, ns: &str, name: &'static str) -> Result<Option<bool>, SoapFault> {
    req.child(ns, name)
        .map(|_| bool_child(req, ns, name))
        .transpose()
}

fn bad_v4(text: &str) -> SoapFault {
    SoapFault::invalid_arg_val(
        Some("ter:InvalidIPv4Address"),
        format!("{text:?} is not an IPv4 address"),
    )
}

fn bad_v6(text: &str) -> SoapFault {
    SoapFault::invalid_arg_val(
        Some("ter:InvalidIPv6Address"),
        format!("{text:?} is not an IPv6 address"),
    )
}

pub(super) fn parse_v4(text: &str) -> Result<Ipv4Addr, SoapFault> {
    text.parse().map_err(|_| bad_v4(text))
}

pub(super) fn parse_v6(text: &str) -> Result<Ipv6Addr, SoapFault> {
    text.parse().map_err(|_| bad_v6(text))
}

/// A `tt:IPAddress` (Type, IPv4Address or IPv6Address).
fn ip_address(e: &Element) -> Result<IpAddr, SoapFault> {
    let text = |name| e.child(TT, name).map_or("", Element::text_trim);
    let ip = match e.child(TT, "Type").map(Element::text_trim) {
        Some("IPv4") => IpAddr::V4(parse_v4(text("IPv4Address"))?),
        Some("IPv6") => IpAddr::V6(parse_v6(text("IPv6Address"))?),
        other => {
            return Err(SoapFault::invalid_args(format!(
                "address Type {other:?} is not IPv4 or IPv6"
            )));
        }
    };
    settings::check_server(ip).map_err(host_fault)?;
    Ok(ip)
}

/// A `tt:PrefixedIPv4Address` or `tt:PrefixedIPv6Address` (Address, PrefixLength).
fn prefixed(e: &Element) -> Result<(&str, u8), SoapFault> {
    let address = e.child(TT, "Address").map_or("", Element::text_trim);
    let prefix = e.child(TT, "PrefixLength").map_or("", Element::text_trim);
    let prefix = prefix
        .parse()
        .map_err(|_| SoapFault::invalid_args(format!("PrefixLength {prefix:?} is not a number")))?;
    Ok((address, prefix))
}

pub(super) async fn set_hostname(ctx: &Ctx, req: &Element) -> OpResult {
    let name = req.child(TDS, "Name").map_or("", Element::text_trim);
    if !name.is_empty() && !is_valid_hostname(name) {
        return Err(SoapFault::invalid_arg_val(
            Some("ter:InvalidHostname"),
            format!("{name:?} is not a host name (RFC 1123: letters, digits, inner hyphens)"),
        ));
    }
    if name.is_empty() && !ctx.app.host.capabilities().hostname_from_dhcp {
        return Err(SoapFault::invalid_arg_val(
            Some("ter:InvalidHostname"),
            "an empty name asks for the name from DHCP, which this host cannot do",
        ));
    }
    ctx.app.host.set_hostname(name).await.map_err(host_fault)?;
    tracing::info!(name, by = ctx.principal.log_name(), "host name set");
    Ok("<tds:SetHostnameResponse/>".into())
}

pub(super) async fn set_hostname_from_dhcp(ctx: &Ctx, req: &Element) -> OpResult {
    let from_dhcp = bool_child(req, TDS, "FromDHCP")?;
    let reboot = ctx
        .app
        .host
        .set_hostname_from_dhcp(from_dhcp)
        .await
        .map_err(host_fault)?;
    tracing::info!(
        from_dhcp,
        by = ctx.principal.log_name(),
        "host name source set"
    );
    Ok(reboot_needed("tds:SetHostnameFromDHCPResponse", reboot))
}

pub(super) async fn set_dns(ctx: &Ctx, req: &Element) -> OpResult {
    let from_dhcp = bool_child(req, TDS, "FromDHCP")?;
    let mut search = Vec::new();
    for d in req.children_named(TDS, "SearchDomain") {
        let domain = d.text_trim();
        if !is_valid_hostname(domain) {
            return Err(SoapFault::invalid_arg_val(
                None,
                format!("search domain {domain:?} is not a domain name"),
            ));
        }
        search.push(domain.to_owned());
    }
    let servers = req
        .children_named(TDS, "DNSManual")
        .map(ip_address)
        .collect::<Result<Vec<_>, _>>()?;
    let dns = Dns {
        servers,
        search,
        from_dhcp,
    };
    ctx.app.host.set_dns(&dns).await.map_err(host_fault)?;
    tracing::info!(from_dhcp, servers = ?dns.servers, by = ctx.principal.log_name(), "DNS set");
    Ok("<tds:SetDNSResponse/>".into())
}

/// A `tt:NetworkHost` (Type IPv4, IPv6 or DNS).
fn network_host(e: &Element) -> Result<NtpServer, SoapFault> {
    let text = |name| e.child(TT, name).map_or("", Element::text_trim);
    match e.child(TT, "Type").map(Element::text_trim) {
        Some("IPv4") => {
            let ip = IpAddr::V4(parse_v4(text("IPv4Address"))?);
            settings::check_server(ip).map_err(host_fault)?;
            Ok(NtpServer::Ip(ip))
        }
        Some("IPv6") => {
            let ip = IpAddr::V6(parse_v6(text("IPv6Address"))?);
            settings::check_server(ip).map_err(host_fault)?;
            Ok(NtpServer::Ip(ip))
        }
        Some("DNS") => {
            let name = text("DNSname");
            if !is_valid_hostname(name) {
                return Err(SoapFault::invalid_arg_val(
                    Some("ter:InvalidDnsName"),
                    format!("{name:?} is not a DNS name"),
                ));
            }
            Ok(NtpServer::Name(name.to_owned()))
        }
        other => Err(SoapFault::invalid_args(format!(
            "NetworkHost Type {other:?} is not IPv4, IPv6 or DNS"
        ))),
    }
}

pub(super) async fn set_ntp(ctx: &Ctx, req: &Element) -> OpResult {
    let from_dhcp = bool_child(req, TDS, "FromDHCP")?;
    let servers = req
        .children_named(TDS, "NTPManual")
        .map(network_host)
        .collect::<Result<Vec<_>, _>>()?;
    let max = ctx.app.host.capabilities().ntp_servers;
    if max > 0 && servers.len() > usize::from(max) {
        return Err(SoapFault::invalid_arg_val(
            None,
            format!("at most {max} NTP servers can be set"),
        ));
    }
    let ntp = Ntp { servers, from_dhcp };
    ctx.app.host.set_ntp(&ntp).await.map_err(host_fault)?;
    tracing::info!(from_dhcp, servers = ?ntp.servers, by = ctx.principal.log_name(), "NTP set");
    Ok("<tds:SetNTPResponse/>".into())
}

pub(super) async fn set_network_default_gateway(ctx: &Ctx, req: &Element) -> OpResult {
    let mut gateways = Gateways::default();
    for e in req.children_named(TDS, "IPv4Address") {
        let a = parse_v4(e.text_trim())?;
        settings::check_gateway(IpAddr::V4(a)).map_err(host_fault)?;
        gateways.v4.push(a);
    }
    for e in req.children_named(TDS, "IPv6Address") {
        let a = parse_v6(e.text_trim())?;
        settings::check_gateway(IpAddr::V6(a)).map_err(host_fault)?;
        gateways.v6.push(a);
    }
    ctx.app
        .host
        .set_gateways(&gateways)
        .await
        .map_err(host_fault)?;
    tracing::info!(v4 = ?gateways.v4, v6 = ?gateways.v6, by = ctx.principal.log_name(), "default gateway set");
    Ok("<tds:SetNetworkDefaultGatewayResponse/>".into())
}

pub(super) async fn set_zero_configuration(ctx: &Ctx, req: &Element) -> OpResult {
    let token = required_text(req, TDS, "InterfaceToken")?;
    let enabled = bool_child(req, TDS, "Enabled")?;
    ctx.app
        .host
        .set_zero_configuration(token, enabled)
        .await
        .map_err(host_fault)?;
    tracing::info!(
        interface = token,
        enabled,
        by = ctx.principal.log_name(),
        "zero configuration set"
    );
    Ok("<tds:SetZeroConfigurationResponse/>".into())
}

pub(super) async fn set_dynamic_dns(ctx: &Ctx, req: &Element) -> OpResult {
    let kind = match required_text(req, TDS, "Type")? {
        "NoUpdate" => DynamicDnsType::NoUpdate,
        "ServerUpdates" => DynamicDnsType::ServerUpdates,
        "ClientUpdates" => DynamicDnsType::ClientUpdates,
        other => {
            return Err(SoapFault::invalid_args(format!(
                "Type {other:?} is not NoUpdate, ServerUpdates or ClientUpdates"
            )));
        }
    };
    let name = req.child(TDS, "Name").map(|e| e.text_trim().to_owned());
    if let Some(n) = &name
        && !is_valid_hostname(n)
    {
        return Err(SoapFault::invalid_arg_val(
            None,
            format!("{n:?} is not a DNS name"),
        ));
    }
    let ttl = req.child(TDS, "TTL").map(|e| e.text_trim().to_owned());
    if let Some(t) = &ttl
        && crate::events::time::parse_duration(t).is_none()
    {
        return Err(SoapFault::invalid_args(format!(
            "TTL {t:?} is not an xs:duration"
        )));
    }
    let dyn_dns = DynamicDns { kind, name, ttl };
    ctx.app
        .host
        .set_dynamic_dns(&dyn_dns)
        .await
        .map_err(host_fault)?;
    tracing::info!(kind = ?dyn_dns.kind, by = ctx.principal.log_name(), "dynamic DNS set");
    Ok("<tds:SetDynamicDNSResponse/>".into())
}

pub(super) async fn get_dynamic_dns(ctx: &Ctx, _req: &Element) -> OpResult {
    let Some(d) = ctx.app.host.dynamic_dns() else {
        return Err(SoapFault::action_not_supported(
            "dynamic DNS is not supported by this host backend",
        ));
    };
    let mut w = XmlWriter::new();
    w.with("tds:GetDynamicDNSResponse", &[], |w| {
        w.with("tds:DynamicDNSInformation", &[], |w| {
            w.leaf(
                "tt:Type",
                match d.kind {
                    DynamicDnsType::NoUpdate => "NoUpdate",
                    DynamicDnsType::ServerUpdates => "ServerUpdates",
                    DynamicDnsType::ClientUpdates => "ClientUpdates",
                },
            );
            if let Some(n) = &d.name {
                w.leaf("tt:Name", n);
            }
            if let Some(t) = &d.ttl {
                w.leaf("tt:TTL", t);
            }
        });
    });
    Ok(w.finish())
}

/// The prefixed addresses (`tt:PrefixedIPv4Address`, `tt:PrefixedIPv6Address`) that are the
/// `tag` children of `parent`, parsed and checked.
pub(super) fn prefixed_addresses<A: Copy>(
    parent: &Element,
    tag: &str,
    parse: fn(&str) -> Result<A, SoapFault>,
    check: fn(A, u8) -> Result<(), settings::HostError>,
) -> Result<Vec<(A, u8)>, SoapFault> {
    parent
        .children_named(TT, tag)
        .map(|m| {
            let (a, p) = prefixed(m)?;
            let a = parse(a)?;
            check(a, p).map_err(host_fault)?;
            Ok((a, p))
        })
        .collect()
}

/// The `tt:Manual` addresses of an IPv4 or IPv6 part, parsed and checked; `None` when there
/// are none (the current ones stay).
fn manual_addresses<A: Copy>(
    part: &Element,
    parse: fn(&str) -> Result<A, SoapFault>,
    check: fn(A, u8) -> Result<(), settings::HostError>,
) -> Result<Option<Vec<(A, u8)>>, SoapFault> {
    let manual = prefixed_addresses(part, "Manual", parse, check)?;
    Ok((!manual.is_empty()).then_some(manual))
}

/// Reads a SetNetworkInterfaces request into a change, refusing what railgate does not
/// model (link speed other than auto-negotiation, 802.11, DHCPv6, router advertisements).
fn interface_change(req: &Element) -> Result<InterfaceChange, SoapFault> {
    let token = required_text(req, TDS, "InterfaceToken")?.to_owned();
    let Some(config) = req.child(TDS, "NetworkInterface") else {
        return Err(SoapFault::missing_tag("NetworkInterface is required"));
    };
    let mut change = InterfaceChange {
        token,
        enabled: opt_bool(config, TT, "Enabled")?,
        ..InterfaceChange::default()
    };
    if let Some(link) = config.child(TT, "Link")
        && opt_bool(link, TT, "AutoNegotiation")? != Some(true)
    {
        return Err(SoapFault::invalid_arg_val(
            Some("ter:InvalidInterfaceSpeed"),
            "railgate leaves speed and duplex to auto-negotiation",
        ));
    }
    if let Some(mtu) = config.child(TT, "MTU") {
        let text = mtu.text_trim();
        let mtu: u32 = text.parse().map_err(|_| {
            SoapFault::invalid_arg_val(Some("ter:InvalidMtuValue"), format!("MTU {text:?}"))
        })?;
        settings::check_mtu(mtu).map_err(host_fault)?;
        change.mtu = Some(mtu);
    }
    if let Some(v4) = config.child(TT, "IPv4") {
        change.ipv4 = Some(Ipv4Change {
            enabled: opt_bool(v4, TT, "Enabled")?,
            dhcp: opt_bool(v4, TT, "DHCP")?,
            manual: manual_addresses(v4, parse_v4, settings::check_ipv4)?,
        });
    }
    if let Some(v6) = config.child(TT, "IPv6") {
        if v6.child(TT, "AcceptRouterAdvert").is_some() {
            return Err(SoapFault::invalid_arg_val(
                None,
                "AcceptRouterAdvert is not configurable here",
            ));
        }
        if let Some(dhcp) = v6.child(TT, "DHCP")
            && dhcp.text_trim() != "Off"
        {
            return Err(SoapFault::action_not_supported_because(
                "ter:InvalidDHCPv6",
                format!("DHCPv6 mode {:?} is not supported", dhcp.text_trim()),
            ));
        }
        change.ipv6 = Some(Ipv6Change {
            enabled: opt_bool(v6, TT, "Enabled")?,
            manual: manual_addresses(v6, parse_v6, settings::check_ipv6)?,
        });
    }
    if config
        .child(TT, "Extension")
        .is_some_and(|x| x.child(TT, "Dot11").is_some())
    {
        return Err(SoapFault::action_not_supported_because(
            "ter:InvalidDot11",
            "IEEE 802.11 configuration is not supported",
        ));
    }
    Ok(change)
}

pub(super) async fn set_network_interfaces(ctx: &Ctx, req: &Element) -> OpResult {
    let change = interface_change(req)?;
    let reboot = ctx
        .app
        .host
        .set_interface(&change)
        .await
        .map_err(host_fault)?;
    tracing::info!(
        interface = change.token,
        reboot,
        by = ctx.principal.log_name(),
        "network interface set"
    );
    Ok(reboot_needed("tds:SetNetworkInterfacesResponse", reboot))
}

/// One `tds:NetworkProtocols` entry: (name, enabled, ports).
fn protocol(e: &Element) -> Result<(String, bool, Vec<u16>), SoapFault> {
    let name = required_text(e, TT, "Name")?.to_owned();
    let enabled = bool_child(e, TT, "Enabled")?;
    let ports = e
        .children_named(TT, "Port")
        .map(|p| {
            let text = p.text_trim();
            text.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(|| {
                SoapFault::invalid_arg_val(None, format!("{text:?} is not a port 1 to 65535"))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((name, enabled, ports))
}

pub(super) async fn set_network_protocols(ctx: &Ctx, req: &Element) -> OpResult {
    let (mut http, mut https) = ctx.app.protocols.protocols();
    let before = (http.clone(), https.clone());
    for e in req.children_named(TDS, "NetworkProtocols") {
        let (name, enabled, mut ports) = protocol(e)?;
        ports.sort_unstable();
        ports.dedup();
        let target = match name.as_str() {
            "HTTP" => &mut http,
            "HTTPS" => &mut https,
            "RTSP" if !enabled => continue,
            "RTSP" => {
                return Err(SoapFault::invalid_arg_val(
                    Some("ter:ServiceNotSupported"),
                    "railgate has no RTSP service",
                ));
            }
            other => {
                return Err(SoapFault::invalid_arg_val(
                    Some("ter:ServiceNotSupported"),
                    format!("{other:?} is not a protocol railgate serves"),
                ));
            }
        };
        if ports.len() > MAX_PORTS || (enabled && ports.is_empty()) {
            return Err(SoapFault::invalid_arg_val(
                None,
                format!("{name} needs 1 to {MAX_PORTS} ports"),
            ));
        }
        target.enabled = enabled;
        if !ports.is_empty() {
            target.ports = ports;
        }
    }
    if !http.enabled && !https.enabled {
        return Err(SoapFault::invalid_arg_val(
            None,
            "HTTP and HTTPS cannot both be off: no client could reach the device",
        ));
    }
    if http.enabled
        && https.enabled
        && let Some(p) = http.ports.iter().find(|p| https.ports.contains(p))
    {
        return Err(SoapFault::invalid_arg_val(
            Some("ter:PortAlreadyInUse"),
            format!("port {p} cannot serve both HTTP and HTTPS"),
        ));
    }
    if (http.clone(), https.clone()) == before {
        return Ok("<tds:SetNetworkProtocolsResponse/>".into());
    }
    let tls = if https.enabled {
        let names = crate::tls::device_names(&ctx.app.config.server.listen);
        Some(ctx.app.keystore.serve_tls(&names).map_err(|e| {
            tracing::error!(error = %e, "HTTPS cannot be served");
            SoapFault::action_not_supported_because("ter:EnablingTlsFailed", e)
        })?)
    } else {
        None
    };
    ctx.app
        .protocols
        .set(&http, &https, tls)
        .await
        .map_err(|e| match e {
            ProtocolError::PortInUse(_) => {
                SoapFault::invalid_arg_val(Some("ter:PortAlreadyInUse"), e.to_string())
            }
            other => {
                tracing::warn!(error = %other, "network protocols not changed");
                SoapFault::action_failed(None, other.to_string())
            }
        })?;
    tracing::warn!(
        ?http,
        ?https,
        by = ctx.principal.log_name(),
        "network protocols changed"
    );
    Ok("<tds:SetNetworkProtocolsResponse/>".into())
}
