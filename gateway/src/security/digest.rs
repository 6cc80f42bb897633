//! HTTP Digest access authentication (RFC 7616), as ONVIF Core requires for HTTP.
//!
//! The challenge offers MD5 first and SHA-256 second (ONVIF Device Manager fails when SHA-256
//! comes first), both with `qop="auth"`. Nonces are self-validating (a timestamp and random
//! bytes, signed with a per-process key), expire after a configurable lifetime (answered with
//! `stale=true` so clients retry without asking the user), and each nonce-count may be used
//! once: a replayed `nc` is refused.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};

use super::{Secret, constant_time_eq, hex, random_bytes};

/// The hash algorithms offered, in order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// RFC 2617's default, required by ONVIF.
    Md5,
    /// RFC 7616.
    Sha256,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

/// Why a Digest `Authorization` was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Not a Digest header, or a required parameter is missing or unreadable.
    #[error("malformed Authorization header: {0}")]
    Malformed(&'static str),
    /// The password was right but the nonce was not issued by this process, has expired, or
    /// too many are in use: the client should retry with a new one (`stale=true`).
    #[error("stale nonce")]
    Stale,
    /// The password was right but the nonce-count was used before (a replay, or a client
    /// reordering requests): answered like a stale nonce.
    #[error("nonce count replayed")]
    Replayed,
    /// The digest URI is not the request's.
    #[error("digest uri does not match the request")]
    WrongUri,
    /// No such user.
    #[error("unknown user")]
    UnknownUser,
    /// The response does not match.
    #[error("wrong password")]
    WrongPassword,
}

impl DigestError {
    /// Whether this counts as a failed password guess.
    pub fn is_credential_failure(self) -> bool {
        matches!(self, DigestError::UnknownUser | DigestError::WrongPassword)
    }

    /// Whether the credentials were right and only the nonce was not: the challenge then says
    /// `stale=true`.
    pub fn is_stale(self) -> bool {
        matches!(self, DigestError::Stale | DigestError::Replayed)
    }
}

/// Verifies Digest credentials and issues challenges.
#[derive(Debug)]
pub struct DigestAuth {
    realm: String,
    key: [u8; 32],
    opaque: String,
    nonce_lifetime: Duration,
    /// Highest nc seen per nonce in use.
    counts: Mutex<NonceCounts>,
}

type HmacSha256 = Hmac<Sha256>;

/// Most nonces tracked at once (each is tracked from first use until it expires).
const MAX_TRACKED_NONCES: usize = 100_000;

/// The nonce counts of the nonces in use, and the order they came into use for pruning.
#[derive(Debug, Default)]
struct NonceCounts {
    last_nc: HashMap<String, u32>,
    order: std::collections::VecDeque<(String, u64)>,
}

impl DigestAuth {
    /// A verifier for `realm` whose nonces live `nonce_lifetime`.
    pub fn new(realm: impl Into<String>, nonce_lifetime: Duration) -> Self {
        DigestAuth {
            realm: realm.into(),
            key: random_bytes(),
            opaque: B64URL.encode(random_bytes::<12>()),
            nonce_lifetime,
            counts: Mutex::new(NonceCounts::default()),
        }
    }

    fn sign(&self, payload: &[u8]) -> [u8; 16] {
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    fn new_nonce(&self, now: SystemTime) -> String {
        let secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let mut raw = Vec::with_capacity(32);
        raw.extend_from_slice(&secs.to_be_bytes());
        raw.extend_from_slice(&random_bytes::<8>());
        let tag = self.sign(&raw);
        raw.extend_from_slice(&tag);
        B64URL.encode(raw)
    }

    /// Checks the nonce's signature; returns its issue time (seconds since the epoch).
    fn nonce_issued(&self, nonce: &str) -> Option<u64> {
        let raw = B64URL.decode(nonce).ok()?;
        if raw.len() != 32 {
            return None;
        }
        let (payload, tag) = raw.split_at(16);
        constant_time_eq(&self.sign(payload), tag)
            .then(|| u64::from_be_bytes(payload[..8].try_into().expect("8 bytes")))
    }

    /// The `WWW-Authenticate` header values of a 401: MD5 first, then SHA-256, sharing one
    /// nonce. `stale` tells the client only the nonce expired.
    pub fn challenges(&self, now: SystemTime, stale: bool) -> [String; 2] {
        let nonce = self.new_nonce(now);
        [Algorithm::Md5, Algorithm::Sha256].map(|alg| {
            let mut value = format!(
                r#"Digest realm="{}", qop="auth", algorithm={}, nonce="{}", opaque="{}""#,
                self.realm,
                alg.name(),
                nonce,
                self.opaque
            );
            if stale {
                value.push_str(", stale=true");
            }
            value
        })
    }

    /// Verifies an `Authorization: Digest ...` header for a request with `method` and
    /// request-target `uri`; returns the user name.
    pub fn verify(
        &self,
        header: &str,
        method: &str,
        uri: &str,
        password_of: impl FnOnce(&str) -> Option<Secret>,
        now: SystemTime,
    ) -> Result<String, DigestError> {
        let params = parse_params(header).ok_or(DigestError::Malformed("not a Digest header"))?;
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str())
        };
        let username = get("username").ok_or(DigestError::Malformed("no username"))?;
        let realm = get("realm").ok_or(DigestError::Malformed("no realm"))?;
        let nonce = get("nonce").ok_or(DigestError::Malformed("no nonce"))?;
        let digest_uri = get("uri").ok_or(DigestError::Malformed("no uri"))?;
        let response = get("response").ok_or(DigestError::Malformed("no response"))?;
        let algorithm = match get("algorithm").map(str::to_ascii_uppercase).as_deref() {
            None | Some("MD5") => Algorithm::Md5,
            Some("SHA-256") => Algorithm::Sha256,
            Some(_) => return Err(DigestError::Malformed("unsupported algorithm")),
        };
        if get("qop") != Some("auth") {
            return Err(DigestError::Malformed("qop must be auth"));
        }
        let nc_text = get("nc").ok_or(DigestError::Malformed("no nc"))?;
        let nc = u32::from_str_radix(nc_text, 16)
            .map_err(|_| DigestError::Malformed("nc is not hex"))?;
        let cnonce = get("cnonce").ok_or(DigestError::Malformed("no cnonce"))?;
        if realm != self.realm {
            return Err(DigestError::Malformed("wrong realm"));
        }
        if !uri_matches(digest_uri, uri) {
            return Err(DigestError::WrongUri);
        }
        // The response is checked first, and with the same hashing for unknown users, so that
        // a nonce problem is only ever reported (as stale) to someone who knows the password.
        let (password, known) = match password_of(username) {
            Some(p) => (p, true),
            None => (Secret::new("\u{0}unknown-user\u{0}"), false),
        };
        let ha1 = algorithm.hash(&format!("{username}:{realm}:{}", password.expose()));
        let ha2 = algorithm.hash(&format!("{method}:{digest_uri}"));
        let expected = algorithm.hash(&format!("{ha1}:{nonce}:{nc_text}:{cnonce}:auth:{ha2}"));
        let matches = constant_time_eq(
            expected.as_bytes(),
            response.to_ascii_lowercase().as_bytes(),
        );
        if !known {
            return Err(DigestError::UnknownUser);
        }
        if !matches {
            return Err(DigestError::WrongPassword);
        }
        // Right password. A nonce we did not issue (e.g. before a restart), an expired one or
        // a replayed count gets a fresh challenge marked stale, so the client retries silently.
        let issued = self.nonce_issued(nonce).ok_or(DigestError::Stale)?;
        let now_secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        if now_secs.saturating_sub(issued) > self.nonce_lifetime.as_secs() {
            return Err(DigestError::Stale);
        }
        let mut guard = self.counts.lock();
        let NonceCounts { last_nc, order } = &mut *guard;
        let lifetime = self.nonce_lifetime.as_secs();
        while let Some((front_nonce, front_issued)) = order.front() {
            if now_secs.saturating_sub(*front_issued) <= lifetime {
                break;
            }
            last_nc.remove(front_nonce);
            order.pop_front();
        }
        if !last_nc.contains_key(nonce) {
            if last_nc.len() >= MAX_TRACKED_NONCES {
                tracing::warn!(
                    limit = MAX_TRACKED_NONCES,
                    "too many live digest nonces; answering stale"
                );
                return Err(DigestError::Stale);
            }
            last_nc.insert(nonce.to_string(), 0);
            order.push_back((nonce.to_string(), issued));
        }
        let last = last_nc.get_mut(nonce).expect("inserted above");
        if nc <= *last {
            return Err(DigestError::Replayed);
        }
        *last = nc;
        Ok(username.to_string())
    }
}

/// The digest `uri` must name the resource requested: the same path (and query, if any).
fn uri_matches(digest_uri: &str, request_target: &str) -> bool {
    let strip = |u: &str| -> String {
        // Accept an absolute URI in the digest parameter by comparing its path part.
        match u.find("://") {
            Some(i) => u[i + 3..]
                .find('/')
                .map(|p| u[i + 3 + p..].to_string())
                .unwrap_or_else(|| "/".into()),
            None => u.to_string(),
        }
    };
    strip(digest_uri) == strip(request_target)
}

/// Parses `Digest k=v, k="v", ...` into pairs; `None` if it is not a Digest header.
fn parse_params(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim_start();
    let (scheme, rest) = rest.split_at(rest.find(char::is_whitespace)?);
    if !scheme.eq_ignore_ascii_case("Digest") {
        return None;
    }
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let name: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        chars.next_if_eq(&'=')?;
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let value = if chars.next_if_eq(&'"').is_some() {
            let mut v = String::new();
            loop {
                match chars.next()? {
                    '\\' => v.push(chars.next()?),
                    '"' => break,
                    c => v.push(c),
                }
            }
            v
        } else {
            std::iter::from_fn(|| chars.next_if(|c| *c != ',' && !c.is_whitespace())).collect()
        };
        if name.is_empty() || out.len() > 32 {
            return None;
        }
        out.push((name, value));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(name: &str) -> Option<Secret> {
        (name == "Mufasa").then(|| Secret::new("Circle of Life"))
    }

    fn header(
        auth: &DigestAuth,
        alg: Algorithm,
        nonce: &str,
        nc: &str,
        uri: &str,
        password: &str,
    ) -> String {
        let ha1 = alg.hash(&format!("Mufasa:{}:{password}", auth.realm));
        let ha2 = alg.hash(&format!("POST:{uri}"));
        let response = alg.hash(&format!("{ha1}:{nonce}:{nc}:0a4f113b:auth:{ha2}"));
        format!(
            r#"Digest username="Mufasa", realm="{}", nonce="{nonce}", uri="{uri}", algorithm={}, qop=auth, nc={nc}, cnonce="0a4f113b", response="{response}", opaque="{}""#,
            auth.realm,
            alg.name(),
            auth.opaque
        )
    }

    fn nonce_of(challenge: &str) -> String {
        let params = parse_params(challenge).unwrap();
        params.into_iter().find(|(k, _)| k == "nonce").unwrap().1
    }

    #[test]
    fn rfc7616_example_hashes() {
        // RFC 7616 section 3.9.1: the SHA-256 and MD5 responses of its example.
        let (user, realm, pass) = ("Mufasa", "http-auth@example.org", "Circle of Life");
        let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        for (alg, want) in [
            (Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
            (
                Algorithm::Sha256,
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ] {
            let ha1 = alg.hash(&format!("{user}:{realm}:{pass}"));
            let ha2 = alg.hash("GET:/dir/index.html");
            assert_eq!(
                alg.hash(&format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")),
                want
            );
        }
    }

    #[test]
    fn challenge_offers_md5_first() {
        let auth = DigestAuth::new("railgate", Duration::from_secs(300));
        let [first, second] = auth.challenges(SystemTime::now(), false);
        assert!(first.contains("algorithm=MD5") && second.contains("algorithm=SHA-256"));
        assert_eq!(nonce_of(&first), nonce_of(&second));
        assert!(auth.challenges(SystemTime::now(), true)[0].ends_with("stale=true"));
    }

    #[test]
    fn verifies_both_algorithms_and_refuses_replay() {
        let auth = DigestAuth::new("railgate", Duration::from_secs(300));
        let now = SystemTime::now();
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            let nonce = nonce_of(&auth.challenges(now, false)[0]);
            let h = header(
                &auth,
                alg,
                &nonce,
                "00000001",
                "/onvif/device_service",
                "Circle of Life",
            );
            assert_eq!(
                auth.verify(&h, "POST", "/onvif/device_service", pw, now),
                Ok("Mufasa".into())
            );
            assert_eq!(
                auth.verify(&h, "POST", "/onvif/device_service", pw, now),
                Err(DigestError::Replayed)
            );
            assert!(DigestError::Replayed.is_stale());
            let next = header(
                &auth,
                alg,
                &nonce,
                "00000002",
                "/onvif/device_service",
                "Circle of Life",
            );
            assert_eq!(
                auth.verify(&next, "POST", "/onvif/device_service", pw, now),
                Ok("Mufasa".into())
            );
        }
    }

    #[test]
    fn refuses_wrong_password_stale_forged_nonce_and_other_uri() {
        let auth = DigestAuth::new("railgate", Duration::from_secs(300));
        let now = SystemTime::now();
        let nonce = nonce_of(&auth.challenges(now, false)[0]);
        let bad = header(
            &auth,
            Algorithm::Md5,
            &nonce,
            "00000001",
            "/onvif/device_service",
            "wrong",
        );
        assert_eq!(
            auth.verify(&bad, "POST", "/onvif/device_service", pw, now),
            Err(DigestError::WrongPassword)
        );
        let good = header(
            &auth,
            Algorithm::Md5,
            &nonce,
            "00000001",
            "/onvif/device_service",
            "Circle of Life",
        );
        let later = now + Duration::from_secs(301);
        assert_eq!(
            auth.verify(&good, "POST", "/onvif/device_service", pw, later),
            Err(DigestError::Stale)
        );
        assert_eq!(
            auth.verify(&bad, "POST", "/onvif/device_service", pw, later),
            Err(DigestError::WrongPassword),
            "stale is only said to a client that knows the password"
        );
        assert_eq!(
            auth.verify(&good, "POST", "/onvif/event_service", pw, now),
            Err(DigestError::WrongUri)
        );
        let other = DigestAuth::new("railgate", Duration::from_secs(300));
        let foreign = nonce_of(&other.challenges(now, false)[0]);
        let forged = header(
            &auth,
            Algorithm::Md5,
            &foreign,
            "00000001",
            "/onvif/device_service",
            "Circle of Life",
        );
        assert_eq!(
            auth.verify(&forged, "POST", "/onvif/device_service", pw, now),
            Err(DigestError::Stale)
        );
        assert!(matches!(
            auth.verify("Basic abc", "POST", "/", pw, now),
            Err(DigestError::Malformed(_))
        ));
        assert!(matches!(
            auth.verify("Digest username=\"x", "POST", "/", pw, now),
            Err(DigestError::Malformed(_))
        ));
    }
}
