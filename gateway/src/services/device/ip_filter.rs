//! GetIPAddressFilter, SetIPAddressFilter, AddIPAddressFilter, RemoveIPAddressFilter, on
//! `security::ip_filter` (enforced per connection and per WS-Discovery datagram).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::network_set::{parse_v4, parse_v6, prefixed_addresses};
use crate::host::settings::{HostError, Invalid};
use crate::security::ip_filter::{FilterError, Rules};
use crate::services::{Ctx, OpResult, required_text};
use crate::soap::SoapFault;
use crate::xml::ns::{TDS, TT};
use crate::xml::{Element, XmlWriter};

type Lists = (Vec<(Ipv4Addr, u8)>, Vec<(Ipv6Addr, u8)>);

/// The `tds:IPAddressFilter` of a request: its type and prefixes, checked.
fn read(req: &Element) -> Result<(bool, Lists), SoapFault> {
    let Some(f) = req.child(TDS, "IPAddressFilter") else {
        return Err(SoapFault::missing_tag("IPAddressFilter is required"));
    };
    let allow = match required_text(f, TT, "Type")? {
        "Allow" => true,
        "Deny" => false,
        other => {
            return Err(SoapFault::invalid_args(format!(
                "Type {other:?} is not Allow or Deny"
            )));
        }
    };
    let v4 = prefixed_addresses(f, "IPv4Address", parse_v4, |a, p| {
        prefix_at_most(p, 32, Invalid::Ipv4Address, &a)
    })?;
    let v6 = prefixed_addresses(f, "IPv6Address", parse_v6, |a, p| {
        prefix_at_most(p, 128, Invalid::Ipv6Address, &a)
    })?;
    Ok((allow, (v4, v6)))
}

/// A filter prefix of `address`: any network, its length at most `max`.
fn prefix_at_most(
    prefix: u8,
    max: u8,
    what: Invalid,
    address: &dyn std::fmt::Display,
) -> Result<(), HostError> {
    if prefix > max {
        return Err(HostError::Invalid(
            what,
            format!("{address}/{prefix}: the prefix is longer than {max}"),
        ));
    }
    Ok(())
}

fn fault(e: FilterError) -> SoapFault {
    match e {
        FilterError::Full => {
            SoapFault::invalid_arg_val(Some("ter:IPFilterListIsFull"), e.to_string())
        }
        FilterError::NoIpv4(_) => {
            SoapFault::invalid_arg_val(Some("ter:NoIPv4Address"), e.to_string())
        }
        FilterError::NoIpv6(_) => {
            SoapFault::invalid_arg_val(Some("ter:NoIPv6Address"), e.to_string())
        }
        FilterError::State(e) => SoapFault::action_failed(None, e.to_string()),
    }
}

pub(super) async fn get_ip_address_filter(ctx: &Ctx, _req: &Element) -> OpResult {
    let rules = ctx.app.ip_filter.rules();
    let mut w = XmlWriter::new();
    w.with("tds:GetIPAddressFilterResponse", &[], |w| {
        w.with("tds:IPAddressFilter", &[], |w| {
            w.leaf("tt:Type", if rules.allow { "Allow" } else { "Deny" });
            for (a, p) in &rules.v4 {
                w.with("tt:IPv4Address", &[], |w| {
                    w.leaf("tt:Address", &a.to_string());
                    w.leaf("tt:PrefixLength", &p.to_string());
                });
            }
            for (a, p) in &rules.v6 {
                w.with("tt:IPv6Address", &[], |w| {
                    w.leaf("tt:Address", &a.to_string());
                    w.leaf("tt:PrefixLength", &p.to_string());
                });
            }
        });
    });
    Ok(w.finish())
}

pub(super) async fn set_ip_address_filter(ctx: &Ctx, req: &Element) -> OpResult {
    let (allow, (v4, v6)) = read(req)?;
    ctx.app
        .ip_filter
        .set(Rules { allow, v4, v6 })
        .map_err(fault)?;
    tracing::warn!(rules = ?ctx.app.ip_filter.rules(), by = ctx.principal.log_name(), "IP address filter set");
    Ok("<tds:SetIPAddressFilterResponse/>".into())
}

pub(super) async fn add_ip_address_filter(ctx: &Ctx, req: &Element) -> OpResult {
    // "The value of the Type field shall be ignored by the device."
    let (_, (v4, v6)) = read(req)?;
    ctx.app.ip_filter.add(&v4, &v6).map_err(fault)?;
    tracing::warn!(rules = ?ctx.app.ip_filter.rules(), by = ctx.principal.log_name(), "IP address filter extended");
    Ok("<tds:AddIPAddressFilterResponse/>".into())
}

pub(super) async fn remove_ip_address_filter(ctx: &Ctx, req: &Element) -> OpResult {
    let (_, (v4, v6)) = read(req)?;
    ctx.app.ip_filter.remove(&v4, &v6).map_err(fault)?;
    tracing::warn!(rules = ?ctx.app.ip_filter.rules(), by = ctx.principal.log_name(), "IP address filter reduced");
    Ok("<tds:RemoveIPAddressFilterResponse/>".into())
}
