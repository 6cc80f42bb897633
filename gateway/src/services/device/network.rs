//! GetHostname, GetNetworkInterfaces, GetDNS, GetNTP, GetNetworkProtocols,
//! GetNetworkDefaultGateway, GetZeroConfiguration: read from the host backend (the real host
//! with `none`), never invented. The Set operations are in `network_set.rs`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::device::scope::mac_text;
use crate::host::net::{Interface, NtpServer, primary};
use crate::services::{Ctx, OpResult};
use crate::soap::SoapFault;
use crate::xml::write::bool_str;
use crate::xml::{Element, XmlWriter};

/// The interfaces ONVIF clients should see (see `host::net::visible_interfaces`).
async fn visible_interfaces(ctx: &Ctx) -> Result<Vec<Interface>, SoapFault> {
    ctx.app.host.interfaces().await.map_err(|e| {
        tracing::warn!(error = %e, "cannot list network interfaces");
        SoapFault::action_failed(None, "the network interfaces cannot be read")
    })
}

fn is_link_local_v4(a: &Ipv4Addr) -> bool {
    a.octets()[0] == 169 && a.octets()[1] == 254
}

fn is_link_local_v6(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

fn prefixed(w: &mut XmlWriter, tag: &str, addr: &str, prefix: u8) {
    w.with(tag, &[], |w| {
        w.leaf("tt:Address", addr);
        w.leaf("tt:PrefixLength", &prefix.to_string());
    });
}

fn write_interface(w: &mut XmlWriter, i: &Interface) {
    w.with("tds:NetworkInterfaces", &[("token", &i.name)], |w| {
        w.leaf("tt:Enabled", bool_str(i.up));
        w.with("tt:Info", &[], |w| {
            w.leaf("tt:Name", &i.name);
            w.leaf("tt:HwAddress", &mac_text(i.mac));
            if let Some(mtu) = i.mtu {
                w.leaf("tt:MTU", &mtu.to_string());
            }
        });
        if let Some(speed) = i.speed_mbps {
            w.with("tt:Link", &[], |w| {
                let duplex = if i.full_duplex.unwrap_or(true) {
                    "Full"
                } else {
                    "Half"
                };
                for tag in ["tt:AdminSettings", "tt:OperSettings"] {
                    w.with(tag, &[], |w| {
                        w.leaf("tt:AutoNegotiation", "true");
                        w.leaf("tt:Speed", &speed.to_string());
                        w.leaf("tt:Duplex", duplex);
                    });
                }
                // IANA ifType: 6 = ethernetCsmacd, 24 = softwareLoopback.
                w.leaf("tt:InterfaceType", if i.loopback { "24" } else { "6" });
            });
        }
        if !i.ipv4.is_empty() {
            w.with("tt:IPv4", &[], |w| {
                w.leaf("tt:Enabled", "true");
                w.with("tt:Config", &[], |w| {
                    let mut from_dhcp_written = false;
                    for (a, p) in i.ipv4.iter().filter(|(a, _)| !is_link_local_v4(a)) {
                        if i.dhcp_v4 && !from_dhcp_written {
                            from_dhcp_written = true;
                            continue;
                        }
                        prefixed(w, "tt:Manual", &a.to_string(), *p);
                    }
                    if let Some((a, p)) = i.ipv4.iter().find(|(a, _)| is_link_local_v4(a)) {
                        prefixed(w, "tt:LinkLocal", &a.to_string(), *p);
                    }
                    if i.dhcp_v4
                        && let Some((a, p)) = i.ipv4.iter().find(|(a, _)| !is_link_local_v4(a))
                    {
                        prefixed(w, "tt:FromDHCP", &a.to_string(), *p);
                    }
                    w.leaf("tt:DHCP", bool_str(i.dhcp_v4));
                });
            });
        }
        if !i.ipv6.is_empty() {
            w.with("tt:IPv6", &[], |w| {
                w.leaf("tt:Enabled", "true");
                w.with("tt:Config", &[], |w| {
                    w.leaf("tt:DHCP", "Off");
                    for (a, p) in i.ipv6.iter().filter(|(a, _)| !is_link_local_v6(a)) {
                        prefixed(w, "tt:Manual", &a.to_string(), *p);
                    }
                    for (a, p) in i.ipv6.iter().filter(|(a, _)| is_link_local_v6(a)) {
                        prefixed(w, "tt:LinkLocal", &a.to_string(), *p);
                    }
                });
            });
        }
    });
}

fn write_ip(w: &mut XmlWriter, tag: &str, ip: &IpAddr) {
    w.with(tag, &[], |w| match ip {
        IpAddr::V4(a) => {
            w.leaf("tt:Type", "IPv4");
            w.leaf("tt:IPv4Address", &a.to_string());
        }
        IpAddr::V6(a) => {
            w.leaf("tt:Type", "IPv6");
            w.leaf("tt:IPv6Address", &a.to_string());
        }
    });
}

pub(super) async fn get_hostname(ctx: &Ctx, _req: &Element) -> OpResult {
    let hostname = ctx.app.host.hostname().await;
    let mut w = XmlWriter::new();
    w.with("tds:GetHostnameResponse", &[], |w| {
        w.with("tds:HostnameInformation", &[], |w| {
            w.leaf("tt:FromDHCP", bool_str(hostname.from_dhcp));
            if !hostname.name.is_empty() {
                w.leaf("tt:Name", &hostname.name);
            }
        });
    });
    Ok(w.finish())
}

pub(super) async fn get_network_interfaces(ctx: &Ctx, _req: &Element) -> OpResult {
    let interfaces = visible_interfaces(ctx).await?;
    let mut w = XmlWriter::new();
    w.with("tds:GetNetworkInterfacesResponse", &[], |w| {
        for i in &interfaces {
            write_interface(w, i);
        }
    });
    Ok(w.finish())
}

pub(super) async fn get_dns(ctx: &Ctx, _req: &Element) -> OpResult {
    let dns = ctx.app.host.dns().await;
    let mut w = XmlWriter::new();
    w.with("tds:GetDNSResponse", &[], |w| {
        w.with("tds:DNSInformation", &[], |w| {
            w.leaf("tt:FromDHCP", bool_str(dns.from_dhcp));
            for d in &dns.search {
                w.leaf("tt:SearchDomain", d);
            }
            let tag = if dns.from_dhcp {
                "tt:DNSFromDHCP"
            } else {
                "tt:DNSManual"
            };
            for s in &dns.servers {
                write_ip(w, tag, s);
            }
        });
    });
    Ok(w.finish())
}

pub(super) async fn get_ntp(ctx: &Ctx, _req: &Element) -> OpResult {
    let ntp = ctx.app.host.ntp().await;
    let mut w = XmlWriter::new();
    w.with("tds:GetNTPResponse", &[], |w| {
        w.with("tds:NTPInformation", &[], |w| {
            w.leaf("tt:FromDHCP", bool_str(ntp.from_dhcp));
            let tag = if ntp.from_dhcp {
                "tt:NTPFromDHCP"
            } else {
                "tt:NTPManual"
            };
            for server in &ntp.servers {
                w.with(tag, &[], |w| match server {
                    NtpServer::Ip(IpAddr::V4(a)) => {
                        w.leaf("tt:Type", "IPv4");
                        w.leaf("tt:IPv4Address", &a.to_string());
                    }
                    NtpServer::Ip(IpAddr::V6(a)) => {
                        w.leaf("tt:Type", "IPv6");
                        w.leaf("tt:IPv6Address", &a.to_string());
                    }
                    NtpServer::Name(n) => {
                        w.leaf("tt:Type", "DNS");
                        w.leaf("tt:DNSname", n);
                    }
                });
            }
        });
    });
    Ok(w.finish())
}

pub(super) async fn get_network_protocols(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    let (http, https) = ctx.app.protocols.protocols();
    w.with("tds:GetNetworkProtocolsResponse", &[], |w| {
        for (name, p) in [("HTTP", &http), ("HTTPS", &https)] {
            w.with("tds:NetworkProtocols", &[], |w| {
                w.leaf("tt:Name", name);
                w.leaf("tt:Enabled", bool_str(p.enabled));
                for port in &p.ports {
                    w.leaf("tt:Port", &port.to_string());
                }
            });
        }
    });
    Ok(w.finish())
}

pub(super) async fn get_network_default_gateway(ctx: &Ctx, _req: &Element) -> OpResult {
    let gateways = ctx.app.host.gateways().await;
    let (v4, v6) = (gateways.v4, gateways.v6);
    let mut w = XmlWriter::new();
    w.with("tds:GetNetworkDefaultGatewayResponse", &[], |w| {
        w.with("tds:NetworkGateway", &[], |w| {
            for a in &v4 {
                w.leaf("tt:IPv4Address", &a.to_string());
            }
            for a in &v6 {
                w.leaf("tt:IPv6Address", &a.to_string());
            }
        });
    });
    Ok(w.finish())
}

pub(super) async fn get_zero_configuration(ctx: &Ctx, _req: &Element) -> OpResult {
    let interfaces = visible_interfaces(ctx).await?;
    let Some(first) = primary(&interfaces) else {
        return Err(SoapFault::action_failed(
            None,
            "the host has no network interface",
        ));
    };
    let link_local: Vec<String> = first
        .ipv4
        .iter()
        .filter(|(a, _)| is_link_local_v4(a))
        .map(|(a, _)| a.to_string())
        .collect();
    let mut w = XmlWriter::new();
    w.with("tds:GetZeroConfigurationResponse", &[], |w| {
        w.with("tds:ZeroConfiguration", &[], |w| {
            w.leaf("tt:InterfaceToken", &first.name);
            let enabled = ctx
                .app
                .host
                .zero_configuration(first)
                .unwrap_or(!link_local.is_empty());
            w.leaf("tt:Enabled", bool_str(enabled));
            for a in &link_local {
                w.leaf("tt:Addresses", a);
            }
        });
    });
    Ok(w.finish())
}
