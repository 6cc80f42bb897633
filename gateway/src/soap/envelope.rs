//! Request envelopes in, response envelopes out.

use crate::xml::ns::{ENV, ENVELOPE_DECLS, WSA, WSSE};
use crate::xml::{Element, Limits, tree};

use super::SoapFault;

/// A parsed SOAP 1.2 request.
#[derive(Debug)]
pub struct Envelope {
    /// The header blocks, in order.
    pub headers: Vec<Element>,
    /// The single child of `env:Body`: the operation's request element.
    pub body: Element,
}

impl Envelope {
    /// The first header block with this namespace and local name.
    pub fn header(&self, ns: &str, name: &str) -> Option<&Element> {
        self.headers.iter().find(|h| h.is(ns, name))
    }
}

/// Header blocks railgate processes (or may safely ignore) even when marked mustUnderstand.
fn understood(block: &Element) -> bool {
    (&*block.ns == WSSE && &*block.name == "Security")
        || (&*block.ns == WSA
            && matches!(
                &*block.name,
                "To" | "Action" | "MessageID" | "ReplyTo" | "From" | "FaultTo" | "RelatesTo"
            ))
}

fn must_understand(block: &Element) -> bool {
    matches!(
        block.attr(ENV, "mustUnderstand").map(str::trim),
        Some("1" | "true")
    )
}

/// Reads a request. Every failure is the fault the client should get.
pub fn parse_envelope(bytes: &[u8], limits: &Limits) -> Result<Envelope, SoapFault> {
    let root = tree::parse(bytes, limits).map_err(|e| SoapFault::well_formed(e.to_string()))?;
    // SOAP 1.2 part 1, 5.4.7: anything but {ENV}Envelope at the root, SOAP 1.1 included.
    if &*root.ns != ENV || &*root.name != "Envelope" {
        return Err(SoapFault::version_mismatch());
    }
    let mut headers = Vec::new();
    let mut body = None;
    for child in root.children {
        match (&*child.ns, &*child.name, body.is_some()) {
            (ENV, "Header", false) if headers.is_empty() => headers = child.children,
            (ENV, "Body", false) => body = Some(child),
            _ => {
                return Err(SoapFault::tag_mismatch(format!(
                    "unexpected {} in the Envelope",
                    child.name
                )));
            }
        }
    }
    let body = body.ok_or_else(|| SoapFault::missing_tag("the Envelope has no Body"))?;
    let not_understood: Vec<(String, String)> = headers
        .iter()
        .filter(|h| must_understand(h) && !understood(h))
        .map(|h| (h.ns.to_string(), h.name.to_string()))
        .collect();
    if !not_understood.is_empty() {
        return Err(SoapFault::must_understand(not_understood));
    }
    let mut children = body.children.into_iter();
    let request = children
        .next()
        .ok_or_else(|| SoapFault::missing_tag("the Body is empty"))?;
    if children.next().is_some() {
        return Err(SoapFault::invalid_args(
            "the Body holds more than one request",
        ));
    }
    Ok(Envelope {
        headers,
        body: request,
    })
}

/// A complete response document: the XML declaration at byte 0, then the envelope declaring
/// the prefixes railgate writes that the header or body use (`env` always). A prefix counts
/// as used wherever `prefix:` appears, QName values included; declaring one too many is
/// harmless, one too few is impossible.
pub fn write_envelope(header: Option<&str>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 400);
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push_str("\n<env:Envelope");
    let mut needle = String::with_capacity(8);
    for (prefix, uri) in ENVELOPE_DECLS {
        needle.clear();
        needle.push_str(prefix);
        needle.push(':');
        let used = *prefix == "env"
            || body.contains(needle.as_str())
            || header.is_some_and(|h| h.contains(needle.as_str()));
        if used {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
            out.push_str(uri);
            out.push('"');
        }
    }
    out.push('>');
    if let Some(h) = header {
        out.push_str("<env:Header>");
        out.push_str(h);
        out.push_str("</env:Header>");
    }
    out.push_str("<env:Body>");
    out.push_str(body);
    out.push_str("</env:Body></env:Envelope>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::FaultCode;

    fn parse(s: &str) -> Result<Envelope, SoapFault> {
        parse_envelope(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn accepts_any_prefixes_and_mustunderstand_security_in_a_default_namespace() {
        // Genetec: Security in a default namespace, mustUnderstand="1", wsu:Id on the token.
        let env = parse(&format!(
            r#"<s:Envelope xmlns:s="{ENV}"><s:Header><Security s:mustUnderstand="1" xmlns="{WSSE}"><UsernameToken xmlns:u="x" u:Id="t"/></Security></s:Header><s:Body><GetScopes xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>"#
        ))
        .unwrap();
        assert!(env.body.is(crate::xml::ns::TDS, "GetScopes"));
        assert!(env.header(WSSE, "Security").is_some());
    }

    #[test]
    fn faults() {
        let soap11 = r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>"#;
        assert_eq!(parse(soap11).unwrap_err().code, FaultCode::VersionMismatch);
        assert_eq!(parse("<a/>").unwrap_err().code, FaultCode::VersionMismatch);
        assert_eq!(parse("<a").unwrap_err().subcodes, ["ter:WellFormed"]);
        let no_body = format!(r#"<e:Envelope xmlns:e="{ENV}"/>"#);
        assert_eq!(parse(&no_body).unwrap_err().subcodes, ["ter:Tag"]);
        let unknown = format!(
            r#"<e:Envelope xmlns:e="{ENV}"><e:Header><x:Y xmlns:x="urn:x" e:mustUnderstand="true"/></e:Header><e:Body><a/></e:Body></e:Envelope>"#
        );
        let f = parse(&unknown).unwrap_err();
        assert_eq!(f.code, FaultCode::MustUnderstand);
        assert!(
            f.header_xml()
                .unwrap()
                .contains(r#"qname="nu0:Y" xmlns:nu0="urn:x""#)
        );
        let ignorable = unknown.replace("e:mustUnderstand=\"true\"", "e:mustUnderstand=\"0\"");
        assert!(parse(&ignorable).is_ok());
    }

    #[test]
    fn declares_the_prefixes_used() {
        let doc = write_envelope(None, "<tds:X><tt:Y>tns1:Device/Trigger</tt:Y></tds:X>");
        for used in ["xmlns:env=", "xmlns:tds=", "xmlns:tt=", "xmlns:tns1="] {
            assert!(doc.contains(used), "{used} in {doc}");
        }
        for unused in ["xmlns:tev=", "xmlns:wsnt=", "xmlns:ter="] {
            assert!(!doc.contains(unused), "{unused} in {doc}");
        }
        let fault = write_envelope(
            Some("<wsa:Action>x</wsa:Action>"),
            "<env:Fault><env:Value>ter:X</env:Value></env:Fault>",
        );
        assert!(fault.contains("xmlns:wsa=") && fault.contains("xmlns:ter="));
    }

    #[test]
    fn declaration_at_byte_zero() {
        let doc = write_envelope(None, "<tds:X/>");
        assert!(doc.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(tree::parse(doc.as_bytes(), &Limits::default()).is_ok());
    }

    /// Mutated and truncated requests never panic the parser or the token reader.
    #[test]
    fn mutations_never_panic() {
        let seed = format!(
            r#"<?xml version="1.0"?><s:Envelope xmlns:s="{ENV}" xmlns:w="{WSSE}"><s:Header><w:Security s:mustUnderstand="1"><w:UsernameToken><w:Username>a&amp;b</w:Username><w:Password Type="x">p</w:Password><w:Nonce>AAAA</w:Nonce></w:UsernameToken></w:Security></s:Header><s:Body><GetScopes xmlns="http://www.onvif.org/ver10/device/wsdl"><![CDATA[x]]></GetScopes></s:Body></s:Envelope>"#
        )
        .into_bytes();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let specials = b"<>&;:\"'/=![]?# \xff\x00";
        for _ in 0..20_000 {
            let mut input = seed.clone();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() as usize) % input.len();
                match next() % 4 {
                    0 => input[at] = specials[(next() as usize) % specials.len()],
                    1 => {
                        input.remove(at);
                    }
                    2 => input.insert(at, specials[(next() as usize) % specials.len()]),
                    _ => input.truncate(at),
                }
                if input.is_empty() {
                    break;
                }
            }
            if let Ok(env) = parse_envelope(&input, &Limits::default()) {
                let _ = crate::security::wsse::extract(&env);
            }
        }
    }
}
