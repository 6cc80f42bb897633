//! SOAP faults, as the ONVIF Core generic fault table names them, and their HTTP status.
//!
//! This is the one place that chooses a fault's code, subcodes, reason text and HTTP status.
//! The SOAP 1.2 HTTP binding maps `env:Sender` to 400 and every other code to 500.

use std::borrow::Cow;

use crate::xml::XmlWriter;

/// The top-level SOAP 1.2 fault code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultCode {
    /// The request was not a SOAP 1.2 envelope.
    VersionMismatch,
    /// A `mustUnderstand` header block was not understood.
    MustUnderstand,
    /// The message was wrong: the client must change it.
    Sender,
    /// The device failed: the same request may work later.
    Receiver,
}

impl FaultCode {
    fn qname(self) -> &'static str {
        match self {
            FaultCode::VersionMismatch => "env:VersionMismatch",
            FaultCode::MustUnderstand => "env:MustUnderstand",
            FaultCode::Sender => "env:Sender",
            FaultCode::Receiver => "env:Receiver",
        }
    }
}

/// How a device-side store (the event store) failed, as far as the client's fault differs.
/// The service that owns the store maps its errors to these; [`SoapFault::storage`] picks the
/// fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageFailure {
    /// No space left: nothing more can be stored until space is freed.
    Full,
    /// Reading or writing failed; the same request may work later.
    Failed,
    /// The stored data is damaged: the device cannot recover by itself.
    Damaged,
    /// The store is shutting down.
    Stopped,
}

/// A SOAP fault on its way to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoapFault {
    /// The code.
    pub code: FaultCode,
    /// Subcode QNames from the generic one down to the specific, e.g.
    /// `["ter:InvalidArgVal", "ter:NoConfig"]`. The prefixes are declared on every envelope.
    pub subcodes: Vec<&'static str>,
    /// Human-readable reason: the normative text, then what exactly was wrong.
    pub reason: Cow<'static, str>,
    /// Header blocks not understood, as (namespace, local name), for `env:NotUnderstood`.
    pub not_understood: Vec<(String, String)>,
    /// Markup for `env:Detail` (e.g. a WS-BaseNotification fault element), if any.
    pub detail: Option<String>,
    /// A `wsa:Action` header for the fault (WS-BaseNotification faults carry the
    /// WS-Addressing fault action).
    pub action: Option<&'static str>,
}

/// The WS-Addressing action of a SOAP fault (WS-Addressing 1.0 SOAP Binding, 6.4).
pub const SOAP_FAULT_ACTION: &str = "http://www.w3.org/2005/08/addressing/soap/fault";

/// The normative reason text of a generic subcode (ONVIF Core, generic faults).
fn normative_reason(code: FaultCode, subcode: Option<&str>) -> &'static str {
    match (code, subcode) {
        (FaultCode::VersionMismatch, _) => "SOAP version mismatch",
        (FaultCode::MustUnderstand, _) => "SOAP header blocks not understood",
        (_, Some("ter:WellFormed")) => "Well-formed Error",
        (_, Some("ter:TagMismatch")) => "Tag Mismatch",
        (_, Some("ter:Tag")) => "No Tag",
        (_, Some("ter:Namespace")) => "Namespace Error",
        (_, Some("ter:MissingAttr")) => "Required Attribute not present",
        (_, Some("ter:ProhibAttr")) => "Prohibited Attribute",
        (_, Some("ter:InvalidArgs")) => "Invalid Args",
        (_, Some("ter:InvalidArgVal")) => "Argument Value Invalid",
        (_, Some("ter:UnknownAction")) => "Unknown Action",
        (_, Some("ter:OperationProhibited")) => "Operation not Permitted",
        (_, Some("ter:NotAuthorized")) => "Sender not Authorized",
        (_, Some("ter:ActionNotSupported")) => "Optional Action Not Implemented",
        (_, Some("ter:Action")) => "Action Failed",
        (_, Some("ter:OutofMemory")) => "Out of Memory",
        (_, Some("ter:CriticalError")) => "Critical Error",
        (FaultCode::Sender, _) => "Invalid request",
        (FaultCode::Receiver, _) => "Action Failed",
    }
}

/// WS-BaseNotification's faults for a Filter the client sent that cannot be used.
const WSNT_FILTER_FAULTS: [&str; 6] = [
    "wsnt:InvalidFilterFault",
    "wsnt:TopicExpressionDialectUnknownFault",
    "wsnt:InvalidTopicExpressionFault",
    "wsnt:TopicNotSupportedFault",
    "wsnt:InvalidProducerPropertiesExpressionFault",
    "wsnt:InvalidMessageContentExpressionFault",
];

impl SoapFault {
    /// A fault with the normative reason, followed by `detail` when it is not empty.
    pub fn new(
        code: FaultCode,
        subcodes: &[&'static str],
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        let detail = detail.into();
        let normative = normative_reason(code, subcodes.first().copied());
        let reason = if detail.is_empty() {
            Cow::Borrowed(normative)
        } else {
            Cow::Owned(format!("{normative}: {detail}"))
        };
        SoapFault {
            code,
            subcodes: subcodes.to_vec(),
            reason,
            not_understood: Vec::new(),
            detail: None,
            action: None,
        }
    }

    /// `env:Sender/ter:WellFormed`: the XML could not be read.
    pub fn well_formed(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(FaultCode::Sender, &["ter:WellFormed"], detail)
    }
    /// `env:Sender/ter:TagMismatch`: an element is not the one expected there.
    pub fn tag_mismatch(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(FaultCode::Sender, &["ter:TagMismatch"], detail)
    }
    /// `env:Sender/ter:Tag`: a required element is missing.
    pub fn missing_tag(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(FaultCode::Sender, &["ter:Tag"], detail)
    }
    /// `env:Sender/ter:MissingAttr`: a required attribute is missing.
    pub fn missing_attr(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(FaultCode::Sender, &["ter:MissingAttr"], detail)
    }
    /// `env:Sender/ter:InvalidArgs`: arguments missing, extra or of the wrong type.
    pub fn invalid_args(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(FaultCode::Sender, &["ter:InvalidArgs"], detail)
    }
    /// `env:Sender/ter:InvalidArgVal[/specific]`: an argument's value is not acceptable.
    pub fn invalid_arg_val(
        specific: Option<&'static str>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        match specific {
            Some(s) => Self::new(FaultCode::Sender, &["ter:InvalidArgVal", s], detail),
            None => Self::new(FaultCode::Sender, &["ter:InvalidArgVal"], detail),
        }
    }
    /// `env:Sender/ter:OperationProhibited[/specific]`: not allowed in the current state.
    pub fn operation_prohibited(
        specific: Option<&'static str>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        match specific {
            Some(s) => Self::new(FaultCode::Sender, &["ter:OperationProhibited", s], detail),
            None => Self::new(FaultCode::Sender, &["ter:OperationProhibited"], detail),
        }
    }
    /// `env:Sender/ter:NotAuthorized`: missing or insufficient credentials.
    pub fn not_authorized() -> Self {
        Self::new(FaultCode::Sender, &["ter:NotAuthorized"], "")
    }
    /// `env:Receiver/ter:ActionNotSupported`: an operation railgate does not implement, or
    /// an element that is no operation of the service at all.
    pub fn action_not_supported(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(FaultCode::Receiver, &["ter:ActionNotSupported"], detail)
    }
    /// `env:Receiver/ter:ActionNotSupported/specific`, e.g. `ter:NoSuchService`.
    pub fn action_not_supported_because(
        specific: &'static str,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(
            FaultCode::Receiver,
            &["ter:ActionNotSupported", specific],
            detail,
        )
    }
    /// `env:Receiver/ter:Action[/specific]`: the device failed to do it.
    pub fn action_failed(
        specific: Option<&'static str>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        match specific {
            Some(s) => Self::new(FaultCode::Receiver, &["ter:Action", s], detail),
            None => Self::new(FaultCode::Receiver, &["ter:Action"], detail),
        }
    }
    /// `env:Receiver/ter:CriticalError`: the device cannot recover by itself.
    pub fn critical_error(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(FaultCode::Receiver, &["ter:CriticalError"], detail)
    }

    /// The fault for an operation the event store could not serve (PullMessages, Seek, and
    /// any other operation that reads or raises events).
    ///
    /// ONVIF Core gives PullMessages and Seek "no specific fault codes", so the generic
    /// faults of Core's fault table apply, all `env:Receiver` (the device failed, not the
    /// request), hence HTTP 500:
    /// - full, failed, stopped: `ter:Action` ("Action Failed": the requested action failed;
    ///   a later request may succeed). `ter:OutofMemory` is not used for a full disk: Core
    ///   defines it as lacking *memory*, and clients treat it so.
    /// - damaged: `ter:CriticalError` ("an error condition which it cannot recover by itself
    ///   and needs a reset"): an operator has to replace or repair the file.
    ///
    /// The reason is short and stable (the kind only); what exactly failed (file, SQLite
    /// code) goes to the log, as Core advises against exposing internal details in faults.
    pub fn storage(failure: StorageFailure) -> Self {
        match failure {
            StorageFailure::Full => Self::action_failed(None, "event storage is full"),
            StorageFailure::Failed => Self::action_failed(None, "event storage failed"),
            StorageFailure::Stopped => Self::action_failed(None, "event storage is stopped"),
            StorageFailure::Damaged => Self::critical_error("event storage is damaged"),
        }
    }

    /// `env:VersionMismatch`: the root was not a SOAP 1.2 envelope.
    pub fn version_mismatch() -> Self {
        Self::new(FaultCode::VersionMismatch, &[], "railgate speaks SOAP 1.2")
    }
    /// `env:MustUnderstand`, listing the header blocks that were not understood.
    pub fn must_understand(blocks: Vec<(String, String)>) -> Self {
        let names: Vec<String> = blocks
            .iter()
            .map(|(ns, n)| format!("{{{ns}}}{n}"))
            .collect();
        let mut fault = Self::new(FaultCode::MustUnderstand, &[], names.join(", "));
        fault.not_understood = blocks;
        fault
    }

    /// The HTTP status the SOAP 1.2 HTTP binding assigns.
    pub fn http_status(&self) -> u16 {
        match self.code {
            FaultCode::Sender => 400,
            _ => 500,
        }
    }

    /// A WS-BaseNotification / WS-ResourceFramework fault, as ONVIF Core's event chapter
    /// says to send them: `env:Receiver` (HTTP 500), the WS-Addressing fault action, and the
    /// fault element (with its required `wsrf-bf:Timestamp`) in `env:Detail`. `element` is the
    /// qualified name of the fault element and `children` any further markup it needs.
    pub fn notification(
        element: &'static str,
        reason: impl Into<Cow<'static, str>>,
        children: &str,
    ) -> Self {
        // The filter faults say the client's request was wrong: `env:Sender` (HTTP 400), so a
        // client does not retry the same filter as if the device had failed. The others
        // (resources, creation, delivery) stay `env:Receiver`.
        let code = if WSNT_FILTER_FAULTS.contains(&element) {
            FaultCode::Sender
        } else {
            FaultCode::Receiver
        };
        let mut fault = Self::new(code, &[], "");
        fault.reason = reason.into();
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        fault.detail = Some(format!(
            r#"<{element} xmlns:wsrf-bf="http://docs.oasis-open.org/wsrf/bf-2" xmlns:wsrf-r="http://docs.oasis-open.org/wsrf/r-2"><wsrf-bf:Timestamp>{now}</wsrf-bf:Timestamp>{children}</{element}>"#
        ));
        fault.action = Some(SOAP_FAULT_ACTION);
        fault
    }

    /// The fault's header blocks (`wsa:Action`, `env:Upgrade`, `env:NotUnderstood`), if any.
    pub fn header_xml(&self) -> Option<String> {
        let mut w = XmlWriter::new();
        if let Some(action) = self.action {
            w.leaf("wsa:Action", action);
        }
        if self.code == FaultCode::VersionMismatch {
            w.with("env:Upgrade", &[], |w| {
                w.empty("env:SupportedEnvelope", &[("qname", "env:Envelope")]);
            });
        }
        for (i, (ns, name)) in self.not_understood.iter().enumerate() {
            let prefix = format!("nu{i}");
            let qname = format!("{prefix}:{name}");
            let decl = format!("xmlns:{prefix}");
            w.empty("env:NotUnderstood", &[("qname", &qname), (&decl, ns)]);
        }
        let out = w.finish();
        (!out.is_empty()).then_some(out)
    }

    /// The `env:Fault` element.
    pub fn body_xml(&self) -> String {
        let mut w = XmlWriter::new();
        w.with("env:Fault", &[], |w| {
            w.with("env:Code", &[], |w| {
                w.leaf("env:Value", self.code.qname());
                write_subcodes(w, &self.subcodes);
            });
            w.with("env:Reason", &[], |w| {
                w.open("env:Text", &[("xml:lang", "en")])
                    .text(&self.reason)
                    .close("env:Text");
            });
            if let Some(detail) = &self.detail {
                w.with("env:Detail", &[], |w| {
                    w.raw(detail);
                });
            }
        });
        w.finish()
    }
}

fn write_subcodes(w: &mut XmlWriter, subcodes: &[&str]) {
    if let Some((first, rest)) = subcodes.split_first() {
        w.with("env:Subcode", &[], |w| {
            w.leaf("env:Value", first);
            write_subcodes(w, rest);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_subcodes_and_status() {
        let f = SoapFault::invalid_arg_val(Some("ter:NoConfig"), "no such token");
        assert_eq!(f.http_status(), 400);
        let xml = f.body_xml();
        assert!(xml.contains("<env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:InvalidArgVal</env:Value><env:Subcode><env:Value>ter:NoConfig</env:Value></env:Subcode></env:Subcode>"), "{xml}");
        assert!(xml.contains("Argument Value Invalid: no such token"));
        assert_eq!(SoapFault::action_not_supported("").http_status(), 500);
        let damaged = SoapFault::storage(StorageFailure::Damaged);
        assert_eq!(damaged.http_status(), 500);
        assert!(damaged.body_xml().contains("<env:Value>env:Receiver</env:Value><env:Subcode><env:Value>ter:CriticalError</env:Value></env:Subcode>"));
        assert_eq!(damaged.reason, "Critical Error: event storage is damaged");
        assert_eq!(SoapFault::version_mismatch().http_status(), 500);
    }
}
