//! GetAccessPolicy / SetAccessPolicy: the access policy as a YAML document
//! (`security::policy`), carried base64 in `tt:BinaryData`.

use base64::Engine as _;

use crate::security::policy::{CONTENT_TYPE, PolicyError};
use crate::services::{Ctx, OpResult, required_text};
use crate::soap::{FaultCode, SoapFault};
use crate::xml::ns::{TDS, TT};
use crate::xml::{Element, XmlWriter};

const XMIME: &str = "http://www.w3.org/2005/05/xmlmime";

pub(super) async fn get_access_policy(ctx: &Ctx, _req: &Element) -> OpResult {
    let doc = ctx.app.access_policy.document();
    let mut w = XmlWriter::new();
    w.with("tds:GetAccessPolicyResponse", &[], |w| {
        w.with(
            "tds:PolicyFile",
            &[("xmlns:xmime", XMIME), ("xmime:contentType", CONTENT_TYPE)],
            |w| {
                w.leaf(
                    "tt:Data",
                    &base64::engine::general_purpose::STANDARD.encode(doc),
                );
            },
        );
    });
    Ok(w.finish())
}

fn policy_format(detail: String) -> SoapFault {
    SoapFault::new(
        FaultCode::Sender,
        &["ter:InvalidArgs", "ter:PolicyFormat"],
        detail,
    )
}

pub(super) async fn set_access_policy(ctx: &Ctx, req: &Element) -> OpResult {
    let Some(file) = req.child(TDS, "PolicyFile") else {
        return Err(SoapFault::missing_tag("PolicyFile is required"));
    };
    let bytes = crate::services::base64_text(required_text(file, TT, "Data")?)
        .map_err(|e| policy_format(format!("Data is not base64: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| policy_format("the policy is not UTF-8 text".into()))?;
    ctx.app
        .access_policy
        .set_document(&text)
        .map_err(|e| match e {
            PolicyError::Format(m) => policy_format(m),
            PolicyError::State(e) => SoapFault::action_failed(None, e.to_string()),
        })?;
    tracing::warn!(by = ctx.principal.log_name(), "access policy set");
    Ok("<tds:SetAccessPolicyResponse/>".into())
}
