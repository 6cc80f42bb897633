//! WS-Discovery (2005/04) messages, parsed and written, without I/O.
//!
//! The messages are SOAP 1.2 envelopes with WS-Addressing **2004/08** headers, as ONVIF Core
//! (IEC 60839-11-31, "Device discovery") and the April 2005 WS-Discovery specification use
//! them. [`parse`] turns one received datagram into an [`Incoming`] value (the target service
//! needs `Probe` and `Resolve`; the probe client of `railgate discover` and the tests need the
//! others); the writers ([`hello`], [`bye`], [`probe_matches`], [`resolve_matches`],
//! [`matching_rule_not_supported`], [`probe`], [`resolve`]) return complete documents with the
//! XML declaration at byte 0 and every prefix declared once on the envelope.
//!
//! Parsing is bounded (datagram size, depth, element and list-item counts) and never panics:
//! anything unusable is a [`ParseError`] with a short reason, for a debug log line.
//!
//! Type names (`d:Types`) are QName lists: they are resolved against the in-scope namespace
//! declarations of the element that holds them and compared by namespace URI and local name,
//! never by prefix.

use std::fmt::Write as _;

use crate::xml::ns::{ENV, WSA as WSA10};
use crate::xml::tree::{self, Element, Limits};
use crate::xml::write::XmlWriter;

/// The WS-Discovery 2005/04 namespace (prefix `d` in railgate's messages).
pub const NS_DISCOVERY: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
/// WS-Addressing 2004/08, the addressing version of WS-Discovery 2005/04 (prefix `wsa`).
pub const NS_WSA: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// ONVIF's network (discovery) WSDL namespace: `dn:NetworkVideoTransmitter`.
pub const NS_NETWORK: &str = "http://www.onvif.org/ver10/network/wsdl";
/// ONVIF's device management namespace: `tds:Device`.
pub const NS_DEVICE: &str = crate::xml::ns::TDS;

/// `wsa:To` of every multicast message (Hello, Bye, Probe, Resolve).
pub const TO_DISCOVERY: &str = "urn:schemas-xmlsoap-org:ws:2005:04:discovery";
/// The anonymous endpoint of WS-Addressing 2004/08: `wsa:To` of replies, which go back to
/// the datagram's source.
pub const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

/// `wsa:Action` of Hello.
pub const ACTION_HELLO: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello";
/// `wsa:Action` of Bye.
pub const ACTION_BYE: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Bye";
/// `wsa:Action` of Probe.
pub const ACTION_PROBE: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe";
/// `wsa:Action` of ProbeMatches.
pub const ACTION_PROBE_MATCHES: &str =
    "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches";
/// `wsa:Action` of Resolve.
pub const ACTION_RESOLVE: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Resolve";
/// `wsa:Action` of ResolveMatches.
pub const ACTION_RESOLVE_MATCHES: &str =
    "http://schemas.xmlsoap.org/ws/2005/04/discovery/ResolveMatches";
/// `wsa:Action` of discovery faults (ONVIF Core, "SOAP Fault Messages").
pub const ACTION_FAULT: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/fault";

/// Scope matching rule of RFC 2396 URIs: the 2005/04 default when `MatchBy` is absent.
pub const MATCH_BY_RFC2396: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/rfc2396";
/// Scope matching rule of RFC 3986 URIs, which ONVIF Core requires (the same algorithm with
/// RFC 3986 in place of RFC 2396).
pub const MATCH_BY_RFC3986: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/rfc3986";
/// Scope matching rule "exact, case-sensitive string comparison".
pub const MATCH_BY_STRCMP0: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0";
/// The matching rules railgate supports, as listed in a `MatchingRuleNotSupported` fault.
pub const SUPPORTED_MATCHING_RULES: [&str; 3] =
    [MATCH_BY_RFC3986, MATCH_BY_RFC2396, MATCH_BY_STRCMP0];

/// Largest datagram accepted; bigger ones are refused before parsing (DPWS's
/// MAX_ENVELOPE_SIZE, which WSDAPI also applies).
pub const MAX_DATAGRAM: usize = 32 * 1024;
/// Most items accepted in one list (Types, Scopes, XAddrs) and most matches in one message.
pub const MAX_LIST_ITEMS: usize = 64;
/// Longest MessageID accepted (DPWS's MAX_FIELD_SIZE); the target service remembers them.
pub const MAX_MESSAGE_ID: usize = 256;

/// Tree limits for discovery messages: far smaller than for SOAP requests over HTTP.
const LIMITS: Limits = Limits {
    max_depth: 16,
    max_elements: 512,
    max_declarations: 64,
    max_attributes: 32,
};

/// A qualified name, by namespace URI and local name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QName {
    /// Namespace URI ("" for none).
    pub ns: String,
    /// Local name.
    pub local: String,
}

impl QName {
    /// A name from its parts.
    pub fn new(ns: &str, local: &str) -> Self {
        QName {
            ns: ns.to_string(),
            local: local.to_string(),
        }
    }
}

/// A type to write in `d:Types`: its name and the prefix it should preferably be written with
/// (clients that compare prefixes exist, so `tds` and `dn` are worth keeping). A prefix that
/// is not an NCName or clashes with another is replaced by a generated one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeName {
    /// Namespace URI.
    pub ns: String,
    /// Local name.
    pub local: String,
    /// Preferred prefix.
    pub prefix: String,
}

impl TypeName {
    /// A type from its parts.
    pub fn new(ns: &str, local: &str, prefix: &str) -> Self {
        TypeName {
            ns: ns.to_string(),
            local: local.to_string(),
            prefix: prefix.to_string(),
        }
    }

    /// `tds:Device`, the type every ONVIF device announces.
    pub fn onvif_device() -> Self {
        TypeName::new(NS_DEVICE, "Device", "tds")
    }

    /// `dn:NetworkVideoTransmitter`.
    pub fn network_video_transmitter() -> Self {
        TypeName::new(NS_NETWORK, "NetworkVideoTransmitter", "dn")
    }

    /// Whether this is the type `name` (namespace and local name; the prefix is irrelevant).
    pub fn is(&self, name: &QName) -> bool {
        self.ns == name.ns && self.local == name.local
    }
}

/// The `d:AppSequence` header of target-service messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppSequence {
    /// Incremented at every start of the target service.
    pub instance_id: u32,
    /// Incremented with every message sent within one instance.
    pub message_number: u32,
}

/// A received message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A client looks for target services.
    Probe(Probe),
    /// A client looks for one target service by endpoint reference.
    Resolve(Resolve),
    /// Answers to a Probe.
    ProbeMatches(Matches),
    /// Answers to a Resolve (at most one match).
    ResolveMatches(Matches),
    /// A target service announces itself.
    Hello(Announcement),
    /// A target service leaves.
    Bye(Announcement),
    /// A SOAP fault (e.g. `d:MatchingRuleNotSupported` in answer to a directed Probe).
    Fault(Fault),
}

/// A Probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// `wsa:MessageID`, for `wsa:RelatesTo` in the answer.
    pub message_id: String,
    /// `wsa:ReplyTo/wsa:Address`, when given.
    pub reply_to: Option<String>,
    /// Requested types, resolved (empty: any type).
    pub types: Vec<QName>,
    /// Requested scopes (empty: any scope).
    pub scopes: Vec<String>,
    /// The `MatchBy` rule of the scopes, when given (absent: the RFC 2396/3986 rule).
    pub match_by: Option<String>,
}

/// A Resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolve {
    /// `wsa:MessageID`, for `wsa:RelatesTo` in the answer.
    pub message_id: String,
    /// `wsa:ReplyTo/wsa:Address`, when given.
    pub reply_to: Option<String>,
    /// The endpoint reference address looked for.
    pub endpoint: String,
}

/// What a target service says about itself in Hello, Bye, ProbeMatch and ResolveMatch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// Endpoint reference address (a stable `urn:uuid:` for ONVIF devices).
    pub endpoint: String,
    /// Types, resolved.
    pub types: Vec<QName>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Transport addresses (the device service URLs).
    pub xaddrs: Vec<String>,
    /// Metadata version, when given.
    pub metadata_version: Option<u32>,
}

/// ProbeMatches or ResolveMatches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matches {
    /// `wsa:MessageID`, when given.
    pub message_id: Option<String>,
    /// `wsa:RelatesTo`: the MessageID of the Probe or Resolve answered.
    pub relates_to: Option<String>,
    /// `d:AppSequence`, when given.
    pub app_sequence: Option<AppSequence>,
    /// The matches (possibly none).
    pub matches: Vec<Target>,
}

/// Hello or Bye.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    /// `wsa:MessageID`, when given.
    pub message_id: Option<String>,
    /// `d:AppSequence`, when given.
    pub app_sequence: Option<AppSequence>,
    /// The target service.
    pub target: Target,
}

/// A SOAP 1.2 fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// `wsa:RelatesTo`, when given.
    pub relates_to: Option<String>,
    /// The first subcode, resolved (e.g. `d:MatchingRuleNotSupported`).
    pub subcode: Option<QName>,
    /// The first reason text.
    pub reason: String,
}

/// Why a datagram was not understood. The socket layer logs it at debug and drops it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// Bigger than [`MAX_DATAGRAM`].
    #[error("datagram of {0} bytes is too large")]
    TooLarge(usize),
    /// Not acceptable XML (not well-formed, DTD, limits).
    #[error("not acceptable XML: {0}")]
    Xml(#[from] tree::ParseError),
    /// Not a SOAP 1.2 envelope with a Body.
    #[error("not a SOAP 1.2 envelope: {0}")]
    Envelope(&'static str),
    /// A header marked mustUnderstand that railgate does not know.
    #[error("mustUnderstand header {0} is not understood")]
    MustUnderstand(String),
    /// A body element that is not a WS-Discovery 2005/04 message.
    #[error("unsupported message {{{0}}}{1}")]
    Unsupported(String, String),
    /// A required part is missing or unusable.
    #[error("{0}")]
    Invalid(&'static str),
    /// A QName in `d:Types` uses a prefix that is not declared.
    #[error("unbound prefix in type {0}")]
    UnboundPrefix(String),
    /// More list items or matches than [`MAX_LIST_ITEMS`].
    #[error("more than {MAX_LIST_ITEMS} items in {0}")]
    TooManyItems(&'static str),
}

/// The header fields discovery uses.
#[derive(Default)]
struct Headers {
    message_id: Option<String>,
    relates_to: Option<String>,
    reply_to: Option<String>,
    app_sequence: Option<AppSequence>,
}

fn is_wsa(ns: &str) -> bool {
    ns == NS_WSA || ns == WSA10
}

/// Parses one datagram.
pub fn parse(datagram: &[u8]) -> Result<Incoming, ParseError> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(ParseError::TooLarge(datagram.len()));
    }
    let root = tree::parse(datagram, &LIMITS)?;
    if !root.is(ENV, "Envelope") {
        return Err(ParseError::Envelope("the root is not a SOAP 1.2 Envelope"));
    }
    let mut header: Option<&Element> = None;
    let mut body: Option<&Element> = None;
    for child in &root.children {
        match (&*child.ns, &*child.name) {
            (ENV, "Header") if header.is_none() && body.is_none() => header = Some(child),
            (ENV, "Body") if body.is_none() => body = Some(child),
            _ => return Err(ParseError::Envelope("unexpected element in the Envelope")),
        }
    }
    let body = body.ok_or(ParseError::Envelope("no Body"))?;
    let headers = match header {
        Some(h) => read_headers(h)?,
        None => Headers::default(),
    };
    let mut elements = body.children.iter();
    let message = elements
        .next()
        .ok_or(ParseError::Envelope("the Body is empty"))?;
    if elements.next().is_some() {
        return Err(ParseError::Envelope("the Body holds more than one element"));
    }
    read_body(message, headers)
}

fn read_headers(header: &Element) -> Result<Headers, ParseError> {
    let mut h = Headers::default();
    for block in &header.children {
        let ns = &*block.ns;
        let understood = if is_wsa(ns) {
            match &*block.name {
                "MessageID" => h.message_id = Some(bounded_id(block.text_trim())?),
                "RelatesTo" => h.relates_to = Some(bounded_id(block.text_trim())?),
                "ReplyTo" => h.reply_to = endpoint_address(block),
                _ => {}
            }
            true
        } else if ns == NS_DISCOVERY && &*block.name == "AppSequence" {
            h.app_sequence = read_app_sequence(block);
            true
        } else {
            false
        };
        let must = matches!(
            block.attr(ENV, "mustUnderstand").map(str::trim),
            Some("1" | "true")
        );
        if must && !understood {
            return Err(ParseError::MustUnderstand(format!(
                "{{{}}}{}",
                block.ns, block.name
            )));
        }
    }
    Ok(h)
}

fn bounded_id(text: &str) -> Result<String, ParseError> {
    if text.len() > MAX_MESSAGE_ID {
        return Err(ParseError::Invalid("MessageID or RelatesTo is too long"));
    }
    Ok(text.to_string())
}

fn read_app_sequence(block: &Element) -> Option<AppSequence> {
    let instance_id = block.attr("", "InstanceId")?.trim().parse().ok()?;
    let message_number = block.attr("", "MessageNumber")?.trim().parse().ok()?;
    Some(AppSequence {
        instance_id,
        message_number,
    })
}

/// The `Address` of an endpoint reference (WS-Addressing 2004/08 or 1.0), non-empty.
fn endpoint_address(epr: &Element) -> Option<String> {
    epr.children
        .iter()
        .find(|c| is_wsa(&c.ns) && &*c.name == "Address")
        .map(|a| a.text_trim().to_string())
        .filter(|a| !a.is_empty())
}

fn epr_child(parent: &Element) -> Option<&Element> {
    parent
        .children
        .iter()
        .find(|c| is_wsa(&c.ns) && &*c.name == "EndpointReference")
}

fn read_body(message: &Element, h: Headers) -> Result<Incoming, ParseError> {
    let ns = &*message.ns;
    // ONVIF's remotediscovery.wsdl declares dn:Probe, dn:Hello and dn:Bye with the discovery
    // types; a few clients send those, so they are read like their d: twins.
    let name = &*message.name;
    let discovery = ns == NS_DISCOVERY;
    let network = ns == NS_NETWORK && matches!(name, "Probe" | "Hello" | "Bye");
    if ns == ENV && name == "Fault" {
        return Ok(Incoming::Fault(read_fault(message, h)));
    }
    if !discovery && !network {
        return Err(ParseError::Unsupported(ns.to_string(), name.to_string()));
    }
    match name {
        "Probe" => {
            let message_id = required_id(h.message_id)?;
            let types = match discovery_child(message, "Types") {
                Some(t) => read_types(t)?,
                None => Vec::new(),
            };
            let (scopes, match_by) = match discovery_child(message, "Scopes") {
                Some(s) => {
                    let match_by = s
                        .attr("", "MatchBy")
                        .map(str::trim)
                        .filter(|m| !m.is_empty())
                        .map(str::to_string);
                    (read_list(s, "Scopes")?, match_by)
                }
                None => (Vec::new(), None),
            };
            Ok(Incoming::Probe(Probe {
                message_id,
                reply_to: h.reply_to,
                types,
                scopes,
                match_by,
            }))
        }
        "Resolve" => {
            let message_id = required_id(h.message_id)?;
            let endpoint = epr_child(message)
                .and_then(endpoint_address)
                .ok_or(ParseError::Invalid("Resolve without an endpoint reference"))?;
            Ok(Incoming::Resolve(Resolve {
                message_id,
                reply_to: h.reply_to,
                endpoint,
            }))
        }
        "Hello" | "Bye" => {
            let target = read_target(message)?;
            let announcement = Announcement {
                message_id: h.message_id,
                app_sequence: h.app_sequence,
                target,
            };
            Ok(if name == "Hello" {
                Incoming::Hello(announcement)
            } else {
                Incoming::Bye(announcement)
            })
        }
        "ProbeMatches" | "ResolveMatches" => {
            let item = if name == "ProbeMatches" {
                "ProbeMatch"
            } else {
                "ResolveMatch"
            };
            let mut matches = Vec::new();
            for m in message.children_named(NS_DISCOVERY, item) {
                if matches.len() == MAX_LIST_ITEMS {
                    return Err(ParseError::TooManyItems("matches"));
                }
                matches.push(read_target(m)?);
            }
            let matches = Matches {
                message_id: h.message_id,
                relates_to: h.relates_to,
                app_sequence: h.app_sequence,
                matches,
            };
            Ok(if name == "ProbeMatches" {
                Incoming::ProbeMatches(matches)
            } else {
                Incoming::ResolveMatches(matches)
            })
        }
        _ => Err(ParseError::Unsupported(ns.to_string(), name.to_string())),
    }
}

fn required_id(id: Option<String>) -> Result<String, ParseError> {
    id.filter(|i| !i.is_empty())
        .ok_or(ParseError::Invalid("no MessageID"))
}

fn discovery_child<'a>(parent: &'a Element, name: &str) -> Option<&'a Element> {
    parent.child(NS_DISCOVERY, name)
}

fn read_target(element: &Element) -> Result<Target, ParseError> {
    let endpoint = epr_child(element)
        .and_then(endpoint_address)
        .ok_or(ParseError::Invalid("no endpoint reference"))?;
    let types = match discovery_child(element, "Types") {
        Some(t) => read_types(t)?,
        None => Vec::new(),
    };
    let scopes = match discovery_child(element, "Scopes") {
        Some(s) => read_list(s, "Scopes")?,
        None => Vec::new(),
    };
    let xaddrs = match discovery_child(element, "XAddrs") {
        Some(x) => read_list(x, "XAddrs")?,
        None => Vec::new(),
    };
    let metadata_version = match discovery_child(element, "MetadataVersion") {
        Some(m) => Some(
            m.text_trim()
                .parse()
                .map_err(|_| ParseError::Invalid("MetadataVersion is not an unsignedInt"))?,
        ),
        None => None,
    };
    Ok(Target {
        endpoint,
        types,
        scopes,
        xaddrs,
        metadata_version,
    })
}

/// Splits a list value on XML white space.
fn list_items(text: &str) -> impl Iterator<Item = &str> {
    text.split([' ', '\t', '\r', '\n'])
        .filter(|s| !s.is_empty())
}

fn read_list(element: &Element, what: &'static str) -> Result<Vec<String>, ParseError> {
    let mut out = Vec::new();
    for item in list_items(&element.text) {
        if out.len() == MAX_LIST_ITEMS {
            return Err(ParseError::TooManyItems(what));
        }
        out.push(item.to_string());
    }
    Ok(out)
}

/// Resolves the QNames of a `d:Types` element against its in-scope declarations.
fn read_types(element: &Element) -> Result<Vec<QName>, ParseError> {
    let mut out = Vec::new();
    for item in list_items(&element.text) {
        if out.len() == MAX_LIST_ITEMS {
            return Err(ParseError::TooManyItems("Types"));
        }
        let (ns, local) = element
            .resolve_qname(item)
            .ok_or_else(|| ParseError::UnboundPrefix(truncated(item)))?;
        out.push(QName {
            ns,
            local: local.to_string(),
        });
    }
    Ok(out)
}

/// At most 64 characters of untrusted text, for an error message.
fn truncated(text: &str) -> String {
    text.chars().take(64).collect()
}

fn read_fault(fault: &Element, h: Headers) -> Fault {
    let subcode = fault
        .child(ENV, "Code")
        .and_then(|c| c.child(ENV, "Subcode"))
        .and_then(|s| s.child(ENV, "Value"))
        .and_then(|v| {
            v.resolve_qname(v.text_trim())
                .map(|(ns, local)| QName::new(&ns, local))
        });
    let reason = fault
        .child(ENV, "Reason")
        .and_then(|r| r.child(ENV, "Text"))
        .map(|t| t.text_trim().to_string())
        .unwrap_or_default();
    Fault {
        relates_to: h.relates_to,
        subcode,
        reason,
    }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// What a target service says about itself in Hello, ProbeMatch and ResolveMatch.
#[derive(Clone, Copy, Debug)]
pub struct Description<'a> {
    /// Endpoint reference address (a stable `urn:uuid:`).
    pub endpoint_reference: &'a str,
    /// Types, with their preferred prefixes.
    pub types: &'a [TypeName],
    /// Scopes.
    pub scopes: &'a [String],
    /// Device service URLs.
    pub xaddrs: &'a [String],
    /// Metadata version.
    pub metadata_version: u32,
}

/// A fresh `urn:uuid:` MessageID from the operating system's randomness.
pub fn new_message_id() -> String {
    message_id_from(*uuid::Uuid::new_v4().as_bytes())
}

/// A `urn:uuid:` MessageID (version 4 UUID) made from 16 random bytes supplied by the caller
/// (the state machine draws them from its seeded generator, so tests are reproducible).
pub fn message_id_from(random: [u8; 16]) -> String {
    let id = uuid::Builder::from_random_bytes(random).into_uuid();
    format!("urn:uuid:{}", id.hyphenated())
}

/// Hello, sent multicast when the device joins a network or its metadata changes.
pub fn hello(message_id: &str, seq: AppSequence, target: &Description<'_>) -> Vec<u8> {
    let mut doc = Doc::new(target.types);
    doc.header(ACTION_HELLO, message_id, None, TO_DISCOVERY, Some(seq));
    doc.w.with("d:Hello", &[], |w| {
        write_description(w, &doc.prefixes, target, false)
    });
    doc.finish()
}

/// Bye, sent multicast when the device leaves (stops, or becomes non-discoverable).
pub fn bye(message_id: &str, seq: AppSequence, endpoint_reference: &str) -> Vec<u8> {
    let mut doc = Doc::new(&[]);
    doc.header(ACTION_BYE, message_id, None, TO_DISCOVERY, Some(seq));
    doc.w
        .with("d:Bye", &[], |w| write_epr(w, endpoint_reference));
    doc.finish()
}

/// ProbeMatches answering the Probe whose MessageID is `relates_to`: one match, or none
/// (`target` absent).
pub fn probe_matches(
    message_id: &str,
    relates_to: &str,
    seq: AppSequence,
    target: Option<&Description<'_>>,
) -> Vec<u8> {
    matches(
        (
            "d:ProbeMatches",
            "d:ProbeMatch",
            ACTION_PROBE_MATCHES,
            false,
        ),
        message_id,
        relates_to,
        seq,
        target,
    )
}

/// ResolveMatches answering the Resolve whose MessageID is `relates_to`.
pub fn resolve_matches(
    message_id: &str,
    relates_to: &str,
    seq: AppSequence,
    target: Option<&Description<'_>>,
) -> Vec<u8> {
    matches(
        (
            "d:ResolveMatches",
            "d:ResolveMatch",
            ACTION_RESOLVE_MATCHES,
            true,
        ),
        message_id,
        relates_to,
        seq,
        target,
    )
}

/// ProbeMatches or ResolveMatches: (wrapper, match element, action, resolve flavour).
fn matches(
    (wrapper, item, action, resolve): (&str, &str, &str, bool),
    message_id: &str,
    relates_to: &str,
    seq: AppSequence,
    target: Option<&Description<'_>>,
) -> Vec<u8> {
    let mut doc = Doc::new(target.map(|t| t.types).unwrap_or(&[]));
    doc.header(action, message_id, Some(relates_to), ANONYMOUS, Some(seq));
    doc.w.with(wrapper, &[], |w| {
        if let Some(t) = target {
            w.with(item, &[], |w| {
                write_description(w, &doc.prefixes, t, resolve)
            });
        }
    });
    doc.finish()
}

/// The `env:Sender` / `d:MatchingRuleNotSupported` fault for a directed (unicast) Probe whose
/// MatchBy rule railgate does not support (ONVIF Core, "SOAP Fault Messages"). Never sent in
/// answer to a multicast Probe.
pub fn matching_rule_not_supported(message_id: &str, relates_to: &str) -> Vec<u8> {
    let mut doc = Doc::new(&[]);
    doc.header(ACTION_FAULT, message_id, Some(relates_to), ANONYMOUS, None);
    doc.w.with("env:Fault", &[], |w| {
        w.with("env:Code", &[], |w| {
            w.leaf("env:Value", "env:Sender");
            w.with("env:Subcode", &[], |w| {
                w.leaf("env:Value", "d:MatchingRuleNotSupported");
            });
        });
        w.with("env:Reason", &[], |w| {
            w.open("env:Text", &[("xml:lang", "en")])
                .text("the matching rule specified is not supported")
                .close("env:Text");
        });
        w.with("env:Detail", &[], |w| {
            w.leaf(
                "d:SupportedMatchingRules",
                &SUPPORTED_MATCHING_RULES.join(" "),
            );
        });
    });
    doc.finish()
}

/// A Probe, for the probe client: multicast (`wsa:To` is the discovery URN) or directed.
/// `match_by` absent leaves the default rule.
pub fn probe(
    message_id: &str,
    types: &[TypeName],
    scopes: &[String],
    match_by: Option<&str>,
) -> Vec<u8> {
    let mut doc = Doc::new(types);
    doc.header(ACTION_PROBE, message_id, None, TO_DISCOVERY, None);
    doc.w.with("d:Probe", &[], |w| {
        if !types.is_empty() {
            w.leaf("d:Types", &type_list(&doc.prefixes, types));
        }
        if !scopes.is_empty() || match_by.is_some() {
            let attrs: Vec<(&str, &str)> = match_by.map(|m| ("MatchBy", m)).into_iter().collect();
            w.open("d:Scopes", &attrs)
                .text(&uri_list(scopes))
                .close("d:Scopes");
        }
    });
    doc.finish()
}

/// A Resolve for an endpoint reference address, for the probe client.
pub fn resolve(message_id: &str, endpoint_reference: &str) -> Vec<u8> {
    let mut doc = Doc::new(&[]);
    doc.header(ACTION_RESOLVE, message_id, None, TO_DISCOVERY, None);
    doc.w
        .with("d:Resolve", &[], |w| write_epr(w, endpoint_reference));
    doc.finish()
}

/// Prefixes fixed by railgate; a type may not take them.
const RESERVED_PREFIXES: [&str; 3] = ["env", "wsa", "d"];

/// A document being written: the prefixes of the types it mentions, and the body so far.
struct Doc {
    /// (prefix, namespace) of the types, declared on the envelope.
    prefixes: Vec<(String, String)>,
    w: XmlWriter,
    header: String,
}

impl Doc {
    fn new(types: &[TypeName]) -> Self {
        Doc {
            prefixes: assign_prefixes(types),
            w: XmlWriter::new(),
            header: String::new(),
        }
    }

    fn header(
        &mut self,
        action: &str,
        message_id: &str,
        relates_to: Option<&str>,
        to: &str,
        seq: Option<AppSequence>,
    ) {
        let mut w = XmlWriter::new();
        w.leaf("wsa:MessageID", message_id);
        if let Some(r) = relates_to {
            w.leaf("wsa:RelatesTo", r);
        }
        w.leaf("wsa:To", to);
        w.leaf("wsa:Action", action);
        if let Some(s) = seq {
            let instance = s.instance_id.to_string();
            let number = s.message_number.to_string();
            w.empty(
                "d:AppSequence",
                &[
                    ("InstanceId", instance.as_str()),
                    ("MessageNumber", number.as_str()),
                ],
            );
        }
        self.header = w.finish();
    }

    fn finish(self) -> Vec<u8> {
        let body = self.w.finish();
        let mut out = String::with_capacity(body.len() + self.header.len() + 512);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<env:Envelope");
        let fixed = [("env", ENV), ("wsa", NS_WSA), ("d", NS_DISCOVERY)];
        let all = fixed
            .iter()
            .map(|(p, n)| (*p, *n))
            .chain(self.prefixes.iter().map(|(p, n)| (p.as_str(), n.as_str())));
        for (prefix, ns) in all {
            let _ = write!(out, " xmlns:{prefix}=\"");
            let mut w = XmlWriter::new();
            w.text(ns);
            out.push_str(&w.finish());
            out.push('"');
        }
        out.push_str("><env:Header>");
        out.push_str(&self.header);
        out.push_str("</env:Header><env:Body>");
        out.push_str(&body);
        out.push_str("</env:Body></env:Envelope>\n");
        out.into_bytes()
    }
}

/// Whether `s` is an ASCII NCName (a prefix or local name railgate can write as it is).
fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// One prefix per namespace of `types`: the preferred one when it is usable and free,
/// otherwise `t0`, `t1`, ...
fn assign_prefixes(types: &[TypeName]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for t in types {
        if t.ns.is_empty() || out.iter().any(|(_, ns)| *ns == t.ns) {
            continue;
        }
        let usable = is_ncname(&t.prefix)
            && !t.prefix.to_ascii_lowercase().starts_with("xml")
            && !RESERVED_PREFIXES.contains(&t.prefix.as_str())
            && !out.iter().any(|(p, _)| *p == t.prefix);
        let prefix = if usable {
            t.prefix.clone()
        } else {
            (0..)
                .map(|i| format!("t{i}"))
                .find(|p| !out.iter().any(|(q, _)| q == p) && !types.iter().any(|o| o.prefix == *p))
                .unwrap_or_default()
        };
        out.push((prefix, t.ns.clone()));
    }
    out
}

/// `tds:Device dn:NetworkVideoTransmitter`: each type with its namespace's prefix. Types in no
/// namespace or with a local name that is not an NCName cannot be written and are left out.
fn type_list(prefixes: &[(String, String)], types: &[TypeName]) -> String {
    let mut out = String::new();
    for t in types {
        if !is_ncname(&t.local) {
            continue;
        }
        let Some((prefix, _)) = prefixes.iter().find(|(_, ns)| *ns == t.ns) else {
            continue;
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(prefix);
        out.push(':');
        out.push_str(&t.local);
    }
    out
}

/// A space-separated URI list; white space inside an item (which would split it) is
/// percent-encoded, empty items are left out.
fn uri_list(items: &[String]) -> String {
    let mut out = String::new();
    for item in items.iter().filter(|i| !i.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in item.chars() {
            match c {
                ' ' => out.push_str("%20"),
                '\t' => out.push_str("%09"),
                '\n' => out.push_str("%0A"),
                '\r' => out.push_str("%0D"),
                c => out.push(c),
            }
        }
    }
    out
}

fn write_epr(w: &mut XmlWriter, address: &str) {
    w.with("wsa:EndpointReference", &[], |w| {
        w.leaf("wsa:Address", address);
    });
}

/// EndpointReference, Types, Scopes, XAddrs, MetadataVersion, in the schema's order.
/// `xaddrs_required`: ResolveMatch must carry XAddrs even when the list is empty.
fn write_description(
    w: &mut XmlWriter,
    prefixes: &[(String, String)],
    d: &Description<'_>,
    xaddrs_required: bool,
) {
    write_epr(w, d.endpoint_reference);
    let types = type_list(prefixes, d.types);
    if !types.is_empty() {
        w.leaf("d:Types", &types);
    }
    let scopes = uri_list(d.scopes);
    if !scopes.is_empty() {
        w.leaf("d:Scopes", &scopes);
    }
    let xaddrs = uri_list(d.xaddrs);
    if !xaddrs.is_empty() || xaddrs_required {
        w.leaf("d:XAddrs", &xaddrs);
    }
    w.leaf("d:MetadataVersion", &d.metadata_version.to_string());
}

#[cfg(test)]
mod tests;
