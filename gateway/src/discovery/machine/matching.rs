//! Probe matching: types by namespace URI and local name, scopes by the Probe's `MatchBy`
//! rule.
//!
//! The RFC 3986 rule is WS-Discovery's (April 2005, "Matching Types and Scopes", written for
//! RFC 2396; ONVIF Core replaces RFC 2396 by RFC 3986 and keeps the algorithm). A Probe scope
//! S1 matches a device scope S2 when
//! - the schemes are equal, compared case-insensitively,
//! - the authorities are equal, compared case-insensitively,
//! - the path segments of S1 are a segment-wise (not string) prefix of those of S2,
//! - neither contains a `.` or `..` segment;
//!
//! query and fragment are not compared, and both are canonicalized first (percent-encoded
//! octets decoded, per segment, so `%2F` stays inside its segment). railgate's one reading
//! beyond the text: a trailing `/` on the Probe's scope is ignored (`.../location/` asks for the
//! same subtree as `.../location`), so clients that add one still find the device.

use super::message::{MATCH_BY_RFC2396, MATCH_BY_RFC3986, MATCH_BY_STRCMP0, QName, TypeName};

/// A supported scope matching rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Rule {
    /// `.../rfc3986` and `.../rfc2396` (the default).
    Rfc3986,
    /// `.../strcmp0`: exact, case-sensitive.
    Strcmp0,
}

/// The rule a Probe asks for; `None` when railgate does not support it.
pub(super) fn rule(match_by: Option<&str>) -> Option<Rule> {
    match match_by {
        None | Some(MATCH_BY_RFC3986 | MATCH_BY_RFC2396) => Some(Rule::Rfc3986),
        Some(MATCH_BY_STRCMP0) => Some(Rule::Strcmp0),
        Some(_) => None,
    }
}

/// Every requested type is one of the device's (an empty request matches).
pub(super) fn types_match(requested: &[QName], device: &[TypeName]) -> bool {
    requested.iter().all(|r| device.iter().any(|d| d.is(r)))
}

/// Every requested scope matches one of the device's (an empty request matches).
pub(super) fn scopes_match(rule: Rule, requested: &[String], device: &[String]) -> bool {
    requested
        .iter()
        .all(|r| device.iter().any(|d| scope_matches(rule, r, d)))
}

/// Whether the Probe's scope `probe` matches the device scope `device`.
pub(super) fn scope_matches(rule: Rule, probe: &str, device: &str) -> bool {
    match rule {
        Rule::Strcmp0 => probe == device,
        Rule::Rfc3986 => {
            let (Some(p), Some(d)) = (Uri::split(probe), Uri::split(device)) else {
                return false;
            };
            if !p.scheme.eq_ignore_ascii_case(d.scheme) {
                return false;
            }
            let same_authority = match (p.authority, d.authority) {
                (None, None) => true,
                (Some(a), Some(b)) => decode(a).eq_ignore_ascii_case(&decode(b)),
                _ => false,
            };
            if !same_authority {
                return false;
            }
            let mut wanted = segments(p.path);
            if wanted.last().is_some_and(Vec::is_empty) {
                wanted.pop();
            }
            let have = segments(d.path);
            let dot = |s: &Vec<u8>| s == b"." || s == b"..";
            if wanted.iter().any(dot) || have.iter().any(dot) {
                return false;
            }
            wanted.len() <= have.len() && wanted.iter().zip(&have).all(|(w, h)| w == h)
        }
    }
}

/// The parts of an absolute URI the RFC 3986 rule compares.
struct Uri<'a> {
    scheme: &'a str,
    authority: Option<&'a str>,
    path: &'a str,
}

impl<'a> Uri<'a> {
    /// `scheme:[//authority]path[?query][#fragment]`; `None` when there is no valid scheme.
    fn split(uri: &'a str) -> Option<Uri<'a>> {
        let (scheme, rest) = uri.split_once(':')?;
        let mut chars = scheme.chars();
        if !chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return None;
        }
        let end = rest.find(['?', '#']).unwrap_or(rest.len());
        let rest = &rest[..end];
        let (authority, path) = match rest.strip_prefix("//") {
            Some(after) => {
                let cut = after.find('/').unwrap_or(after.len());
                (Some(&after[..cut]), &after[cut..])
            }
            None => (None, rest),
        };
        Some(Uri {
            scheme,
            authority,
            path,
        })
    }
}

/// The path's segments, each percent-decoded; a leading `/` starts the first segment.
fn segments(path: &str) -> Vec<Vec<u8>> {
    if path.is_empty() {
        return Vec::new();
    }
    let path = path.strip_prefix('/').unwrap_or(path);
    path.split('/').map(decode).collect()
}

/// Percent-decodes `text`; a `%` not followed by two hex digits stays as it is.
fn decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push((h << 4) | l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICE: &str = "onvif://www.onvif.org/location/country/china";

    fn rfc(p: &str, d: &str) -> bool {
        scope_matches(Rule::Rfc3986, p, d)
    }

    #[test]
    fn onvif_core_examples() {
        // ONVIF Core, "Scopes", Example.
        assert!(rfc("onvif://www.onvif.org", DEVICE));
        assert!(rfc(DEVICE, DEVICE));
        assert!(!rfc(
            "onvif://www.onvif.org/hardware/D1",
            "onvif://www.onvif.org/hardware/D1-566"
        ));
    }

    #[test]
    fn prefix_is_segment_wise() {
        assert!(rfc("onvif://www.onvif.org/location", DEVICE));
        assert!(rfc("onvif://www.onvif.org/location/country", DEVICE));
        assert!(!rfc("onvif://www.onvif.org/loc", DEVICE));
        assert!(!rfc("onvif://www.onvif.org/location/country/chin", DEVICE));
        assert!(!rfc(
            "onvif://www.onvif.org/location/country/china/beijing",
            DEVICE
        ));
        assert!(!rfc("onvif://www.onvif.org/country", DEVICE));
    }

    #[test]
    fn trailing_slash() {
        assert!(rfc("onvif://www.onvif.org/", DEVICE));
        assert!(rfc("onvif://www.onvif.org/location/", DEVICE));
        assert!(rfc(
            "onvif://www.onvif.org/location",
            "onvif://www.onvif.org/location/"
        ));
        assert!(rfc(
            "onvif://www.onvif.org/location/",
            "onvif://www.onvif.org/location/"
        ));
        assert!(!rfc(
            "onvif://www.onvif.org/location/x",
            "onvif://www.onvif.org/location/"
        ));
        // Only one trailing slash is forgiven; an empty segment elsewhere is compared.
        assert!(!rfc("onvif://www.onvif.org/location//", DEVICE));
    }

    #[test]
    fn scheme_and_authority_are_case_insensitive_the_path_is_not() {
        assert!(rfc("ONVIF://WWW.Onvif.ORG/location", DEVICE));
        assert!(!rfc("onvif://www.onvif.org/Location", DEVICE));
        assert!(!rfc("http://www.onvif.org/location", DEVICE));
        assert!(!rfc("onvif://www.onvif.com/location", DEVICE));
        assert!(!rfc("onvif:/location", DEVICE), "no authority against one");
    }

    #[test]
    fn percent_encoding_is_decoded_per_segment() {
        let named = "onvif://www.onvif.org/name/Rail%20Gate";
        assert!(rfc("onvif://www.onvif.org/name/Rail%20Gate", named));
        assert!(rfc("onvif://www.onvif.org/name/Rail Gate", named));
        assert!(rfc("onvif://www.onvif.org/%6Eame", named), "%6E is n");
        assert!(!rfc("onvif://www.onvif.org/name/Rail%20gate", named));
        assert!(rfc("onvif://%77ww.onvif.org/name", named));
        // An encoded slash is not a separator.
        assert!(!rfc("onvif://www.onvif.org/location%2Fcountry", DEVICE));
        assert!(rfc(
            "onvif://www.onvif.org/a%2Fb",
            "onvif://www.onvif.org/a%2fb/c"
        ));
        // A stray % is compared literally.
        assert!(rfc(
            "onvif://www.onvif.org/100%",
            "onvif://www.onvif.org/100%/x"
        ));
    }

    #[test]
    fn query_fragment_and_dot_segments() {
        assert!(rfc("onvif://www.onvif.org/location?x=1#y", DEVICE));
        assert!(!rfc("onvif://www.onvif.org/location/../location", DEVICE));
        assert!(!rfc("onvif://www.onvif.org/./location", DEVICE));
        assert!(!rfc("onvif://www.onvif.org/%2E%2E/location", DEVICE));
        assert!(!rfc(
            "onvif://www.onvif.org/a",
            "onvif://www.onvif.org/a/../b"
        ));
    }

    #[test]
    fn other_uri_shapes() {
        assert!(rfc("urn:x:y", "urn:x:y"));
        assert!(!rfc("urn:x", "urn:x:y"), "no slash, one segment");
        assert!(!rfc("not a uri", "not a uri"));
        assert!(!rfc("1x:y", "1x:y"), "schemes start with a letter");
        assert!(!rfc("", DEVICE));
    }

    #[test]
    fn strcmp0_is_exact() {
        assert!(scope_matches(Rule::Strcmp0, DEVICE, DEVICE));
        assert!(!scope_matches(
            Rule::Strcmp0,
            "onvif://www.onvif.org/location",
            DEVICE
        ));
        assert!(!scope_matches(
            Rule::Strcmp0,
            &DEVICE.to_uppercase(),
            DEVICE
        ));
    }

    #[test]
    fn rules_by_uri() {
        assert_eq!(rule(None), Some(Rule::Rfc3986));
        assert_eq!(rule(Some(MATCH_BY_RFC2396)), Some(Rule::Rfc3986));
        assert_eq!(rule(Some(MATCH_BY_RFC3986)), Some(Rule::Rfc3986));
        assert_eq!(rule(Some(MATCH_BY_STRCMP0)), Some(Rule::Strcmp0));
        assert_eq!(
            rule(Some("http://schemas.xmlsoap.org/ws/2005/04/discovery/ldap")),
            None
        );
    }

    #[test]
    fn every_requested_item_must_match() {
        let device = vec![
            DEVICE.to_string(),
            "onvif://www.onvif.org/name/x".to_string(),
        ];
        let ask = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(scopes_match(Rule::Rfc3986, &[], &device));
        assert!(scopes_match(
            Rule::Rfc3986,
            &ask(&[
                "onvif://www.onvif.org/name",
                "onvif://www.onvif.org/location"
            ]),
            &device
        ));
        assert!(!scopes_match(
            Rule::Rfc3986,
            &ask(&[
                "onvif://www.onvif.org/name",
                "onvif://www.onvif.org/hardware"
            ]),
            &device
        ));
        let types = [
            TypeName::onvif_device(),
            TypeName::network_video_transmitter(),
        ];
        let q = |ns: &str, l: &str| QName::new(ns, l);
        assert!(types_match(&[], &types));
        assert!(types_match(
            &[q(super::super::message::NS_DEVICE, "Device")],
            &types
        ));
        assert!(!types_match(
            &[
                q(super::super::message::NS_DEVICE, "Device"),
                q("urn:x", "Printer")
            ],
            &types
        ));
        assert!(!types_match(&[q("urn:x", "Device")], &types));
    }
}
