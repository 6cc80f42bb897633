//! The ONVIF services: one module per service, each with a table of the operations it
//! implements. An operation's handler gets the request context and the request element and
//! returns the response body element or a fault; authentication and authorization have
//! already happened (see `http::soap`).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use crate::app::App;
use crate::security::Principal;
use crate::soap::{Service, SoapFault};
use crate::xml::Element;

pub mod advanced_security;
pub mod device;
pub mod deviceio;
pub mod events;
pub mod io;
pub mod serial;

/// What a handler returns: the response body element, or a fault.
pub type OpResult = Result<String, SoapFault>;

/// A handler of one operation.
pub type Handler =
    for<'a> fn(&'a Ctx, &'a Element) -> Pin<Box<dyn Future<Output = OpResult> + Send + 'a>>;

/// Everything a handler may use about the request it serves.
#[derive(Debug)]
pub struct Ctx {
    /// The gateway.
    pub app: Arc<App>,
    /// `scheme://host[:port]` as the client reached us (from the Host header, or the
    /// configured advertised address), for building XAddrs.
    pub base_url: String,
    /// Who is asking.
    pub principal: Principal,
    /// The client's address.
    pub peer: SocketAddr,
    /// The subscription the request was addressed to (event subscription managers).
    pub subscription: Option<String>,
}

impl Ctx {
    /// The absolute address of a service's endpoint, as this client can reach it.
    pub fn xaddr(&self, service: Service) -> String {
        format!("{}{}", self.base_url, service.path())
    }
}

/// Declares a service's operation table: `handler(ns, name)` finds a handler, and
/// `IMPLEMENTED` lists them (a test checks each has an access class).
macro_rules! operations {
    ($($ns:ident $name:literal => $f:path),* $(,)?) => {
        /// The handler of an implemented operation.
        pub fn handler(ns: &str, name: &str) -> Option<$crate::services::Handler> {
            let _ = (ns, name);
            $(
                if ns == $ns && name == $name {
                    return Some(|ctx, req| Box::pin($f(ctx, req)));
                }
            )*
            None
        }
        /// Every implemented operation, as (namespace, name).
        #[allow(dead_code)]
        pub const IMPLEMENTED: &[(&str, &str)] = &[$(($ns, $name)),*];
    };
}
pub(crate) use operations;

/// The handler of an implemented operation of `service`.
pub fn handler(service: Service, ns: &str, name: &str) -> Option<Handler> {
    match service {
        Service::Device => device::handler(ns, name),
        Service::DeviceIo => deviceio::handler(ns, name),
        Service::Events => events::handler(ns, name),
        Service::AdvancedSecurity => advanced_security::handler(ns, name),
    }
}

/// Every implemented operation of `service`.
pub fn implemented(service: Service) -> &'static [(&'static str, &'static str)] {
    match service {
        Service::Device => device::IMPLEMENTED,
        Service::DeviceIo => deviceio::IMPLEMENTED,
        Service::Events => events::IMPLEMENTED,
        Service::AdvancedSecurity => advanced_security::IMPLEMENTED,
    }
}

/// Whether `service` is served at all yet (advertised in GetServices/GetCapabilities).
pub fn is_offered(service: Service) -> bool {
    !implemented(service).is_empty()
}

/// Reads a request's child element as text, failing with the standard fault if missing.
pub fn required_text<'a>(
    req: &'a Element,
    ns: &str,
    name: &'static str,
) -> Result<&'a str, SoapFault> {
    req.child(ns, name)
        .map(Element::text_trim)
        .ok_or_else(|| SoapFault::missing_tag(format!("{name} is required")))
}

/// Decodes an xs:base64Binary text (line breaks and other whitespace allowed, as XML
/// writers wrap long values).
pub fn base64_text(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact)
}

/// Parses an xs:boolean.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::lookup::operation;

    #[test]
    fn every_implemented_operation_has_an_access_class() {
        for service in Service::ALL {
            for (ns, name) in implemented(service) {
                assert!(
                    operation(service, ns, name).is_some(),
                    "{service:?} {name} has no access class"
                );
                assert!(handler(service, ns, name).is_some());
            }
        }
    }

    #[test]
    fn every_wsdl_operation_has_an_access_class() {
        use crate::xml::{Limits, tree};
        let base = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/onvif/wsdl/ver10/");
        const WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";
        for (service, file, port_types) in [
            (
                Service::Device,
                "device/wsdl/devicemgmt.wsdl",
                &["Device"][..],
            ),
            (Service::DeviceIo, "deviceio.wsdl", &["DeviceIOPort"][..]),
            (
                Service::Events,
                "events/wsdl/event.wsdl",
                &["EventPortType", "PullPointSubscription"][..],
            ),
            (
                Service::AdvancedSecurity,
                "advancedsecurity/wsdl/advancedsecurity.wsdl",
                &["AdvancedSecurityService", "Keystore", "TLSServer"][..],
            ),
        ] {
            let text = std::fs::read(format!("{base}{file}")).unwrap();
            let limits = Limits {
                max_depth: 64,
                max_elements: 1_000_000,
                max_declarations: 10_000,
                max_attributes: 64,
            };
            let root = tree::parse(&text, &limits).unwrap();
            let mut count = 0;
            for pt in root
                .children_named(WSDL, "portType")
                .filter(|p| port_types.contains(&p.attr("", "name").unwrap()))
            {
                for op in pt.children_named(WSDL, "operation") {
                    let name = op.attr("", "name").unwrap();
                    let input = op
                        .child(WSDL, "input")
                        .unwrap()
                        .attr("", "message")
                        .unwrap();
                    // The request element's namespace is the message's; DeviceIO borrows tds: ones.
                    let found = crate::security::access_table::OPERATIONS
                        .iter()
                        .any(|o| o.service == service && o.name == name);
                    assert!(found, "{file}: {name} ({input}) has no access class");
                    count += 1;
                }
            }
            assert!(count >= 10, "{file}: read only {count} operations");
        }
    }
}
