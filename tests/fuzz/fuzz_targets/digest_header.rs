//! The HTTP `Authorization: Digest` parser and verifier (`railgate::security::digest`).
//!
//! Each input is read twice:
//! - as raw header text: `verify` never panics and never accepts it (its nonce cannot carry
//!   this process's signature);
//! - as the parts of a well-behaved client's header (user name, cnonce, nonce count, URI form,
//!   algorithm, extra parameters, arbitrary characters quoted and escaped as RFC 7616 says)
//!   answering a real challenge: accepted with the user name exactly as sent when the count is
//!   above zero, the same header again refused as a replay, a wrong password refused as such.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use railgate::security::Secret;
use railgate::security::digest::{DigestAuth, DigestError};

const REALM: &str = "railgate";
const PASSWORD: &str = "fuzz password";
const PATH: &str = "/onvif/device_service";

#[derive(Arbitrary, Debug)]
struct Client {
    username: String,
    cnonce: String,
    nc: u32,
    sha256: bool,
    absolute_uri: Option<u8>,
    uppercase_response: bool,
    extra: Vec<(String, String)>,
    wrong_password: bool,
}

fn password_of(_user: &str) -> Option<Secret> {
    Some(Secret::new(PASSWORD))
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn hex_hash(sha256: bool, data: &str) -> String {
    use md5::Digest as _;
    let bytes: Vec<u8> = if sha256 {
        sha2::Sha256::digest(data.as_bytes()).to_vec()
    } else {
        md5::Md5::digest(data.as_bytes()).to_vec()
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn nonce_of(challenge: &str) -> String {
    let start = challenge.find("nonce=\"").expect("a nonce") + 7;
    let len = challenge[start..].find('"').expect("closed");
    challenge[start..start + len].to_string()
}

fuzz_target!(|data: &[u8]| {
    let auth = DigestAuth::new(REALM, Duration::from_secs(300));
    let now = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    if let Ok(raw) = std::str::from_utf8(data) {
        for at in [
            now,
            UNIX_EPOCH,
            SystemTime::UNIX_EPOCH + Duration::from_secs(u64::MAX / 4),
        ] {
            let r = auth.verify(raw, "POST", PATH, password_of, at);
            assert!(r.is_err(), "accepted a header it never challenged: {raw:?}");
        }
    }

    let Ok(client) = Client::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let nonce = nonce_of(&auth.challenges(now, false)[0]);
    let uri = match client.absolute_uri {
        None => PATH.to_string(),
        Some(n) => format!("http://192.0.2.{n}:8080{PATH}"),
    };
    let password = if client.wrong_password {
        "not it"
    } else {
        PASSWORD
    };
    let nc = format!("{:08x}", client.nc);
    let ha1 = hex_hash(
        client.sha256,
        &format!("{}:{REALM}:{password}", client.username),
    );
    let ha2 = hex_hash(client.sha256, &format!("POST:{uri}"));
    let mut response = hex_hash(
        client.sha256,
        &format!("{ha1}:{nonce}:{nc}:{}:auth:{ha2}", client.cnonce),
    );
    if client.uppercase_response {
        response.make_ascii_uppercase();
    }
    let algorithm = if client.sha256 { "SHA-256" } else { "MD5" };
    let mut header = format!(
        "Digest username={}, realm=\"{REALM}\", nonce=\"{nonce}\", uri={}, algorithm={algorithm}, \
         qop=auth, nc={nc}, cnonce={}, response=\"{response}\"",
        quote(&client.username),
        quote(&uri),
        quote(&client.cnonce),
    );
    for (name, value) in client.extra.iter().take(8) {
        let name: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
        if !name.is_empty() {
            header.push_str(&format!(", x{name}={}", quote(value)));
        }
    }
    let first = auth.verify(&header, "POST", PATH, password_of, now);
    let again = auth.verify(&header, "POST", PATH, password_of, now);
    if client.wrong_password {
        assert_eq!(first, Err(DigestError::WrongPassword), "{header}");
        assert_eq!(again, Err(DigestError::WrongPassword), "{header}");
    } else if client.nc == 0 {
        assert_eq!(first, Err(DigestError::Replayed), "{header}");
    } else {
        assert_eq!(first, Ok(client.username.clone()), "{header}");
        assert_eq!(again, Err(DigestError::Replayed), "{header}");
    }
});
