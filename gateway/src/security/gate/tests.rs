//! The gate's decisions, table by table, on a simulated clock: every access class for every
//! user level, each UsernameToken and each Digest failure, both schemes at once, requests
//! without credentials, PRE_AUTH, and the lockout's transitions. No test sleeps: time is the
//! fixture's [`Now`], moved by [`Fixture::advance`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use md5::Md5;
use sha2::Digest as _;

use super::*;
use crate::security::digest::DigestAuth;
use crate::security::hex;
use crate::security::throttle::{Throttle, ThrottleConfig};
use crate::security::user_rate::{UserRate, UserRateConfig};
use crate::security::wsse::{WsseConfig, WsseVerifier, password_digest};
use crate::soap::{Service, parse_envelope};
use crate::xml::Limits;
use crate::xml::ns::TDS;

const REALM: &str = "railgate";
const URI: &str = "/onvif/device_service";
const PEER: &str = "192.0.2.7";
const OTHER_PEER: &str = "192.0.2.8";

/// The users every fixture has: name, password, level.
const USERS: &[(&str, &str, UserLevel)] = &[
    ("admin", "admin-password", UserLevel::Administrator),
    ("operator", "operator-password", UserLevel::Operator),
    ("user", "user-password", UserLevel::User),
    ("guest", "guest-password", UserLevel::Anonymous),
];

fn password_of(user: &str) -> &'static str {
    USERS
        .iter()
        .find(|(u, ..)| *u == user)
        .map(|(_, p, _)| *p)
        .unwrap_or("no-such-password")
}

/// A credential store in memory.
struct Users(HashMap<String, (Secret, UserLevel)>);

impl Credentials for Users {
    fn credentials(&self, username: &str) -> Option<(Secret, UserLevel)> {
        self.0.get(username).cloned()
    }
}

/// The knobs the tests turn.
#[derive(Clone, Copy)]
struct Settings {
    max_failures: u32,
    max_address_failures: u32,
    replay_capacity: usize,
    nonces_per_user: usize,
    rate: UserRateConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_failures: 5,
            max_address_failures: 50,
            replay_capacity: 1000,
            nonces_per_user: 4096,
            rate: UserRateConfig::default(),
        }
    }
}

/// What the gate decided, comparable.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Allow(Option<&'static str>, UserLevel),
    Challenge { stale: bool },
    NotAuthorized,
    Locked(Duration),
    RateLimited,
}

use Outcome::{Challenge, Locked, NotAuthorized, RateLimited};

fn allow(user: &'static str) -> Outcome {
    let level = USERS
        .iter()
        .find(|(u, ..)| *u == user)
        .map(|(.., l)| *l)
        .expect("a fixture user");
    Outcome::Allow(Some(user), level)
}

fn anonymous() -> Outcome {
    Outcome::Allow(None, UserLevel::Anonymous)
}

/// A gate over [`USERS`] with a simulated clock.
struct Fixture {
    gate: Gate,
    now: Now,
    nonces: u64,
}

impl Fixture {
    fn new(s: Settings) -> Fixture {
        let users = Users(
            USERS
                .iter()
                .map(|(u, p, l)| (u.to_string(), (Secret::new(*p), *l)))
                .collect(),
        );
        let gate = Gate::new(
            Arc::new(users),
            WsseVerifier::new(WsseConfig {
                max_skew: Some(Duration::from_secs(300)),
                replay_capacity: s.replay_capacity,
                ..WsseConfig::default()
            }),
            DigestAuth::new(REALM, Duration::from_secs(300))
                .with_nonces_per_user(s.nonces_per_user),
            Throttle::new(ThrottleConfig {
                max_failures: s.max_failures,
                max_address_failures: s.max_address_failures,
                window: Duration::from_secs(60),
                lockout: Duration::from_secs(30),
                max_lockout: Duration::from_secs(900),
                ..ThrottleConfig::default()
            }),
            UserRate::new(s.rate),
        );
        Fixture {
            gate,
            now: Now {
                instant: Instant::now(),
                wall: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            },
            nonces: 0,
        }
    }

    fn advance(&mut self, secs: u64) {
        let d = Duration::from_secs(secs);
        self.now.instant += d;
        self.now.wall += d;
    }

    /// The wall clock `offset_secs` from now, as a client writes Created.
    fn created(&self, offset_secs: i64) -> String {
        let at = DateTime::<Utc>::from(self.now.wall) + chrono::Duration::seconds(offset_secs);
        at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    fn fresh_nonce(&mut self) -> Vec<u8> {
        self.nonces += 1;
        self.nonces.to_be_bytes().to_vec()
    }

    /// A valid PasswordDigest token of `user` (Created now, a fresh nonce).
    fn token(&mut self, user: &str) -> String {
        self.token_with(user, password_of(user), 0)
    }

    /// A PasswordDigest token with this password, Created `offset_secs` from now.
    fn token_with(&mut self, user: &str, password: &str, offset_secs: i64) -> String {
        let nonce = self.fresh_nonce();
        let created = self.created(offset_secs);
        token_xml(
            user,
            &password_digest(&nonce, &created, password),
            Some(DIGEST_TYPE),
            Some(&B64.encode(&nonce)),
            Some(&created),
        )
    }

    /// A nonce this gate issued, from the challenge of a 401.
    fn issued_nonce(&self) -> String {
        let challenge = &self.gate.challenges(self.now, false)[0];
        let start = challenge.find("nonce=\"").expect("a nonce") + 7;
        let len = challenge[start..].find('"').expect("a closing quote");
        challenge[start..start + len].to_string()
    }

    /// A valid Digest `Authorization` of `user` on a freshly issued nonce.
    fn digest(&self, user: &str) -> String {
        digest_header(user, REALM, password_of(user), &self.issued_nonce(), URI, 1)
    }

    fn decide(&self, class: AccessClass, header: &str, authorization: Option<&str>) -> Outcome {
        self.decide_from(PEER, class, header, authorization)
    }

    fn decide_from(
        &self,
        peer: &str,
        class: AccessClass,
        header: &str,
        authorization: Option<&str>,
    ) -> Outcome {
        let op = Operation {
            service: Service::Device,
            ns: TDS,
            name: "GetDeviceInformation",
            class,
        };
        let envelope = parse_envelope(envelope_xml(header).as_bytes(), &Limits::default())
            .expect("a well-formed test envelope");
        let http = HttpAuth {
            authorization,
            method: "POST",
            uri: URI,
            peer: peer.parse::<IpAddr>().expect("an address"),
        };
        match self.gate.decide(&op, &envelope, &http, self.now) {
            Decision::Allow(p) => Outcome::Allow(
                p.username.map(|u| {
                    USERS
                        .iter()
                        .find(|(name, ..)| *name == u)
                        .map(|(name, ..)| *name)
                        .expect("a fixture user")
                }),
                p.level,
            ),
            Decision::Challenge { stale, .. } => Challenge { stale },
            Decision::Refuse(fault) => {
                assert_eq!(fault, SoapFault::not_authorized());
                NotAuthorized
            }
            Decision::Locked(retry) => Locked(retry),
            Decision::RateLimited(_) => RateLimited,
        }
    }

    /// A request that succeeds unless the address is locked: a Digest login, which no
    /// UsernameToken state (replay cache) can affect.
    fn probe(&self) -> Outcome {
        self.probe_as("user")
    }

    /// The same login as `user`.
    fn probe_as(&self, user: &str) -> Outcome {
        self.decide(AccessClass::ReadSystem, "", Some(&self.digest(user)))
    }
}

const DIGEST_TYPE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";
const TEXT_TYPE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";

fn token_xml(
    user: &str,
    password: &str,
    password_type: Option<&str>,
    nonce: Option<&str>,
    created: Option<&str>,
) -> String {
    let mut x = format!("<wsse:Security><wsse:UsernameToken><wsse:Username>{user}</wsse:Username>");
    match password_type {
        Some(t) => x.push_str(&format!(
            r#"<wsse:Password Type="{t}">{password}</wsse:Password>"#
        )),
        None => x.push_str(&format!("<wsse:Password>{password}</wsse:Password>")),
    }
    if let Some(n) = nonce {
        x.push_str(&format!("<wsse:Nonce>{n}</wsse:Nonce>"));
    }
    if let Some(c) = created {
        x.push_str(&format!("<wsu:Created>{c}</wsu:Created>"));
    }
    x.push_str("</wsse:UsernameToken></wsse:Security>");
    x
}

fn envelope_xml(header: &str) -> String {
    format!(
        concat!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope""#,
            r#" xmlns:tds="http://www.onvif.org/ver10/device/wsdl""#,
            r#" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd""#,
            r#" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">"#,
            "<s:Header>{}</s:Header><s:Body><tds:GetDeviceInformation/></s:Body></s:Envelope>"
        ),
        header
    )
}

/// What a Digest client sends (RFC 7616, MD5, qop=auth).
fn digest_header(
    user: &str,
    realm: &str,
    password: &str,
    nonce: &str,
    uri: &str,
    nc: u32,
) -> String {
    let h = |s: String| hex(&Md5::digest(s.as_bytes()));
    let ha1 = h(format!("{user}:{realm}:{password}"));
    let ha2 = h(format!("POST:{uri}"));
    let nc = format!("{nc:08x}");
    let response = h(format!("{ha1}:{nonce}:{nc}:c0ffee:auth:{ha2}"));
    format!(
        r#"Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5, qop=auth, nc={nc}, cnonce="c0ffee", response="{response}""#
    )
}

const CLASSES: [AccessClass; 8] = [
    AccessClass::PreAuth,
    AccessClass::ReadSystem,
    AccessClass::ReadSystemSensitive,
    AccessClass::ReadSystemSecret,
    AccessClass::WriteSystem,
    AccessClass::Unrecoverable,
    AccessClass::ReadMedia,
    AccessClass::Actuate,
];

#[test]
fn every_access_class_for_every_user_level() {
    // ONVIF Core's default access policy (OPERATIONS.md, section 7): which of Administrator,
    // Operator, User and Anonymous may call each class.
    let policy: [(AccessClass, [bool; 4]); 8] = [
        (AccessClass::PreAuth, [true, true, true, true]),
        (AccessClass::ReadSystem, [true, true, true, false]),
        (AccessClass::ReadSystemSensitive, [true, true, false, false]),
        (AccessClass::ReadSystemSecret, [true, false, false, false]),
        (AccessClass::WriteSystem, [true, false, false, false]),
        (AccessClass::Unrecoverable, [true, false, false, false]),
        (AccessClass::ReadMedia, [true, true, true, false]),
        (AccessClass::Actuate, [true, true, false, false]),
    ];
    assert_eq!(policy.map(|(c, _)| c), CLASSES, "every class, once");
    let mut fx = Fixture::new(Settings::default());
    for (class, allowed) in policy {
        for (&(user, _, level), may) in USERS.iter().zip(allowed) {
            // PRE_AUTH is answered before credentials are looked at: anonymous, whoever asks.
            let want = match (class, may) {
                (AccessClass::PreAuth, _) => anonymous(),
                (_, true) => Outcome::Allow(Some(user), level),
                (_, false) => NotAuthorized,
            };
            let token = fx.token(user);
            assert_eq!(
                fx.decide(class, &token, None),
                want,
                "{user} token, {class:?}"
            );
            let digest = fx.digest(user);
            assert_eq!(
                fx.decide(class, "", Some(&digest)),
                want,
                "{user} digest, {class:?}"
            );
        }
        // No credentials at all: only PRE_AUTH goes ahead; the rest is asked to log in.
        let want = if allowed[3] {
            anonymous()
        } else {
            Challenge { stale: false }
        };
        assert_eq!(
            fx.decide(class, "", None),
            want,
            "no credentials, {class:?}"
        );
    }
    // A level too low is not a failed login: nothing was locked by all those refusals.
    assert_eq!(fx.probe(), allow("user"));
}

/// One failing request after an optional setup, and whether it counts as a failed login.
struct Case {
    name: &'static str,
    settings: Settings,
    /// Runs any requests the case needs first, and returns the failing request's header
    /// (SOAP header for tokens, `Authorization` for Digest).
    request: fn(&mut Fixture) -> String,
    counts: bool,
}

/// Runs each case on a fresh gate that locks the address after one counted failure, then
/// probes with a valid login: locked exactly when the failure counted.
fn run_cases(cases: &[Case], want: Outcome, as_digest: bool) {
    for case in cases {
        let mut fx = Fixture::new(Settings {
            max_failures: 1,
            max_address_failures: 1,
            ..case.settings
        });
        let header = (case.request)(&mut fx);
        let got = if as_digest {
            fx.decide(AccessClass::ReadSystem, "", Some(&header))
        } else {
            fx.decide(AccessClass::ReadSystem, &header, None)
        };
        assert_eq!(got, want, "{}", case.name);
        let after = fx.probe();
        if case.counts {
            assert_eq!(
                after,
                Locked(Duration::from_secs(30)),
                "{} counts",
                case.name
            );
        } else {
            assert_eq!(after, allow("user"), "{} does not count", case.name);
        }
    }
}

#[test]
fn each_username_token_failure() {
    let cases = [
        Case {
            name: "wrong password digest",
            settings: Settings::default(),
            request: |fx| fx.token_with("admin", "guessed", 0),
            counts: true,
        },
        Case {
            name: "unknown user",
            settings: Settings::default(),
            request: |fx| fx.token_with("mallory", "admin-password", 0),
            counts: true,
        },
        Case {
            name: "stale Created",
            settings: Settings::default(),
            request: |fx| fx.token_with("admin", "admin-password", -301),
            counts: false,
        },
        Case {
            name: "Created in the future beyond the window",
            settings: Settings::default(),
            request: |fx| fx.token_with("admin", "admin-password", 301),
            counts: false,
        },
        Case {
            name: "replayed nonce",
            settings: Settings::default(),
            request: |fx| {
                let token = fx.token("admin");
                assert_eq!(
                    fx.decide(AccessClass::ReadSystem, &token, None),
                    allow("admin")
                );
                fx.advance(1);
                token
            },
            counts: false,
        },
        Case {
            name: "Created 6 s in the future (beyond the clock skew)",
            settings: Settings::default(),
            request: |fx| fx.token_with("admin", "admin-password", 6),
            counts: false,
        },
        Case {
            name: "the user's replay share is full and dropped a token as old",
            settings: Settings {
                replay_capacity: 1,
                ..Settings::default()
            },
            request: |fx| {
                let first = fx.token("admin");
                assert_eq!(
                    fx.decide(AccessClass::ReadSystem, &first, None),
                    allow("admin")
                );
                fx.token("admin")
            },
            counts: false,
        },
        Case {
            name: "malformed: digest without Nonce",
            settings: Settings::default(),
            request: |fx| {
                let created = fx.created(0);
                token_xml("admin", "x", Some(DIGEST_TYPE), None, Some(&created))
            },
            counts: false,
        },
        Case {
            name: "malformed: digest without Created",
            settings: Settings::default(),
            request: |_| token_xml("admin", "x", Some(DIGEST_TYPE), Some("AAAA"), None),
            counts: false,
        },
        Case {
            name: "malformed: Created is not a dateTime",
            settings: Settings::default(),
            request: |_| {
                token_xml(
                    "admin",
                    "x",
                    Some(DIGEST_TYPE),
                    Some("AAAA"),
                    Some("yesterday"),
                )
            },
            counts: false,
        },
        Case {
            name: "malformed: Nonce is not base64",
            settings: Settings::default(),
            request: |fx| {
                let created = fx.created(0);
                token_xml("admin", "x", Some(DIGEST_TYPE), Some("*"), Some(&created))
            },
            counts: false,
        },
        Case {
            name: "malformed: unknown password Type",
            settings: Settings::default(),
            request: |_| token_xml("admin", "x", Some("urn:other"), None, None),
            counts: false,
        },
        Case {
            name: "malformed: no Username",
            settings: Settings::default(),
            request: |_| {
                "<wsse:Security><wsse:UsernameToken><wsse:Password>x</wsse:Password></wsse:UsernameToken></wsse:Security>".into()
            },
            counts: false,
        },
        Case {
            name: "PasswordText while only digests are allowed",
            settings: Settings::default(),
            request: |_| token_xml("admin", "admin-password", Some(TEXT_TYPE), None, None),
            counts: false,
        },
    ];
    run_cases(&cases, NotAuthorized, false);
}

#[test]
fn created_inside_the_window_is_accepted_either_side() {
    let mut fx = Fixture::new(Settings::default());
    for offset in [-299, 5] {
        let token = fx.token_with("admin", "admin-password", offset);
        assert_eq!(
            fx.decide(AccessClass::ReadSystem, &token, None),
            allow("admin"),
            "{offset}"
        );
    }
}

#[test]
fn each_digest_failure() {
    let refused = [
        Case {
            name: "wrong response",
            settings: Settings::default(),
            request: |fx| digest_header("admin", REALM, "guessed", &fx.issued_nonce(), URI, 1),
            counts: true,
        },
        Case {
            name: "unknown user",
            settings: Settings::default(),
            request: |fx| digest_header("mallory", REALM, "x", &fx.issued_nonce(), URI, 1),
            counts: true,
        },
        Case {
            name: "wrong realm",
            settings: Settings::default(),
            request: |fx| {
                digest_header(
                    "admin",
                    "elsewhere",
                    "admin-password",
                    &fx.issued_nonce(),
                    URI,
                    1,
                )
            },
            counts: false,
        },
        Case {
            name: "wrong uri",
            settings: Settings::default(),
            request: |fx| {
                digest_header(
                    "admin",
                    REALM,
                    "admin-password",
                    &fx.issued_nonce(),
                    "/onvif/event_service",
                    1,
                )
            },
            counts: false,
        },
        Case {
            name: "malformed: parameters missing",
            settings: Settings::default(),
            request: |_| r#"Digest username="admin", realm="railgate""#.into(),
            counts: false,
        },
        Case {
            name: "malformed: unreadable parameters",
            settings: Settings::default(),
            request: |_| r#"Digest username="admin"#.into(),
            counts: false,
        },
        Case {
            name: "malformed: unsupported algorithm",
            settings: Settings::default(),
            request: |fx| {
                fx.digest("admin")
                    .replace("algorithm=MD5", "algorithm=SHA-512")
            },
            counts: false,
        },
    ];
    run_cases(&refused, Challenge { stale: false }, true);

    let stale = [
        Case {
            name: "expired nonce",
            settings: Settings::default(),
            request: |fx| {
                let header = fx.digest("admin");
                fx.advance(301);
                header
            },
            counts: false,
        },
        Case {
            name: "nonce this gate did not issue",
            settings: Settings::default(),
            request: |_| {
                let forged = B64.encode([7u8; 32]);
                digest_header("admin", REALM, "admin-password", &forged, URI, 1)
            },
            counts: false,
        },
        Case {
            name: "nc replayed",
            settings: Settings::default(),
            request: |fx| {
                let header = fx.digest("admin");
                assert_eq!(
                    fx.decide(AccessClass::ReadSystem, "", Some(&header)),
                    allow("admin")
                );
                header
            },
            counts: false,
        },
    ];
    run_cases(&stale, Challenge { stale: true }, true);
}

#[test]
fn a_nonce_lives_its_lifetime_and_counts_go_up() {
    let mut fx = Fixture::new(Settings::default());
    let nonce = fx.issued_nonce();
    fx.advance(300);
    for nc in [1, 2, 5] {
        let header = digest_header("admin", REALM, "admin-password", &nonce, URI, nc);
        assert_eq!(
            fx.decide(AccessClass::ReadSystem, "", Some(&header)),
            allow("admin"),
            "nc {nc}"
        );
    }
    let header = digest_header("admin", REALM, "admin-password", &nonce, URI, 4);
    assert_eq!(
        fx.decide(AccessClass::ReadSystem, "", Some(&header)),
        Challenge { stale: true },
        "a lower count is a replay"
    );
}

#[test]
fn both_present_http_first_then_the_token_user_is_judged() {
    let mut fx = Fixture::new(Settings::default());
    let write = AccessClass::WriteSystem;
    // The token's user decides, whatever the HTTP user may do.
    let (token, digest) = (fx.token("admin"), fx.digest("user"));
    assert_eq!(fx.decide(write, &token, Some(&digest)), allow("admin"));
    let (token, digest) = (fx.token("user"), fx.digest("admin"));
    assert_eq!(fx.decide(write, &token, Some(&digest)), NotAuthorized);
    // HTTP is checked first: a failing Digest is a 401 even with a good token, and the
    // token is not looked at (its nonce is still unused afterwards).
    let token = fx.token("admin");
    let bad = digest_header("admin", REALM, "guessed", &fx.issued_nonce(), URI, 1);
    assert_eq!(
        fx.decide(write, &token, Some(&bad)),
        Challenge { stale: false }
    );
    assert_eq!(fx.decide(write, &token, None), allow("admin"));
    // A good Digest does not excuse a bad token.
    let bad_token = fx.token_with("admin", "guessed", 0);
    let digest = fx.digest("admin");
    assert_eq!(fx.decide(write, &bad_token, Some(&digest)), NotAuthorized);
}

#[test]
fn without_credentials_a_challenge_and_pre_auth_checks_none() {
    let mut fx = Fixture::new(Settings {
        max_failures: 1,
        ..Settings::default()
    });
    for class in CLASSES.into_iter().filter(|c| *c != AccessClass::PreAuth) {
        assert_eq!(fx.decide(class, "", None), Challenge { stale: false });
        // Another scheme's header is no credential.
        assert_eq!(
            fx.decide(class, "", Some("Basic YWRtaW46YWRtaW4=")),
            Challenge { stale: false }
        );
    }
    // PRE_AUTH: wrong credentials are not even checked, so nothing counts.
    let bad_token = fx.token_with("admin", "guessed", 0);
    let bad_digest = digest_header("admin", REALM, "guessed", &fx.issued_nonce(), URI, 1);
    assert_eq!(
        fx.decide(AccessClass::PreAuth, &bad_token, Some(&bad_digest)),
        anonymous()
    );
    assert_eq!(fx.probe(), allow("user"));
    // ... and a locked address may still ask for the time.
    assert_eq!(
        fx.decide(AccessClass::ReadSystem, &bad_token, None),
        NotAuthorized
    );
    assert_eq!(fx.probe_as("admin"), Locked(Duration::from_secs(30)));
    assert_eq!(fx.decide(AccessClass::PreAuth, "", None), anonymous());
    // Without credentials, a locked address is asked to log in (it is refused once it does).
    assert_eq!(
        fx.decide(AccessClass::ReadSystem, "", None),
        Challenge { stale: false }
    );
}

#[test]
fn lockout_transitions() {
    let mut fx = Fixture::new(Settings {
        max_failures: 3,
        ..Settings::default()
    });
    let class = AccessClass::ReadSystem;
    let fail = |fx: &mut Fixture| {
        let bad = fx.token_with("admin", "guessed", 0);
        fx.decide(class, &bad, None)
    };
    // Below the limit: refused, not locked; a good login still works (and clears nothing).
    assert_eq!(fail(&mut fx), NotAuthorized);
    assert_eq!(fail(&mut fx), NotAuthorized);
    assert_eq!(fx.probe_as("admin"), allow("admin"));
    // The third failure within the window locks that user at that address.
    assert_eq!(fail(&mut fx), NotAuthorized);
    assert_eq!(fx.probe_as("admin"), Locked(Duration::from_secs(30)));
    // Only that user: another user at the same address (a NAT neighbour) logs in.
    assert_eq!(fx.probe(), allow("user"));
    // Only that address.
    let digest = fx.digest("admin");
    assert_eq!(
        fx.decide_from(OTHER_PEER, class, "", Some(&digest)),
        allow("admin")
    );
    // Locked: refused before any credential is checked. The token below is valid; it is
    // not verified (its nonce stays unused), and wrong ones do not extend the lock.
    fx.advance(10);
    let good = fx.token("admin");
    assert_eq!(
        fx.decide(class, &good, None),
        Locked(Duration::from_secs(20))
    );
    assert_eq!(fail(&mut fx), Locked(Duration::from_secs(20)));
    fx.advance(19);
    assert_eq!(fx.probe_as("admin"), Locked(Duration::from_secs(1)));
    // The lock ends after its duration on the (simulated) clock.
    fx.advance(1);
    assert_eq!(fx.decide(class, &good, None), allow("admin"));
    // The next lockout of the same address doubles.
    for _ in 0..3 {
        assert_eq!(fail(&mut fx), NotAuthorized);
    }
    assert_eq!(fx.probe_as("admin"), Locked(Duration::from_secs(60)));
}

#[test]
fn failures_age_out_and_only_credential_failures_count() {
    let mut fx = Fixture::new(Settings {
        max_failures: 3,
        ..Settings::default()
    });
    let class = AccessClass::ReadSystem;
    // Failures that are not password guesses, as many as you like.
    for _ in 0..10 {
        let stale = fx.token_with("admin", "admin-password", -3600);
        assert_eq!(fx.decide(class, &stale, None), NotAuthorized);
        let realm = digest_header("admin", "x", "guessed", &fx.issued_nonce(), URI, 1);
        assert_eq!(
            fx.decide(class, "", Some(&realm)),
            Challenge { stale: false }
        );
    }
    assert_eq!(fx.probe(), allow("user"));
    // Two guesses, a quiet minute (the window), two more: never three within the window.
    for _ in 0..2 {
        let bad = fx.token_with("admin", "guessed", 0);
        assert_eq!(fx.decide(class, &bad, None), NotAuthorized);
    }
    fx.advance(61);
    for _ in 0..2 {
        let bad = digest_header("admin", REALM, "guessed", &fx.issued_nonce(), URI, 1);
        assert_eq!(fx.decide(class, "", Some(&bad)), Challenge { stale: false });
    }
    assert_eq!(fx.probe_as("admin"), allow("admin"));
    // Digest and token guesses count alike: the third within the window locks.
    let bad = fx.token_with("admin", "x", 0);
    assert_eq!(fx.decide(class, &bad, None), NotAuthorized);
    assert_eq!(fx.probe_as("admin"), Locked(Duration::from_secs(30)));
    assert_eq!(fx.probe(), allow("user"));
}

#[test]
fn now_reads_both_clocks() {
    let before = SystemTime::now();
    let now = Now::current();
    assert!(now.wall >= before);
    assert!(now.utc().timestamp() >= DateTime::<Utc>::from(before).timestamp());
}

#[test]
fn a_nat_neighbour_guessing_one_password_does_not_lock_the_others_out() {
    let fx = Fixture::new(Settings::default());
    let class = AccessClass::ReadSystem;
    // A device behind the same NAT guesses the operator's password, by both schemes.
    for i in 0..20 {
        let bad = digest_header("operator", REALM, "guess", &fx.issued_nonce(), URI, 1);
        let got = fx.decide(class, "", Some(&bad));
        assert!(
            matches!(got, Challenge { stale: false } | Locked(_)),
            "guess {i}: {got:?}"
        );
    }
    assert_eq!(fx.probe_as("operator"), Locked(Duration::from_secs(30)));
    // The administrator's correct login from the same address works, both schemes.
    assert_eq!(fx.probe_as("admin"), allow("admin"));
    let mut fx = fx;
    let token = fx.token("admin");
    assert_eq!(fx.decide(class, &token, None), allow("admin"));
    // A token for the locked user is refused before it is verified, even a valid one.
    let token = fx.token("operator");
    assert_eq!(
        fx.decide(class, &token, None),
        Locked(Duration::from_secs(30))
    );
}

#[test]
fn spraying_many_names_from_one_address_locks_the_address() {
    let mut fx = Fixture::new(Settings {
        max_address_failures: 10,
        ..Settings::default()
    });
    let class = AccessClass::ReadSystem;
    for i in 0..10 {
        let name = format!("name{i}");
        let bad = fx.token_with(&name, "guess", 0);
        assert_eq!(fx.decide(class, &bad, None), NotAuthorized, "{name}");
    }
    assert_eq!(fx.probe_as("admin"), Locked(Duration::from_secs(30)));
    let digest = fx.digest("admin");
    assert_eq!(
        fx.decide_from(OTHER_PEER, class, "", Some(&digest)),
        allow("admin"),
        "only that address"
    );
}

#[test]
fn a_user_flooding_fresh_tokens_degrades_only_itself() {
    // Benchmark rate from one User account: 20 000 fresh tokens within one simulated second.
    let mut fx = Fixture::new(Settings {
        replay_capacity: 10_000,
        ..Settings::default()
    });
    let class = AccessClass::ReadSystem;
    let (mut accepted, mut limited) = (0, 0);
    for _ in 0..20_000 {
        let t = fx.token("user");
        match fx.decide(class, &t, None) {
            o if o == allow("user") => accepted += 1,
            RateLimited => limited += 1,
            other => panic!("flooder got {other:?}"),
        }
    }
    assert_eq!(accepted, 1000, "the burst");
    assert_eq!(limited, 19_000);
    assert_eq!(
        fx.gate.remembered().0,
        1000,
        "limited tokens take no replay-cache space"
    );
    // The administrator, meanwhile: every login works, both schemes.
    for _ in 0..100 {
        let t = fx.token("admin");
        assert_eq!(fx.decide(class, &t, None), allow("admin"));
        assert_eq!(fx.probe_as("admin"), allow("admin"));
    }
    // The flooder is served again at its rate.
    fx.advance(1);
    let t = fx.token("user");
    assert_eq!(fx.decide(class, &t, None), allow("user"));
}

#[test]
fn with_the_rate_off_a_full_share_still_degrades_only_its_user() {
    let mut fx = Fixture::new(Settings {
        replay_capacity: 100,
        rate: UserRateConfig {
            per_second: 0,
            burst: 1,
        },
        ..Settings::default()
    });
    let class = AccessClass::ReadSystem;
    let mut refused = 0;
    for _ in 0..5_000 {
        let t = fx.token("user");
        if fx.decide(class, &t, None) == NotAuthorized {
            refused += 1;
        }
    }
    assert_eq!(
        refused, 4_900,
        "beyond its share, within one Created second"
    );
    assert!(fx.gate.remembered().0 <= 100);
    for _ in 0..100 {
        let t = fx.token("admin");
        assert_eq!(fx.decide(class, &t, None), allow("admin"));
    }
    // Refused tokens of a full share are not password guesses: nothing is locked.
    assert_eq!(fx.probe(), allow("user"));
}

#[test]
fn a_user_digest_flood_never_refuses_the_administrator() {
    let mut fx = Fixture::new(Settings {
        nonces_per_user: 64,
        rate: UserRateConfig {
            per_second: 0,
            burst: 1,
        },
        ..Settings::default()
    });
    let class = AccessClass::ReadSystem;
    // The administrator holds a nonce in use.
    let admin_nonce = fx.issued_nonce();
    let h = digest_header("admin", REALM, "admin-password", &admin_nonce, URI, 1);
    assert_eq!(fx.decide(class, "", Some(&h)), allow("admin"));
    // The user makes 5 000 Digest logins, each on a new nonce.
    for i in 0..5_000 {
        let got = fx.probe();
        assert!(
            got == allow("user") || got == (Challenge { stale: true }),
            "login {i}: {got:?}"
        );
    }
    let (_, tracked) = fx.gate.remembered();
    assert!(tracked <= 64 + 1, "bounded per user: {tracked}");
    // The administrator's nonce still counts, and new logins work.
    let h = digest_header("admin", REALM, "admin-password", &admin_nonce, URI, 2);
    assert_eq!(fx.decide(class, "", Some(&h)), allow("admin"));
    assert_eq!(fx.probe_as("admin"), allow("admin"));
    fx.advance(1);
    assert_eq!(
        fx.probe(),
        allow("user"),
        "a new challenge serves the user again"
    );
}

#[test]
fn digest_logins_over_the_rate_get_429_and_take_no_nonce_state() {
    let fx = Fixture::new(Settings {
        rate: UserRateConfig {
            per_second: 10,
            burst: 5,
        },
        ..Settings::default()
    });
    for _ in 0..5 {
        assert_eq!(fx.probe(), allow("user"));
    }
    assert_eq!(fx.probe(), RateLimited);
    assert_eq!(fx.gate.remembered().1, 5);
    assert_eq!(fx.probe_as("admin"), allow("admin"));
    // Both schemes on one request by one user are charged once.
    let mut fx = Fixture::new(Settings {
        rate: UserRateConfig {
            per_second: 10,
            burst: 2,
        },
        ..Settings::default()
    });
    let token = fx.token("admin");
    let digest = fx.digest("admin");
    assert_eq!(
        fx.decide(AccessClass::ReadSystem, &token, Some(&digest)),
        allow("admin")
    );
    assert_eq!(fx.probe_as("admin"), allow("admin"));
    assert_eq!(fx.probe_as("admin"), RateLimited);
}

#[test]
fn replays_of_a_captured_login_do_not_use_up_its_users_rate() {
    let mut fx = Fixture::new(Settings {
        rate: UserRateConfig {
            per_second: 1,
            burst: 3,
        },
        ..Settings::default()
    });
    let class = AccessClass::ReadSystem;
    let token = fx.token("admin");
    assert_eq!(fx.decide(class, &token, None), allow("admin"));
    let digest = fx.digest("admin");
    assert_eq!(fx.decide(class, "", Some(&digest)), allow("admin"));
    // An eavesdropper replays both, many times: refused, and the bucket is not drained.
    for _ in 0..100 {
        assert_eq!(fx.decide(class, &token, None), NotAuthorized);
        assert_eq!(
            fx.decide(class, "", Some(&digest)),
            Challenge { stale: true }
        );
    }
    let token = fx.token("admin");
    assert_eq!(fx.decide(class, &token, None), allow("admin"));
    assert_eq!(
        fx.probe_as("admin"),
        RateLimited,
        "the burst of 3 is used up only now"
    );
}
