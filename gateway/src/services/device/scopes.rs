//! Discovery scopes and discovery mode: GetScopes, SetScopes, AddScopes, RemoveScopes,
//! GetDiscoveryMode, SetDiscoveryMode. The scopes and the mode are owned by
//! `device::scopes` (which says which scopes are fixed); this file reads requests, writes
//! responses, and picks the fault for each refusal.

use crate::device::scopes::ScopeError;
use crate::services::{Ctx, OpResult};
use crate::soap::{FaultCode, SoapFault};
use crate::state::StateError;
use crate::xml::ns::TDS;
use crate::xml::{Element, XmlWriter};

/// The fault a refused scope change answers with.
fn scope_fault(e: ScopeError) -> SoapFault {
    let reason = e.to_string();
    match e {
        ScopeError::NotAbsolute(_) => SoapFault::invalid_arg_val(None, reason),
        ScopeError::Overwrite(_) => {
            SoapFault::operation_prohibited(Some("ter:ScopeOverwrite"), reason)
        }
        ScopeError::Fixed(_) => SoapFault::operation_prohibited(Some("ter:FixedScope"), reason),
        ScopeError::NoScope(_) => SoapFault::invalid_arg_val(Some("ter:NoScope"), reason),
        ScopeError::TooMany => SoapFault::new(
            FaultCode::Receiver,
            &["ter:Action", "ter:TooManyScopes"],
            reason,
        ),
        ScopeError::Storage(e) => storage_fault(e),
    }
}

fn storage_fault(e: StateError) -> SoapFault {
    tracing::error!(error = %e, "state database write failed");
    SoapFault::action_failed(None, "the setting could not be stored")
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

pub(super) async fn get_scopes(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    w.with("tds:GetScopesResponse", &[], |w| {
        for (fixed, uri) in ctx.app.scopes.all() {
            w.with("tds:Scopes", &[], |w| {
                w.leaf("tt:ScopeDef", if fixed { "Fixed" } else { "Configurable" });
                w.leaf("tt:ScopeItem", &uri);
            });
        }
    });
    Ok(w.finish())
}

pub(super) async fn set_scopes(ctx: &Ctx, req: &Element) -> OpResult {
    ctx.app
        .scopes
        .set(scope_list(req, "Scopes")?)
        .map_err(scope_fault)?;
    Ok("<tds:SetScopesResponse/>".into())
}

pub(super) async fn add_scopes(ctx: &Ctx, req: &Element) -> OpResult {
    ctx.app
        .scopes
        .add(scope_list(req, "ScopeItem")?)
        .map_err(scope_fault)?;
    Ok("<tds:AddScopesResponse/>".into())
}

pub(super) async fn remove_scopes(ctx: &Ctx, req: &Element) -> OpResult {
    let uris = scope_list(req, "ScopeItem")?;
    ctx.app.scopes.remove(&uris).map_err(scope_fault)?;
    let mut w = XmlWriter::new();
    w.with("tds:RemoveScopesResponse", &[], |w| {
        for u in &uris {
            w.leaf("tds:ScopeItem", u);
        }
    });
    Ok(w.finish())
}

pub(super) async fn get_discovery_mode(ctx: &Ctx, _req: &Element) -> OpResult {
    let mode = if ctx.app.discovery_mode.is_discoverable() {
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
    ctx.app
        .discovery_mode
        .set(discoverable)
        .map_err(storage_fault)?;
    Ok("<tds:SetDiscoveryModeResponse/>".into())
}
