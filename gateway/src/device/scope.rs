//! Scope URIs: what makes one valid, and the scopes a device starts with.
//!
//! Fixed scopes describe the device and cannot be changed by clients: `hardware/<model>`,
//! `MacAddress/<mac>`, `SerialNumber/<serial>` and any `device.fixed_scopes` from the
//! configuration. Configurable scopes start as `name/<device.name>` and
//! `location/<device.location>` and are then owned by clients (persisted in the state
//! database). (The `type/` category of early ONVIF versions is gone from Core; a site that
//! needs one lists it in `device.fixed_scopes`.)
//!
//! A leaf: it imports nothing of the crate.

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

/// A MAC address as `aa:bb:cc:dd:ee:ff` (all zeros when unknown).
pub fn mac_text(mac: Option<[u8; 6]>) -> String {
    let bytes = mac.unwrap_or([0; 6]);
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The facts the fixed scopes are made of.
#[derive(Clone, Copy, Debug)]
pub struct FixedFacts<'a> {
    /// The model (`hardware/`).
    pub model: &'a str,
    /// The primary interface's MAC address, if the host has one (`MacAddress/`).
    pub mac: Option<[u8; 6]>,
    /// The serial number (`SerialNumber/`).
    pub serial_number: &'a str,
    /// Further fixed scopes from the configuration, kept as written.
    pub extra: &'a [String],
}

/// The fixed scopes, in the order GetScopes reports them (duplicates dropped).
pub fn fixed_scopes(facts: FixedFacts<'_>) -> Vec<String> {
    let mut fixed = vec![format!(
        "{ONVIF_SCOPE}hardware/{}",
        encode_segment(facts.model, false)
    )];
    if let Some(mac) = facts.mac {
        fixed.push(format!("{ONVIF_SCOPE}MacAddress/{}", mac_text(Some(mac))));
    }
    fixed.push(format!(
        "{ONVIF_SCOPE}SerialNumber/{}",
        encode_segment(facts.serial_number, false)
    ));
    for s in facts.extra {
        if !fixed.contains(s) {
            fixed.push(s.clone());
        }
    }
    fixed
}

/// The configurable scopes of a first start: `name/` and, if there is one, `location/`.
pub fn initial_scopes(name: &str, location: Option<&str>) -> Vec<String> {
    let mut seed = vec![format!("{ONVIF_SCOPE}name/{}", encode_segment(name, false))];
    if let Some(loc) = location {
        seed.push(format!(
            "{ONVIF_SCOPE}location/{}",
            encode_segment(loc, true)
        ));
    }
    seed
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

    #[test]
    fn fixed_and_initial_scopes() {
        let extra = vec![
            "onvif://www.onvif.org/Profile/T".to_string(),
            "onvif://www.onvif.org/hardware/rg%201".to_string(),
        ];
        let fixed = fixed_scopes(FixedFacts {
            model: "rg 1",
            mac: Some([0, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]),
            serial_number: "S/1",
            extra: &extra,
        });
        assert_eq!(
            fixed,
            [
                "onvif://www.onvif.org/hardware/rg%201",
                "onvif://www.onvif.org/MacAddress/00:1b:2c:3d:4e:5f",
                "onvif://www.onvif.org/SerialNumber/S%2F1",
                "onvif://www.onvif.org/Profile/T",
            ]
        );
        assert_eq!(
            initial_scopes("Rail Gate", Some("site/floor 1")),
            [
                "onvif://www.onvif.org/name/Rail%20Gate",
                "onvif://www.onvif.org/location/site/floor%201",
            ]
        );
        assert_eq!(mac_text(None), "00:00:00:00:00:00");
    }
}
