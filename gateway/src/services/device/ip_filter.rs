//! GetIPAddressFilter, SetIPAddressFilter, AddIPAddressFilter, RemoveIPAddressFilter, on
//! `security::ip_filter` (enforced per connection and per WS-Discovery datagram).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::network_set::{parse_v4, parse_v6, prefixed};
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
    let mut v4 = Vec::new();
    for e in f.children_named(TT, "IPv4Address") {
        let (a, p) = prefixed(e)?;
        let a = parse_v4(a)?;
        if p > 32 {
            return Err(SoapFault::invalid_arg_val(
                Some("ter:InvalidIPv4Address"),
                format!("{a}/{p}: the prefix is longer than 32"),
            ));
        }
        v4.push((a, p));
    }
    let mut v6 = Vec::new();
    for e in f.children_named(TT, "IPv6Address") {
        let (a, p) = prefixed(e)?;
        let a = parse_v6(a)?;
        if p > 128 {
            return Err(SoapFault::invalid_arg_val(
                Some("ter:InvalidIPv6Address"),
                format!("{a}/{p}: the prefix is longer than 128"),
            ));
        }
        v6.push((a, p));
    }
    Ok((allow, (v4, v6)))
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

fn empty(tag: &str) -> String {
    let mut w = XmlWriter::new();
    w.empty(tag, &[]);
    w.finish()
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
    Ok(empty("tds:SetIPAddressFilterResponse"))
}

pub(super) async fn add_ip_address_filter(ctx: &Ctx, req: &Element) -> OpResult {
    // "The value of the Type field shall be ignored by the device."
    let (_, (v4, v6)) = read(req)?;
    ctx.app.ip_filter.add(&v4, &v6).map_err(fault)?;
    tracing::warn!(rules = ?ctx.app.ip_filter.rules(), by = ctx.principal.log_name(), "IP address filter extended");
    Ok(empty("tds:AddIPAddressFilterResponse"))
}

pub(super) async fn remove_ip_address_filter(ctx: &Ctx, req: &Element) -> OpResult {
    let (_, (v4, v6)) = read(req)?;
    ctx.app.ip_filter.remove(&v4, &v6).map_err(fault)?;
    tracing::warn!(rules = ?ctx.app.ip_filter.rules(), by = ctx.principal.log_name(), "IP address filter reduced");
    Ok(empty("tds:RemoveIPAddressFilterResponse"))
}
