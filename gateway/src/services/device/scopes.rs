//! Discovery scopes and discovery mode: GetScopes, SetScopes, AddScopes, RemoveScopes,
//! GetDiscoveryMode, SetDiscoveryMode.
//!
//! Fixed scopes describe the device and cannot be changed by clients: `hardware/<model>`,
//! `MacAddress/<mac>`, `SerialNumber/<serial>` and any `device.fixed_scopes` from the
//! configuration. Configurable scopes start as `name/<device.name>` and
//! `location/<device.location>` and are then owned by clients (persisted in the state
//! database). (The `type/` category of early ONVIF versions is gone from Core; a site that
//! needs one lists it in `device.fixed_scopes`.)

use std::sync::{Arc, RwLock};

use tokio::sync::Notify;

use crate::app::{App, Identity};
use crate::config::DeviceConfig;
use crate::services::{Ctx, OpResult};
use crate::soap::{FaultCode, SoapFault};
use crate::state::{StateDb, StateError};
use crate::xml::ns::TDS;
use crate::xml::{Element, XmlWriter};

/// The ONVIF scope URI prefix.
pub const ONVIF_SCOPE: &str = "onvif://www.onvif.org/";

/// Most configurable scopes.
pub const MAX_CONFIGURABLE: usize = 64;

/// Whether `uri` is an absolute URI fit to be a scope.
pub fn is_valid_scope(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && uri.len() <= 1024
        && !uri
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>'))
}

/// Percent-encodes a value for a scope path; `/` is kept when `keep_slash` (paths such as
/// locations), everything outside RFC 3986's unreserved set is encoded.
pub fn encode_segment(value: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The device's scopes.
#[derive(Debug)]
pub struct ScopeStore {
    db: Arc<StateDb>,
    fixed: Vec<String>,
    configurable: RwLock<Vec<String>>,
    /// Told of every change (WS-Discovery announces new scopes with a Hello).
    changed: Arc<Notify>,
}

impl ScopeStore {
    /// Builds the fixed scopes and loads (or, on first start, seeds) the configurable ones.
    pub fn load(
        db: Arc<StateDb>,
        device: &DeviceConfig,
        identity: &Identity,
        changed: Arc<Notify>,
    ) -> Result<Self, StateError> {
        let mut fixed = vec![format!(
            "{ONVIF_SCOPE}hardware/{}",
            encode_segment(&device.model, false)
        )];
        if let Some(mac) = super::network::primary_mac() {
            fixed.push(format!(
                "{ONVIF_SCOPE}MacAddress/{}",
                super::network::mac_text(Some(mac))
            ));
        }
        fixed.push(format!(
            "{ONVIF_SCOPE}SerialNumber/{}",
            encode_segment(&identity.serial_number, false)
        ));
        for s in &device.fixed_scopes {
            if !fixed.contains(s) {
                fixed.push(s.clone());
            }
        }
        let configurable = match db.scopes()? {
            Some(saved) => saved,
            None => {
                let mut seed = vec![format!(
                    "{ONVIF_SCOPE}name/{}",
                    encode_segment(&device.name, false)
                )];
                if let Some(loc) = &device.location {
                    seed.push(format!(
                        "{ONVIF_SCOPE}location/{}",
                        encode_segment(loc, true)
                    ));
                }
                db.set_scopes(&seed)?;
                seed
            }
        };
        Ok(ScopeStore {
            db,
            fixed,
            configurable: RwLock::new(configurable),
            changed,
        })
    }

    /// Fixed scopes, then configurable ones.
    pub fn all(&self) -> Vec<(bool, String)> {
        let configurable = self.configurable.read().unwrap_or_else(|p| p.into_inner());
        self.fixed
            .iter()
            .map(|s| (true, s.clone()))
            .chain(configurable.iter().map(|s| (false, s.clone())))
            .collect()
    }

    fn check_new(&self, uris: &[String]) -> Result<(), SoapFault> {
        for uri in uris {
            if !is_valid_scope(uri) {
                return Err(SoapFault::invalid_arg_val(
                    None,
                    format!("{uri:?} is not an absolute URI"),
                ));
            }
            if self.fixed.contains(uri) {
                return Err(SoapFault::operation_prohibited(
                    Some("ter:ScopeOverwrite"),
                    format!("{uri} is a fixed scope and cannot be set"),
                ));
            }
        }
        Ok(())
    }

    fn store(&self, list: &mut Vec<String>, new: Vec<String>) -> Result<(), SoapFault> {
        if new.len() > MAX_CONFIGURABLE {
            return Err(SoapFault::new(
                FaultCode::Receiver,
                &["ter:Action", "ter:TooManyScopes"],
                format!("at most {MAX_CONFIGURABLE} configurable scopes"),
            ));
        }
        self.db.set_scopes(&new).map_err(storage_fault)?;
        *list = new;
        self.changed.notify_one();
        Ok(())
    }

    /// SetScopes: replaces every configurable scope.
    pub fn set(&self, uris: Vec<String>) -> Result<(), SoapFault> {
        self.check_new(&uris)?;
        let mut deduped: Vec<String> = Vec::with_capacity(uris.len());
        for u in uris {
            if !deduped.contains(&u) {
                deduped.push(u);
            }
        }
        let mut list = self.configurable.write().unwrap_or_else(|p| p.into_inner());
        self.store(&mut list, deduped)
    }

    /// AddScopes: adds to the configurable scopes (ones already there stay once).
    pub fn add(&self, uris: Vec<String>) -> Result<(), SoapFault> {
        self.check_new(&uris)?;
        let mut list = self.configurable.write().unwrap_or_else(|p| p.into_inner());
        let mut new = list.clone();
        for u in uris {
            if !new.contains(&u) {
                new.push(u);
            }
        }
        self.store(&mut list, new)
    }

    /// RemoveScopes: removes configurable scopes; all must exist.
    pub fn remove(&self, uris: &[String]) -> Result<(), SoapFault> {
        let mut list = self.configurable.write().unwrap_or_else(|p| p.into_inner());
        for uri in uris {
            if self.fixed.contains(uri) {
                return Err(SoapFault::operation_prohibited(
                    Some("ter:FixedScope"),
                    format!("{uri} is fixed"),
                ));
            }
            if !list.contains(uri) {
                return Err(SoapFault::invalid_arg_val(
                    Some("ter:NoScope"),
                    format!("{uri} does not exist"),
                ));
            }
        }
        let new = list.iter().filter(|s| !uris.contains(s)).cloned().collect();
        self.store(&mut list, new)
    }
}

fn storage_fault(e: StateError) -> SoapFault {
    tracing::error!(error = %e, "state database write failed");
    SoapFault::action_failed(None, "the setting could not be stored")
}

/// Whether the device answers WS-Discovery.
#[derive(Debug)]
pub struct DiscoveryMode {
    db: Arc<StateDb>,
    discoverable: RwLock<bool>,
    changed: Arc<Notify>,
}

impl DiscoveryMode {
    /// Loads the mode (Discoverable by default, as the standard says).
    pub fn load(db: Arc<StateDb>, changed: Arc<Notify>) -> Result<Self, StateError> {
        let discoverable = db.setting("discovery_mode")?.as_deref() != Some("NonDiscoverable");
        Ok(DiscoveryMode {
            db,
            discoverable: RwLock::new(discoverable),
            changed,
        })
    }

    /// Whether the device is discoverable.
    pub fn is_discoverable(&self) -> bool {
        *self.discoverable.read().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, discoverable: bool) -> Result<(), SoapFault> {
        let mut current = self.discoverable.write().unwrap_or_else(|p| p.into_inner());
        let value = if discoverable {
            "Discoverable"
        } else {
            "NonDiscoverable"
        };
        self.db
            .set_setting("discovery_mode", value)
            .map_err(storage_fault)?;
        *current = discoverable;
        self.changed.notify_one();
        Ok(())
    }
}

fn scope_list(req: &Element, name: &'static str) -> Result<Vec<String>, SoapFault> {
    let uris: Vec<String> = req
        .children_named(TDS, name)
        .map(|e| e.text_trim().to_string())
        .collect();
    if uris.is_empty() {
        return Err(SoapFault::missing_tag(format!(
            "at least one {name} is required"
        )));
    }
    Ok(uris)
}

fn app(ctx: &Ctx) -> &App {
    &ctx.app
}

pub(super) async fn get_scopes(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    w.with("tds:GetScopesResponse", &[], |w| {
        for (fixed, uri) in app(ctx).scopes.all() {
            w.with("tds:Scopes", &[], |w| {
                w.leaf("tt:ScopeDef", if fixed { "Fixed" } else { "Configurable" });
                w.leaf("tt:ScopeItem", &uri);
            });
        }
    });
    Ok(w.finish())
}

pub(super) async fn set_scopes(ctx: &Ctx, req: &Element) -> OpResult {
    app(ctx).scopes.set(scope_list(req, "Scopes")?)?;
    Ok("<tds:SetScopesResponse/>".into())
}

pub(super) async fn add_scopes(ctx: &Ctx, req: &Element) -> OpResult {
    app(ctx).scopes.add(scope_list(req, "ScopeItem")?)?;
    Ok("<tds:AddScopesResponse/>".into())
}

pub(super) async fn remove_scopes(ctx: &Ctx, req: &Element) -> OpResult {
    let uris = scope_list(req, "ScopeItem")?;
    app(ctx).scopes.remove(&uris)?;
    let mut w = XmlWriter::new();
    w.with("tds:RemoveScopesResponse", &[], |w| {
        for u in &uris {
            w.leaf("tds:ScopeItem", u);
        }
    });
    Ok(w.finish())
}

pub(super) async fn get_discovery_mode(ctx: &Ctx, _req: &Element) -> OpResult {
    let mode = if app(ctx).discovery_mode.is_discoverable() {
        "Discoverable"
    } else {
        "NonDiscoverable"
    };
    Ok(format!(
        "<tds:GetDiscoveryModeResponse><tds:DiscoveryMode>{mode}</tds:DiscoveryMode></tds:GetDiscoveryModeResponse>"
    ))
}

pub(super) async fn set_discovery_mode(ctx: &Ctx, req: &Element) -> OpResult {
    let discoverable = match crate::services::required_text(req, TDS, "DiscoveryMode")? {
        "Discoverable" => true,
        "NonDiscoverable" => false,
        other => {
            return Err(SoapFault::invalid_arg_val(
                None,
                format!("DiscoveryMode {other:?} is not Discoverable or NonDiscoverable"),
            ));
        }
    };
    app(ctx).discovery_mode.set(discoverable)?;
    Ok("<tds:SetDiscoveryModeResponse/>".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_validation_and_encoding() {
        assert!(is_valid_scope("onvif://www.onvif.org/name/x"));
        assert!(is_valid_scope("urn:site:lobby"));
        for bad in ["", "name/x", "1x:y", "onvif://a b", "x:", "onvif://<x>"] {
            assert!(!is_valid_scope(bad), "{bad:?}");
        }
        assert_eq!(encode_segment("Lobby Panel/1", false), "Lobby%20Panel%2F1");
        assert_eq!(encode_segment("site/floor 1", true), "site/floor%201");
    }
}
