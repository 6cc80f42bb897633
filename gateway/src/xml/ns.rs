//! Namespace URIs, and the prefixes railgate writes them with.

/// SOAP 1.2 envelope.
pub const ENV: &str = "http://www.w3.org/2003/05/soap-envelope";
/// ONVIF device management service.
pub const TDS: &str = "http://www.onvif.org/ver10/device/wsdl";
/// ONVIF device I/O service.
pub const TMD: &str = "http://www.onvif.org/ver10/deviceIO/wsdl";
/// ONVIF event service.
pub const TEV: &str = "http://www.onvif.org/ver10/events/wsdl";
/// ONVIF advanced security service (keystore, TLS server).
pub const TAS: &str = "http://www.onvif.org/ver10/advancedsecurity/wsdl";
/// ONVIF common schema.
pub const TT: &str = "http://www.onvif.org/ver10/schema";
/// ONVIF fault subcodes.
pub const TER: &str = "http://www.onvif.org/ver10/error";
/// The prefix railgate writes [`TNS1`] with (the mapping language's `tns1` too).
pub use railgate_mappings::topics::ONVIF_PREFIX as TNS1_PREFIX;
/// ONVIF topic namespace, defined once with the mapping language's topic namespaces.
pub use railgate_mappings::topics::ONVIF_TOPICS as TNS1;
/// WS-BaseNotification.
pub const WSNT: &str = "http://docs.oasis-open.org/wsn/b-2";
/// WS-Topics.
pub const WSTOP: &str = "http://docs.oasis-open.org/wsn/t-1";
/// WS-Addressing 1.0.
pub const WSA: &str = "http://www.w3.org/2005/08/addressing";
/// WS-Security secext 1.0.
pub const WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// WS-Security utility 1.0.
pub const WSU: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
/// The `xml:` namespace.
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";

/// Prefix declarations written on every response envelope, so body writers can use the
/// prefixes freely. Order is stable so responses are byte-for-byte reproducible.
pub const ENVELOPE_DECLS: &[(&str, &str)] = &[
    ("env", ENV),
    ("ter", TER),
    ("tt", TT),
    ("tds", TDS),
    ("tmd", TMD),
    ("tev", TEV),
    ("tas", TAS),
    ("wsnt", WSNT),
    ("wstop", WSTOP),
    ("wsa", WSA),
    (TNS1_PREFIX, TNS1),
];
