//! HTTP Digest access authentication (RFC 7616), as ONVIF Core requires for HTTP.
//!
//! The challenge offers MD5 first and SHA-256 second (ONVIF Device Manager fails when SHA-256
//! comes first), both with `qop="auth"`. Nonces are self-validating (a timestamp in ms and random
//! bytes, signed with a per-process key), expire after a configurable lifetime (answered with
//! `stale=true` so clients retry without asking the user), and each nonce-count may be used
//! once: a replayed `nc` is refused.

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
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
    /// How long a nonce is accepted, in ms (a reload may change it).
    nonce_lifetime_ms: std::sync::atomic::AtomicU64,
    /// Nonces issued before this (Unix ms) are stale (set when a reload lengthened the
    /// lifetime).
    issued_floor_ms: std::sync::atomic::AtomicU64,
    /// Highest nc seen per nonce in use, per user.
    counts: Mutex<NonceCounts>,
}

type HmacSha256 = Hmac<Sha256>;

/// The default of [`DigestAuth::with_nonces_per_user`].
pub const DEFAULT_NONCES_PER_USER: usize = 4096;

/// A raw nonce: 8 bytes of issue time, 8 random, 16 of signature.
type RawNonce = [u8; 32];

/// The nonce counts of the nonces in use, one table per user (only users whose password
/// verified get one). A user's table holds at most `per_user` nonces; when it is full, its
/// least recently used nonce is dropped and the user's watermark raised to that nonce's issue
/// time: a nonce of that user not in the table and issued at or before the watermark is then
/// answered `stale=true` (the client takes a new challenge, without asking the user), so a
/// dropped nonce's counts can never be replayed.
#[derive(Debug)]
struct NonceCounts {
    users: HashMap<String, UserNonces>,
    per_user: usize,
    /// Use counter, for least-recently-used order.
    tick: u64,
}

#[derive(Debug, Default)]
struct UserNonces {
    /// Nonce to (highest nc seen, last use tick, issue time).
    last_nc: HashMap<RawNonce, (u32, u64, u64)>,
    /// Last use tick to nonce, least recent first.
    lru: BTreeMap<u64, RawNonce>,
    /// Issue time (ms) at or before which an untracked nonce is answered stale.
    watermark: Option<u64>,
}

/// A Digest request whose response verified, before its nonce count is used
/// ([`DigestAuth::count`]).
#[derive(Debug)]
pub struct Authenticated {
    username: String,
    nonce: RawNonce,
    issued: u64,
    nc: u32,
}

impl Authenticated {
    /// The user.
    pub fn username(&self) -> &str {
        &self.username
    }
}

impl DigestAuth {
    /// A verifier for `realm` whose nonces live `nonce_lifetime`.
    pub fn new(realm: impl Into<String>, nonce_lifetime: Duration) -> Self {
        DigestAuth {
            realm: realm.into(),
            key: random_bytes(),
            opaque: B64URL.encode(random_bytes::<12>()),
            nonce_lifetime_ms: std::sync::atomic::AtomicU64::new(millis(nonce_lifetime)),
            issued_floor_ms: std::sync::atomic::AtomicU64::new(0),
            counts: Mutex::new(NonceCounts {
                users: HashMap::new(),
                per_user: DEFAULT_NONCES_PER_USER,
                tick: 0,
            }),
        }
    }

    /// The same, tracking at most `per_user` nonces for each user.
    pub fn with_nonces_per_user(mut self, per_user: usize) -> Self {
        self.counts.get_mut().per_user = per_user.max(1);
        self
    }

    /// Nonces tracked now, over all users (for figures and tests).
    pub fn tracked(&self) -> usize {
        self.counts
            .lock()
            .users
            .values()
            .map(|u| u.last_nc.len())
            .sum()
    }

    /// A new nonce lifetime (a reload at `now`): nonces issued before are judged by it too,
    /// except that a longer one does not revive nonces the shorter one had expired (their
    /// counts may be forgotten, so a replay would pass): those stay stale.
    pub fn set_nonce_lifetime(&self, lifetime: Duration, now: SystemTime) {
        let old = self.lifetime_ms();
        let new = millis(lifetime);
        if new > old {
            let floor = unix_ms(now).saturating_sub(old);
            self.issued_floor_ms
                .fetch_max(floor, std::sync::atomic::Ordering::Relaxed);
        }
        self.nonce_lifetime_ms
            .store(new, std::sync::atomic::Ordering::Relaxed);
    }

    fn lifetime_ms(&self) -> u64 {
        self.nonce_lifetime_ms
            .load(std::sync::atomic::Ordering::Relaxed)
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
        let ms = unix_ms(now);
        let mut raw = Vec::with_capacity(32);
        raw.extend_from_slice(&ms.to_be_bytes());
        raw.extend_from_slice(&random_bytes::<8>());
        let tag = self.sign(&raw);
        raw.extend_from_slice(&tag);
        B64URL.encode(raw)
    }

    /// Checks the nonce's signature; returns it raw and its issue time (milliseconds since
    /// the epoch).
    fn nonce_issued(&self, nonce: &str) -> Option<(RawNonce, u64)> {
        let raw: RawNonce = B64URL.decode(nonce).ok()?.try_into().ok()?;
        let (payload, tag) = raw.split_at(16);
        let mut ms = [0u8; 8];
        ms.copy_from_slice(&payload[..8]);
        constant_time_eq(&self.sign(payload), tag).then(|| (raw, u64::from_be_bytes(ms)))
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
    /// request-target `uri` ([`Self::authenticate`] then [`Self::count`]); returns the user
    /// name.
    pub fn verify(
        &self,
        header: &str,
        method: &str,
        uri: &str,
        password_of: impl FnOnce(&str) -> Option<Secret>,
        now: SystemTime,
    ) -> Result<String, DigestError> {
        let authenticated = self.authenticate(header, method, uri, password_of, now)?;
        self.count(authenticated)
    }

    /// Checks the header's form, response (password) and nonce (issued here, not expired),
    /// without using its nonce count.
    pub fn authenticate(
        &self,
        header: &str,
        method: &str,
        uri: &str,
        password_of: impl FnOnce(&str) -> Option<Secret>,
        now: SystemTime,
    ) -> Result<Authenticated, DigestError> {
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
        let (raw, issued) = self.nonce_issued(nonce).ok_or(DigestError::Stale)?;
        if unix_ms(now).saturating_sub(issued) > self.lifetime_ms()
            || issued
                < self
                    .issued_floor_ms
                    .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(DigestError::Stale);
        }
        Ok(Authenticated {
            username: username.to_string(),
            nonce: raw,
            issued,
            nc,
        })
    }

    /// Whether [`Self::count`] would refuse this request now (a replayed count, or a nonce
    /// its user's table dropped), without changing anything: the gate asks first, so that
    /// replays do not use up the user's rate.
    pub fn refused(&self, a: &Authenticated) -> Option<DigestError> {
        let counts = self.counts.lock();
        let table = counts.users.get(&a.username)?;
        match table.last_nc.get(&a.nonce) {
            Some(&(last, _, _)) if a.nc <= last => Some(DigestError::Replayed),
            Some(_) => None,
            None => table
                .watermark
                .filter(|w| a.issued <= *w)
                .map(|_| DigestError::Stale),
        }
    }

    /// Uses an authenticated request's nonce count in its user's table: refused if the count
    /// is not above the highest seen, or (stale) if the nonce is not tracked and not newer
    /// than what the table dropped.
    pub fn count(&self, a: Authenticated) -> Result<String, DigestError> {
        // Counts start at 00000001 (RFC 7616 §3.4): 0 is never above what was seen.
        if a.nc == 0 {
            return Err(DigestError::Replayed);
        }
        let mut guard = self.counts.lock();
        let NonceCounts {
            users,
            per_user,
            tick,
        } = &mut *guard;
        *tick = tick.wrapping_add(1);
        let now_tick = *tick;
        if !users.contains_key(&a.username) {
            // Tables of users with nothing left to remember go: every nonce tracked or dropped
            // expired (issued before this one's issue time minus the lifetime; this request's
            // nonce is no newer than now, so this keeps rather more than needed).
            let oldest_live = a.issued.saturating_sub(self.lifetime_ms());
            users.retain(|_, u| {
                u.watermark.is_some_and(|w| w >= oldest_live)
                    || u.last_nc.values().any(|&(_, _, at)| at >= oldest_live)
            });
            users.insert(a.username.clone(), UserNonces::default());
        }
        let table = users.get_mut(&a.username).expect("inserted above");
        match table.last_nc.get_mut(&a.nonce) {
            Some((last, used, _)) => {
                if a.nc <= *last {
                    return Err(DigestError::Replayed);
                }
                *last = a.nc;
                table.lru.remove(used);
                *used = now_tick;
                table.lru.insert(now_tick, a.nonce);
            }
            None => {
                if table.watermark.is_some_and(|w| a.issued <= w) {
                    return Err(DigestError::Stale);
                }
                if table.last_nc.len() >= *per_user
                    && let Some((_, oldest)) = table.lru.pop_first()
                    && let Some((_, _, issued)) = table.last_nc.remove(&oldest)
                {
                    table.watermark = Some(table.watermark.map_or(issued, |w| w.max(issued)));
                    if a.issued <= issued {
                        return Err(DigestError::Stale);
                    }
                }
                table.last_nc.insert(a.nonce, (a.nc, now_tick, a.issued));
                table.lru.insert(now_tick, a.nonce);
            }
        }
        Ok(a.username)
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

/// Milliseconds since the epoch (0 before it).
fn unix_ms(t: SystemTime) -> u64 {
    u64::try_from(t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(u64::MAX)
}

/// The `username` of a Digest `Authorization` header, if it can be read (for the lockout,
/// which is keyed by address and user name before any credential is checked).
pub fn username_of(header: &str) -> Option<String> {
    parse_params(header)?
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("username"))
        .map(|(_, v)| v)
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

/// `d` in whole milliseconds (saturating).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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
    fn a_longer_lifetime_by_reload_does_not_revive_expired_nonces() {
        let auth = DigestAuth::new("railgate", Duration::from_secs(300));
        let issued = SystemTime::now();
        let old = nonce_of(&auth.challenges(issued, false)[0]);
        let reload = issued + Duration::from_secs(400);
        let fresh = nonce_of(&auth.challenges(reload, false)[0]);
        auth.set_nonce_lifetime(Duration::from_secs(3600), reload);
        let h = |nonce: &str| {
            header(
                &auth,
                Algorithm::Md5,
                nonce,
                "00000001",
                "/onvif/device_service",
                "Circle of Life",
            )
        };
        let later = reload + Duration::from_secs(10);
        assert_eq!(
            auth.verify(&h(&old), "POST", "/onvif/device_service", pw, later),
            Err(DigestError::Stale),
            "expired under the old lifetime: its counts may be gone"
        );
        assert!(
            auth.verify(
                &h(&fresh),
                "POST",
                "/onvif/device_service",
                pw,
                later + Duration::from_secs(600)
            )
            .is_ok(),
            "a nonce issued at the reload lives the new lifetime"
        );
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

    fn pw2(name: &str) -> Option<Secret> {
        matches!(name, "Mufasa" | "Simba").then(|| Secret::new("Circle of Life"))
    }

    fn header_of(auth: &DigestAuth, user: &str, nonce: &str, nc: u32) -> String {
        header(
            auth,
            Algorithm::Md5,
            nonce,
            &format!("{nc:08x}"),
            "/onvif/device_service",
            "Circle of Life",
        )
        .replace("username=\"Mufasa\"", &format!("username=\"{user}\""))
        .replace(
            &response_of(auth, "Mufasa", nonce, nc),
            &response_of(auth, user, nonce, nc),
        )
    }

    fn response_of(auth: &DigestAuth, user: &str, nonce: &str, nc: u32) -> String {
        let alg = Algorithm::Md5;
        let ha1 = alg.hash(&format!("{user}:{}:Circle of Life", auth.realm));
        let ha2 = alg.hash("POST:/onvif/device_service");
        alg.hash(&format!("{ha1}:{nonce}:{nc:08x}:0a4f113b:auth:{ha2}"))
    }

    #[test]
    fn a_count_of_zero_is_refused_even_on_a_fresh_nonce() {
        // Found by the digest_header fuzz target after the per-user tables: the first use of
        // a nonce took nc=00000000, below the first count a client may send.
        let auth = DigestAuth::new("railgate", Duration::from_secs(300));
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let nonce = nonce_of(&auth.challenges(now, false)[0]);
        let uri = "/onvif/device_service";
        assert_eq!(
            auth.verify(&header_of(&auth, "Simba", &nonce, 0), "POST", uri, pw2, now),
            Err(DigestError::Replayed)
        );
        assert!(
            auth.verify(&header_of(&auth, "Simba", &nonce, 1), "POST", uri, pw2, now)
                .is_ok()
        );
    }

    #[test]
    fn nonce_counts_are_bounded_per_user_and_a_dropped_nonce_is_stale() {
        let auth = DigestAuth::new("railgate", Duration::from_secs(300)).with_nonces_per_user(3);
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let uri = "/onvif/device_service";
        // Simba's nonces, one issued per second.
        let simba: Vec<String> = (0..10)
            .map(|i| nonce_of(&auth.challenges(t0 + Duration::from_secs(i), false)[0]))
            .collect();
        let now = t0 + Duration::from_secs(20);
        for n in &simba[..3] {
            assert!(
                auth.verify(&header_of(&auth, "Simba", n, 1), "POST", uri, pw2, now)
                    .is_ok()
            );
        }
        // Mufasa's nonce, used while Simba's table is full.
        let mufasa = nonce_of(&auth.challenges(t0, false)[0]);
        assert!(
            auth.verify(
                &header_of(&auth, "Mufasa", &mufasa, 1),
                "POST",
                uri,
                pw2,
                now
            )
            .is_ok()
        );
        // A fourth nonce of Simba's drops its least recently used one (simba[0], issued at t0).
        assert!(
            auth.verify(
                &header_of(&auth, "Simba", &simba[3], 1),
                "POST",
                uri,
                pw2,
                now
            )
            .is_ok()
        );
        assert_eq!(auth.tracked(), 4, "3 of Simba's and 1 of Mufasa's");
        assert_eq!(
            auth.verify(
                &header_of(&auth, "Simba", &simba[0], 2),
                "POST",
                uri,
                pw2,
                now
            ),
            Err(DigestError::Stale),
            "a dropped nonce is answered stale, never accepted with any count"
        );
        // Recently used ones stay: using simba[1] again makes simba[2] the least recent.
        assert!(
            auth.verify(
                &header_of(&auth, "Simba", &simba[1], 2),
                "POST",
                uri,
                pw2,
                now
            )
            .is_ok()
        );
        assert!(
            auth.verify(
                &header_of(&auth, "Simba", &simba[4], 1),
                "POST",
                uri,
                pw2,
                now
            )
            .is_ok()
        );
        assert!(
            auth.verify(
                &header_of(&auth, "Simba", &simba[1], 3),
                "POST",
                uri,
                pw2,
                now
            )
            .is_ok()
        );
        assert_eq!(
            auth.verify(
                &header_of(&auth, "Simba", &simba[2], 2),
                "POST",
                uri,
                pw2,
                now
            ),
            Err(DigestError::Stale)
        );
        // Mufasa's older nonce was never touched by Simba's use.
        assert!(
            auth.verify(
                &header_of(&auth, "Mufasa", &mufasa, 2),
                "POST",
                uri,
                pw2,
                now
            )
            .is_ok()
        );
        assert_eq!(
            auth.verify(
                &header_of(&auth, "Mufasa", &mufasa, 2),
                "POST",
                uri,
                pw2,
                now
            ),
            Err(DigestError::Replayed)
        );
        // A new challenge (issued after the watermark) works for Simba at once.
        let fresh = nonce_of(&auth.challenges(now, false)[0]);
        assert!(
            auth.verify(&header_of(&auth, "Simba", &fresh, 1), "POST", uri, pw2, now)
                .is_ok()
        );
        assert!(auth.tracked() <= 4);
    }

    #[test]
    fn bytes_per_nonce_entry() {
        let per_user = 50_000;
        let auth =
            DigestAuth::new("railgate", Duration::from_secs(300)).with_nonces_per_user(per_user);
        let now = SystemTime::now();
        let nonces: Vec<String> = (0..per_user)
            .map(|_| nonce_of(&auth.challenges(now, false)[0]))
            .collect();
        let headers: Vec<String> = nonces
            .iter()
            .map(|n| header_of(&auth, "Mufasa", n, 1))
            .collect();
        let before = crate::security::wsse::rss_for_tests();
        for h in &headers {
            assert!(
                auth.verify(h, "POST", "/onvif/device_service", pw, now)
                    .is_ok()
            );
        }
        let after = crate::security::wsse::rss_for_tests();
        assert_eq!(auth.tracked(), per_user);
        if let (Some(b), Some(a)) = (before, after) {
            println!(
                "digest nonce table: {} bytes per entry (RSS growth over {per_user} entries)",
                a.saturating_sub(b) / per_user as u64
            );
        }
    }

    #[test]
    fn username_is_read_for_the_lockout() {
        assert_eq!(
            username_of(r#"Digest username="a b", realm="x""#).as_deref(),
            Some("a b")
        );
        assert_eq!(username_of("Digest realm=\"x\""), None);
        assert_eq!(username_of("Basic abc"), None);
    }

    #[test]
    fn a_table_whose_dropped_nonce_is_live_is_kept() {
        let auth = DigestAuth::new("railgate", Duration::from_secs(300)).with_nonces_per_user(2);
        let uri = "/onvif/device_service";
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let (a, c) = (
            nonce_of(&auth.challenges(t0, false)[0]),
            nonce_of(&auth.challenges(t0 + Duration::from_millis(1), false)[0]),
        );
        let t200 = t0 + Duration::from_secs(200);
        let new = nonce_of(&auth.challenges(t200, false)[0]);
        // The new nonce is used first, then an old one; a third (old) one drops the new one
        // (least recently used) and is itself refused, being no newer than it: only the
        // old nonce `a` stays tracked.
        for n in [&new, &a] {
            assert!(
                auth.verify(&header_of(&auth, "Simba", n, 1), "POST", uri, pw2, t200)
                    .is_ok()
            );
        }
        assert_eq!(
            auth.verify(&header_of(&auth, "Simba", &c, 1), "POST", uri, pw2, t200),
            Err(DigestError::Stale)
        );
        // 310 s in, the tracked one has expired, the dropped one has not. Another user's
        // first login prunes idle tables: Simba's is kept for its watermark ...
        let t310 = t0 + Duration::from_secs(310);
        let m = nonce_of(&auth.challenges(t310, false)[0]);
        assert!(
            auth.verify(&header_of(&auth, "Mufasa", &m, 1), "POST", uri, pw2, t310)
                .is_ok()
        );
        // ... so the dropped nonce's used count is still not accepted again.
        assert_eq!(
            auth.verify(&header_of(&auth, "Simba", &new, 1), "POST", uri, pw2, t310),
            Err(DigestError::Stale)
        );
    }
}
