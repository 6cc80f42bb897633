//! Tests of the target service with simulated time: every `Instant` is derived from one
//! starting point, and the machine is driven by its own `next_wakeup`.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::*;
use crate::discovery::message::{
    self, Incoming, MATCH_BY_RFC3986, MATCH_BY_STRCMP0, Matches, QName, TypeName,
};

const EPR: &str = "urn:uuid:8c4f7a52-1d2e-4b3a-9c5d-6e7f8a9b0c1d";
const GROUP_V4: &str = "239.255.255.250";
const GROUP_V6: &str = "ff02::c";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn facts() -> DeviceFacts {
    DeviceFacts {
        endpoint_reference: EPR.to_string(),
        types: vec![TypeName::onvif_device()],
        scopes: vec![
            "onvif://www.onvif.org/Profile/C".to_string(),
            "onvif://www.onvif.org/name/RailGate".to_string(),
            "onvif://www.onvif.org/location/country/france/Lyon".to_string(),
            "onvif://www.onvif.org/hardware/DIN%20rail".to_string(),
        ],
        discoverable: true,
    }
}

/// eth0: IPv4, IPv6 link-local and global; eth1: IPv4 only.
fn interfaces() -> Vec<Interface> {
    vec![
        Interface {
            index: 2,
            name: "eth0".into(),
            addrs: vec![ip("192.0.2.10"), ip("fe80::1"), ip("2001:db8::10")],
        },
        Interface {
            index: 3,
            name: "eth1".into(),
            addrs: vec![ip("198.51.100.7")],
        },
    ]
}

fn config() -> Config {
    Config {
        instance_id: 7,
        metadata_version: 1,
        http: HttpEndpoint {
            port: 8080,
            tls: false,
            advertised: None,
        },
        limits: RateLimits::default(),
    }
}

fn machine_with(seed: u64, config: Config, facts: DeviceFacts) -> Machine {
    Machine::new(config, facts, interfaces(), fastrand::Rng::with_seed(seed))
}

fn machine() -> Machine {
    machine_with(1, config(), facts())
}

/// A started machine whose Hellos have all been sent; returns the time after them.
fn started(m: &mut Machine, t0: Instant) -> Instant {
    m.start(t0);
    let end = t0 + Duration::from_secs(5);
    drain(m, end);
    end
}

/// Runs the machine by its wake-ups until `until`, collecting what it sends and when.
fn drain(m: &mut Machine, until: Instant) -> Vec<(Instant, Send)> {
    let mut out = Vec::new();
    while let Some(at) = m.next_wakeup() {
        if at > until {
            break;
        }
        out.extend(m.poll(at).into_iter().map(|s| (at, s)));
    }
    out
}

fn parsed(s: &Send) -> Incoming {
    match message::parse(&s.bytes) {
        Ok(m) => m,
        Err(e) => panic!("railgate wrote something it cannot read: {e}"),
    }
}

fn probe_matches(s: &Send) -> Matches {
    match parsed(s) {
        Incoming::ProbeMatches(m) => m,
        other => panic!("not ProbeMatches: {other:?}"),
    }
}

fn probe(id: &str, types: &[TypeName], scopes: &[&str], match_by: Option<&str>) -> Vec<u8> {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    message::probe(id, types, &scopes, match_by)
}

fn any_probe(id: &str) -> Vec<u8> {
    probe(id, &[], &[], None)
}

const CLIENT: &str = "192.0.2.50:40000";

/// A multicast Probe arriving on eth0.
fn multicast(m: &mut Machine, bytes: &[u8], now: Instant) -> Outcome {
    m.received(bytes, sock(CLIENT), ip(GROUP_V4), 2, true, now)
}

/// Whether a multicast Probe on eth0 gets an answer (and what it says, when it does). Each
/// call comes from another source, so that the per-source rate limit stays out of the way.
fn answered(m: &mut Machine, bytes: &[u8], now: Instant) -> Option<Matches> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let from = SocketAddr::from(([10, 9, (n >> 8) as u8, n as u8], 40000));
    match m.received(bytes, from, ip(GROUP_V4), 2, true, now) {
        Outcome::Queued { .. } => {}
        _ => return None,
    }
    let sent = drain(m, now + Duration::from_secs(3));
    sent.first().map(|(_, s)| probe_matches(s))
}

#[test]
fn hello_waits_a_random_delay_and_is_repeated() {
    for seed in 0..40 {
        let t0 = Instant::now();
        let mut m = machine_with(seed, config(), facts());
        m.start(t0);
        let sent = drain(&mut m, t0 + Duration::from_secs(5));
        // Three groups: eth0 IPv4, eth0 IPv6 (it has a global address), eth1 IPv4.
        let groups = [(2, false), (2, true), (3, false)];
        assert_eq!(sent.len(), groups.len() * usize::from(MULTICAST_UDP_REPEAT));
        for (ifindex, v6) in groups {
            let copies: Vec<&(Instant, Send)> = sent
                .iter()
                .filter(|(_, s)| s.to == Dest::Multicast { ifindex, v6 })
                .collect();
            assert_eq!(copies.len(), usize::from(MULTICAST_UDP_REPEAT));
            let first = copies[0].0 - t0;
            assert!(first <= APP_MAX_DELAY, "Hello delayed {first:?}");
            let gaps: Vec<Duration> = copies.windows(2).map(|w| w[1].0 - w[0].0).collect();
            assert!(
                gaps[0] >= UDP_MIN_DELAY && gaps[0] <= UDP_MAX_DELAY,
                "{gaps:?}"
            );
            for w in gaps.windows(2) {
                assert_eq!(w[1], (w[0] * 2).min(UDP_UPPER_DELAY), "{gaps:?}");
            }
            assert!(
                copies.iter().all(|(_, s)| s.bytes == copies[0].1.bytes),
                "repetitions are the same message"
            );
            let Incoming::Hello(h) = parsed(&copies[0].1) else {
                panic!("not a Hello");
            };
            assert_eq!(h.target.endpoint, EPR);
            assert_eq!(h.target.types, [QName::new(message::NS_DEVICE, "Device")]);
            assert_eq!(h.target.metadata_version, Some(1));
            assert_eq!(h.target.scopes.len(), 4);
            let expected: Vec<String> = match (ifindex, v6) {
                (2, false) => vec![
                    "http://192.0.2.10:8080/onvif/device_service".into(),
                    "http://[2001:db8::10]:8080/onvif/device_service".into(),
                ],
                (2, true) => vec![
                    "http://[2001:db8::10]:8080/onvif/device_service".into(),
                    "http://192.0.2.10:8080/onvif/device_service".into(),
                ],
                _ => vec!["http://198.51.100.7:8080/onvif/device_service".into()],
            };
            assert_eq!(
                h.target.xaddrs, expected,
                "each interface its own addresses"
            );
        }
        assert_eq!(m.next_wakeup(), None);
    }
}

#[test]
fn hello_delays_spread_over_the_whole_window() {
    let t0 = Instant::now();
    let mut firsts = Vec::new();
    for seed in 0..200 {
        let mut m = machine_with(seed, config(), facts());
        m.start(t0);
        firsts.push(m.next_wakeup().map(|w| w - t0).unwrap_or_default());
    }
    assert!(firsts.iter().all(|d| *d <= APP_MAX_DELAY));
    assert!(firsts.iter().any(|d| *d < ms(100)));
    assert!(firsts.iter().any(|d| *d > ms(400)));
}

#[test]
fn bye_goes_out_at_once_and_cancels_pending_hellos() {
    let t0 = Instant::now();
    let mut m = machine();
    m.start(t0);
    m.stop(t0 + ms(1));
    let now = m.poll(t0 + ms(1));
    assert_eq!(now.len(), 3, "one Bye per group, not delayed");
    for s in &now {
        let Incoming::Bye(b) = parsed(s) else {
            panic!("not a Bye");
        };
        assert_eq!(b.target.endpoint, EPR);
        assert!(matches!(s.to, Dest::Multicast { .. }));
    }
    let rest = drain(&mut m, t0 + Duration::from_secs(5));
    assert_eq!(rest.len(), 3 * usize::from(MULTICAST_UDP_REPEAT - 1));
    assert!(
        rest.iter()
            .all(|(_, s)| matches!(parsed(s), Incoming::Bye(_))),
        "no Hello after the Bye"
    );
    // Stopped: requests are ignored, stop again does nothing.
    assert_eq!(
        multicast(
            &mut m,
            &any_probe("urn:uuid:late"),
            t0 + Duration::from_secs(6)
        ),
        Outcome::Ignored(Ignored::NotRunning)
    );
    m.stop(t0 + Duration::from_secs(6));
    assert_eq!(m.next_wakeup(), None);
}

#[test]
fn requests_before_start_are_ignored() {
    let t0 = Instant::now();
    let mut m = machine();
    assert_eq!(
        multicast(&mut m, &any_probe("urn:uuid:early"), t0),
        Outcome::Ignored(Ignored::NotRunning)
    );
    assert_eq!(m.next_wakeup(), None);
}

#[test]
fn multicast_probe_by_type_scope_or_nothing() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let device = [TypeName::onvif_device()];
    let nvt = [TypeName::network_video_transmitter()];
    // By nothing.
    let m1 = answered(&mut m, &any_probe("urn:uuid:p1"), t);
    let m1 = m1.expect("a Probe without types or scopes matches");
    assert_eq!(m1.relates_to.as_deref(), Some("urn:uuid:p1"));
    assert_eq!(m1.matches.len(), 1);
    assert_eq!(m1.matches[0].endpoint, EPR);
    // By type, resolved by namespace (the prefix is the writer's, any would do).
    let other_prefix = [TypeName::new(message::NS_DEVICE, "Device", "x")];
    assert!(answered(&mut m, &probe("urn:uuid:p2", &device, &[], None), t).is_some());
    assert!(answered(&mut m, &probe("urn:uuid:p3", &other_prefix, &[], None), t).is_some());
    // dn:NetworkVideoTransmitter is not configured: no answer.
    assert_eq!(
        multicast(&mut m, &probe("urn:uuid:p4", &nvt, &[], None), t),
        Outcome::Ignored(Ignored::NoMatch)
    );
    let unknown = [TypeName::new("urn:example", "Printer", "p")];
    assert!(answered(&mut m, &probe("urn:uuid:p5", &unknown, &[], None), t).is_none());
    let both = [
        TypeName::onvif_device(),
        TypeName::new("urn:example", "Printer", "p"),
    ];
    assert!(answered(&mut m, &probe("urn:uuid:p6", &both, &[], None), t).is_none());
    // By scope (RFC 3986 rule, the default).
    let cases: [(&str, bool); 9] = [
        ("onvif://www.onvif.org/location", true),
        ("onvif://www.onvif.org/location/", true),
        ("onvif://www.onvif.org/location/country/france/", true),
        ("ONVIF://WWW.ONVIF.ORG/name/RailGate", true),
        ("onvif://www.onvif.org/hardware/DIN rail", true),
        ("onvif://www.onvif.org/hardware/DIN%20rail", true),
        ("onvif://www.onvif.org/name/railgate", false),
        ("onvif://www.onvif.org/name/Rail", false),
        ("onvif://www.onvif.org/location/country/germany", false),
    ];
    for (i, (scope, expected)) in cases.iter().enumerate() {
        let id = format!("urn:uuid:s{i}");
        let got = answered(&mut m, &probe(&id, &device, &[scope], None), t).is_some();
        assert_eq!(got, *expected, "{scope}");
    }
    // Every requested scope must match.
    let two = [
        "onvif://www.onvif.org/Profile/C",
        "onvif://www.onvif.org/Profile/S",
    ];
    assert!(answered(&mut m, &probe("urn:uuid:s-two", &[], &two, None), t).is_none());
    // Explicit rules.
    let exact = "onvif://www.onvif.org/name/RailGate";
    let id = "urn:uuid:s-strcmp";
    assert!(answered(&mut m, &probe(id, &[], &[exact], Some(MATCH_BY_STRCMP0)), t).is_some());
    let prefix = "onvif://www.onvif.org/name";
    let id = "urn:uuid:s-strcmp-prefix";
    assert!(
        answered(
            &mut m,
            &probe(id, &[], &[prefix], Some(MATCH_BY_STRCMP0)),
            t
        )
        .is_none()
    );
    let id = "urn:uuid:s-3986";
    assert!(
        answered(
            &mut m,
            &probe(id, &[], &[prefix], Some(MATCH_BY_RFC3986)),
            t
        )
        .is_some()
    );
}

#[test]
fn answers_to_multicast_probes_wait_and_are_repeated_unicast() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let Outcome::Queued { at } = multicast(&mut m, &any_probe("urn:uuid:q"), t) else {
        panic!("not answered");
    };
    assert!(at >= t && at - t <= APP_MAX_DELAY);
    assert_eq!(m.next_wakeup(), Some(at));
    assert!(m.poll(at - Duration::from_nanos(1)).is_empty() || at == t);
    let sent = drain(&mut m, t + Duration::from_secs(3));
    assert_eq!(sent.len(), usize::from(UNICAST_UDP_REPEAT));
    assert_eq!(sent[0].0, at);
    let gap = sent[1].0 - sent[0].0;
    assert!(gap >= UDP_MIN_DELAY && gap <= UDP_MAX_DELAY);
    for (_, s) in &sent {
        assert_eq!(s.to, Dest::Unicast(sock(CLIENT)));
        assert_eq!(s.bytes, sent[0].1.bytes);
    }
    let reply = probe_matches(&sent[0].1);
    assert_eq!(
        reply.matches[0].xaddrs,
        [
            "http://192.0.2.10:8080/onvif/device_service",
            "http://[2001:db8::10]:8080/onvif/device_service"
        ],
        "eth0's addresses, the request's family first, no link-local"
    );
}

#[test]
fn directed_probe_is_answered_at_once_with_the_address_it_was_sent_to() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let out = m.received(
        &any_probe("urn:uuid:d"),
        sock(CLIENT),
        ip("192.0.2.10"),
        2,
        false,
        t,
    );
    assert_eq!(out, Outcome::Queued { at: t });
    let now = m.poll(t);
    assert_eq!(now.len(), 1);
    assert_eq!(
        probe_matches(&now[0]).matches[0].xaddrs,
        ["http://192.0.2.10:8080/onvif/device_service"]
    );
    // A directed probe to the loopback address (a local check) is answered with it.
    let out = m.received(
        &any_probe("urn:uuid:lo"),
        sock("127.0.0.1:50000"),
        ip("127.0.0.1"),
        1,
        false,
        t,
    );
    assert_eq!(out, Outcome::Queued { at: t });
    let now = m.poll(t);
    assert_eq!(
        probe_matches(&now[0]).matches[0].xaddrs,
        ["http://127.0.0.1:8080/onvif/device_service"]
    );
    // To a link-local IPv6 address: the interface's advertisable addresses instead.
    let out = m.received(
        &any_probe("urn:uuid:ll"),
        sock("[fe80::99]:50000"),
        ip("fe80::1"),
        2,
        false,
        t,
    );
    assert_eq!(out, Outcome::Queued { at: t });
    let now = m.poll(t);
    assert_eq!(
        probe_matches(&now[0]).matches[0].xaddrs,
        [
            "http://[2001:db8::10]:8080/onvif/device_service",
            "http://192.0.2.10:8080/onvif/device_service"
        ]
    );
}

#[test]
fn unsupported_matching_rule_faults_only_when_directed() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let ldap = Some("http://schemas.xmlsoap.org/ws/2005/04/discovery/ldap");
    let bytes = probe("urn:uuid:rule-m", &[], &["ldap:///ou=x"], ldap);
    assert_eq!(
        multicast(&mut m, &bytes, t),
        Outcome::Ignored(Ignored::UnsupportedMatchingRule)
    );
    assert!(drain(&mut m, t + Duration::from_secs(3)).is_empty());
    let bytes = probe("urn:uuid:rule-u", &[], &["ldap:///ou=x"], ldap);
    let out = m.received(&bytes, sock(CLIENT), ip("192.0.2.10"), 2, false, t);
    assert_eq!(out, Outcome::Queued { at: t });
    let sent = m.poll(t);
    assert_eq!(sent.len(), 1);
    let Incoming::Fault(f) = parsed(&sent[0]) else {
        panic!("not a fault");
    };
    assert_eq!(f.relates_to.as_deref(), Some("urn:uuid:rule-u"));
    assert_eq!(
        f.subcode,
        Some(QName::new(
            message::NS_DISCOVERY,
            "MatchingRuleNotSupported"
        ))
    );
    assert_eq!(m.counters().faults, 1);
}

#[test]
fn non_discoverable_is_silent_until_discoverable_again() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let mut quiet = facts();
    quiet.discoverable = false;
    m.facts_changed(quiet, t);
    let byes = drain(&mut m, t + Duration::from_secs(3));
    assert!(!byes.is_empty());
    assert!(
        byes.iter()
            .all(|(_, s)| matches!(parsed(s), Incoming::Bye(_)))
    );
    assert_eq!(byes[0].0, t, "the Bye is not delayed");
    let t = t + Duration::from_secs(3);
    assert_eq!(
        multicast(&mut m, &any_probe("urn:uuid:n1"), t),
        Outcome::Ignored(Ignored::NonDiscoverable)
    );
    let resolve = message::resolve("urn:uuid:n2", EPR);
    assert_eq!(
        m.received(&resolve, sock(CLIENT), ip("192.0.2.10"), 2, false, t),
        Outcome::Ignored(Ignored::NonDiscoverable)
    );
    assert_eq!(m.next_wakeup(), None, "nothing at all");
    // A change of scopes while non-discoverable is not announced.
    let mut quiet_rescoped = facts();
    quiet_rescoped.discoverable = false;
    quiet_rescoped
        .scopes
        .push("onvif://www.onvif.org/location/x".into());
    m.facts_changed(quiet_rescoped.clone(), t);
    assert_eq!(m.next_wakeup(), None);
    let mut loud = quiet_rescoped;
    loud.discoverable = true;
    m.facts_changed(loud, t);
    let hellos = drain(&mut m, t + Duration::from_secs(3));
    assert!(!hellos.is_empty());
    assert!(
        hellos
            .iter()
            .all(|(_, s)| matches!(parsed(s), Incoming::Hello(_)))
    );
    let t = t + Duration::from_secs(3);
    assert!(answered(&mut m, &any_probe("urn:uuid:n3"), t).is_some());
    assert_eq!(m.counters().non_discoverable, 2);
}

#[test]
fn started_non_discoverable_sends_nothing() {
    let t0 = Instant::now();
    let mut quiet = facts();
    quiet.discoverable = false;
    let mut m = machine_with(3, config(), quiet);
    m.start(t0);
    assert_eq!(m.next_wakeup(), None);
    m.stop(t0 + ms(10));
    assert_eq!(m.next_wakeup(), None, "no Bye either");
}

#[test]
fn scope_change_announces_a_new_metadata_version() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let before = m.metadata_version();
    let mut rescoped = facts();
    rescoped.scopes = vec![
        "onvif://www.onvif.org/name/Renamed".to_string(),
        "onvif://www.onvif.org/hardware/DIN%20rail".to_string(),
    ];
    m.facts_changed(rescoped.clone(), t);
    assert_eq!(m.metadata_version(), before + 1);
    let hellos = drain(&mut m, t + Duration::from_secs(3));
    assert!(!hellos.is_empty());
    for (_, s) in &hellos {
        let Incoming::Hello(h) = parsed(s) else {
            panic!("not a Hello");
        };
        assert_eq!(h.target.metadata_version, Some(before + 1));
        assert_eq!(h.target.scopes, rescoped.scopes);
    }
    let t = t + Duration::from_secs(3);
    let reply = answered(&mut m, &any_probe("urn:uuid:after"), t).expect("answered");
    assert_eq!(reply.matches[0].metadata_version, Some(before + 1));
    assert_eq!(reply.matches[0].scopes, rescoped.scopes);
    let old = "onvif://www.onvif.org/name/RailGate";
    assert!(answered(&mut m, &probe("urn:uuid:old", &[], &[old], None), t).is_none());
    // The same facts again change nothing.
    m.facts_changed(rescoped, t);
    assert_eq!(m.metadata_version(), before + 1);
    assert_eq!(m.next_wakeup(), None);
}

#[test]
fn a_new_endpoint_reference_says_bye_then_hello() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let mut renamed = facts();
    renamed.endpoint_reference = "urn:uuid:00000000-0000-4000-8000-000000000001".into();
    m.facts_changed(renamed, t);
    let sent = drain(&mut m, t + Duration::from_secs(3));
    let Incoming::Bye(b) = parsed(&sent[0].1) else {
        panic!("Bye first");
    };
    assert_eq!(b.target.endpoint, EPR);
    assert!(sent.iter().any(|(_, s)| matches!(
        parsed(s),
        Incoming::Hello(h) if h.target.endpoint.ends_with("0001")
    )));
}

#[test]
fn resolve_by_endpoint_reference() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let r = message::resolve("urn:uuid:r1", EPR);
    let Outcome::Queued { at } = multicast(&mut m, &r, t) else {
        panic!("not answered");
    };
    assert!(at - t <= APP_MAX_DELAY);
    let sent = drain(&mut m, t + Duration::from_secs(3));
    assert_eq!(sent.len(), usize::from(UNICAST_UDP_REPEAT));
    assert_eq!(sent[0].1.to, Dest::Unicast(sock(CLIENT)));
    let Incoming::ResolveMatches(rm) = parsed(&sent[0].1) else {
        panic!("not ResolveMatches");
    };
    assert_eq!(rm.relates_to.as_deref(), Some("urn:uuid:r1"));
    assert_eq!(rm.matches[0].endpoint, EPR);
    assert_eq!(rm.matches[0].xaddrs.len(), 2);
    // UUIDs compare without regard to case; another endpoint gets nothing.
    let upper = message::resolve("urn:uuid:r2", &EPR.to_uppercase());
    assert!(matches!(
        multicast(&mut m, &upper, t),
        Outcome::Queued { .. }
    ));
    let other = message::resolve(
        "urn:uuid:r3",
        "urn:uuid:00000000-0000-4000-8000-000000000000",
    );
    assert_eq!(
        multicast(&mut m, &other, t),
        Outcome::Ignored(Ignored::NoMatch)
    );
}

#[test]
fn a_flood_from_one_source_gets_the_source_budget() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let limits = RateLimits::default();
    let mut queued = 0;
    for i in 0..100 {
        if let Outcome::Queued { .. } = multicast(&mut m, &any_probe(&format!("urn:uuid:f{i}")), t)
        {
            queued += 1;
        }
    }
    assert_eq!(queued, limits.source_burst);
    assert_eq!(
        m.counters().rate_limited_source,
        u64::from(100 - limits.source_burst)
    );
    // A second later the source has earned `source_per_sec` more.
    let t = t + Duration::from_secs(1);
    let mut later = 0;
    for i in 0..100 {
        if let Outcome::Queued { .. } = multicast(&mut m, &any_probe(&format!("urn:uuid:g{i}")), t)
        {
            later += 1;
        }
    }
    assert_eq!(f64::from(later), limits.source_per_sec);
    // The same /64 is the same source.
    let mut m = machine();
    let t = started(&mut m, t0);
    let mut v6 = 0;
    for i in 0..50u32 {
        let from = sock(&format!("[2001:db8:0:1::{:x}]:3702", i + 1));
        let out = m.received(
            &any_probe(&format!("urn:uuid:v6-{i}")),
            from,
            ip(GROUP_V6),
            2,
            true,
            t,
        );
        if let Outcome::Queued { .. } = out {
            v6 += 1;
        }
    }
    assert_eq!(v6, limits.source_burst);
}

#[test]
fn a_flood_from_many_sources_gets_the_global_budget() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let limits = RateLimits::default();
    let mut queued = 0;
    for i in 0..1000u32 {
        let from = sock(&format!(
            "10.{}.{}.{}:3702",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ));
        let out = m.received(
            &any_probe(&format!("urn:uuid:m{i}")),
            from,
            ip(GROUP_V4),
            2,
            true,
            t,
        );
        if let Outcome::Queued { .. } = out {
            queued += 1;
        }
    }
    assert_eq!(queued, limits.global_burst);
    assert_eq!(
        m.counters().rate_limited_global,
        u64::from(1000 - limits.global_burst)
    );
    // Over ten seconds, no more than the burst plus the rate allows.
    let mut total = queued;
    for step in 1..=100u32 {
        let now = t + ms(100) * step;
        drain(&mut m, now);
        for j in 0..50u32 {
            let i = 1000 + step * 50 + j;
            let from = sock(&format!(
                "10.{}.{}.{}:3702",
                i >> 16,
                (i >> 8) & 255,
                i & 255
            ));
            if let Outcome::Queued { .. } = m.received(
                &any_probe(&format!("urn:uuid:m{i}")),
                from,
                ip(GROUP_V4),
                2,
                true,
                now,
            ) {
                total += 1;
            }
        }
    }
    let ceiling = f64::from(limits.global_burst) + 10.0 * limits.global_per_sec;
    assert!(f64::from(total) <= ceiling, "{total} replies in 10 s");
    assert!(f64::from(total) >= ceiling - 2.0, "{total} replies in 10 s");
}

#[test]
fn the_reply_queue_is_bounded() {
    let t0 = Instant::now();
    let generous = Config {
        limits: RateLimits {
            global_per_sec: 1e9,
            global_burst: 100_000,
            source_per_sec: 1e9,
            source_burst: 100_000,
        },
        ..config()
    };
    let mut m = machine_with(5, generous, facts());
    let t = started(&mut m, t0);
    for i in 0..1000 {
        multicast(&mut m, &any_probe(&format!("urn:uuid:b{i}")), t);
        assert!(m.queued() <= MAX_QUEUED_REPLIES);
    }
    assert_eq!(m.counters().queue_full, 1000 - MAX_QUEUED_REPLIES as u64);
    // Announcements still have room.
    let mut rescoped = facts();
    rescoped.scopes.push("onvif://www.onvif.org/x".into());
    m.facts_changed(rescoped, t);
    assert_eq!(m.queued(), MAX_QUEUED_REPLIES + 3);
}

#[test]
fn repetitions_of_a_request_are_answered_once() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let p = any_probe("urn:uuid:dup");
    assert!(matches!(multicast(&mut m, &p, t), Outcome::Queued { .. }));
    for k in 1..4 {
        assert_eq!(
            multicast(&mut m, &p, t + ms(100) * k),
            Outcome::Dropped(Dropped::Duplicate)
        );
    }
    assert_eq!(
        drain(&mut m, t + Duration::from_secs(3)).len(),
        usize::from(UNICAST_UDP_REPEAT),
        "one answer (and its own repetition)"
    );
    // The same MessageID from another source is another request.
    let other = m.received(
        &p,
        sock("192.0.2.51:40000"),
        ip(GROUP_V4),
        2,
        true,
        t + ms(200),
    );
    assert!(matches!(other, Outcome::Queued { .. }));
    // After the window, the same ID is new again.
    let later = t + DUPLICATE_WINDOW + ms(1);
    assert!(matches!(
        multicast(&mut m, &p, later),
        Outcome::Queued { .. }
    ));
    assert_eq!(m.counters().duplicates, 3);
}

#[test]
fn message_numbers_increase_across_hello_matches_and_bye() {
    let t0 = Instant::now();
    let mut m = machine();
    m.start(t0);
    let mut sent = Vec::new();
    // Probes arrive while the Hellos are still pending.
    for i in 0..5u32 {
        let now = t0 + ms(90) * i;
        sent.extend(drain(&mut m, now));
        let from = sock(&format!("192.0.2.{}:40000", 60 + i));
        m.received(
            &any_probe(&format!("urn:uuid:n{i}")),
            from,
            ip(GROUP_V4),
            2,
            true,
            now,
        );
        let r = message::resolve(&format!("urn:uuid:r{i}"), EPR);
        m.received(&r, from, ip("192.0.2.10"), 2, false, now);
    }
    sent.extend(drain(&mut m, t0 + Duration::from_secs(5)));
    let mut rescoped = facts();
    rescoped.scopes.push("onvif://www.onvif.org/y".into());
    m.facts_changed(rescoped, t0 + Duration::from_secs(5));
    sent.extend(drain(&mut m, t0 + ms(5200)));
    m.stop(t0 + ms(5200));
    sent.extend(drain(&mut m, t0 + Duration::from_secs(10)));

    let mut seen = std::collections::HashSet::new();
    let mut numbers = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for (_, s) in &sent {
        let (id, seq, kind) = match parsed(s) {
            Incoming::Hello(a) => (a.message_id, a.app_sequence, "hello"),
            Incoming::Bye(a) => (a.message_id, a.app_sequence, "bye"),
            Incoming::ProbeMatches(x) => (x.message_id, x.app_sequence, "probe"),
            Incoming::ResolveMatches(x) => (x.message_id, x.app_sequence, "resolve"),
            other => panic!("unexpected {other:?}"),
        };
        kinds.insert(kind);
        let seq = seq.expect("every message carries AppSequence");
        assert_eq!(seq.instance_id, 7);
        if seen.insert(id.expect("every message has an ID")) {
            numbers.push(seq.message_number);
        }
    }
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    assert!(numbers.len() > 10);
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "in sending order: {numbers:?}"
    );
    assert_eq!(numbers[0], 1);
}

#[test]
fn message_number_exhaustion_moves_to_the_next_instance() {
    let t0 = Instant::now();
    let mut m = machine();
    m.next_number = u32::MAX;
    m.start(t0);
    let sent = drain(&mut m, t0 + Duration::from_secs(5));
    let seqs: Vec<AppSequence> = sent
        .iter()
        .filter_map(|(_, s)| match parsed(s) {
            Incoming::Hello(h) => h.app_sequence,
            _ => None,
        })
        .collect();
    assert!(seqs.contains(&AppSequence {
        instance_id: 7,
        message_number: u32::MAX
    }));
    assert!(seqs.contains(&AppSequence {
        instance_id: 8,
        message_number: 1
    }));
    assert_eq!(m.app_sequence().instance_id, 8);
}

#[test]
fn each_interface_advertises_its_own_addresses() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let on_eth1 = m.received(
        &any_probe("urn:uuid:e1"),
        sock("198.51.100.99:3702"),
        ip(GROUP_V4),
        3,
        true,
        t,
    );
    assert!(matches!(on_eth1, Outcome::Queued { .. }));
    let sent = drain(&mut m, t + Duration::from_secs(3));
    assert_eq!(
        probe_matches(&sent[0].1).matches[0].xaddrs,
        ["http://198.51.100.7:8080/onvif/device_service"]
    );
    // An IPv6 multicast probe on eth0: IPv6 first, in brackets, no link-local.
    let t = t + Duration::from_secs(3);
    let v6 = m.received(
        &any_probe("urn:uuid:e0v6"),
        sock("[fe80::99]:3702"),
        ip(GROUP_V6),
        2,
        true,
        t,
    );
    assert!(matches!(v6, Outcome::Queued { .. }));
    let sent = drain(&mut m, t + Duration::from_secs(3));
    assert_eq!(sent[0].1.to, Dest::Unicast(sock("[fe80::99]:3702")));
    assert_eq!(
        probe_matches(&sent[0].1).matches[0].xaddrs,
        [
            "http://[2001:db8::10]:8080/onvif/device_service",
            "http://192.0.2.10:8080/onvif/device_service"
        ]
    );
    // An interface that does not take part is not answered on.
    let elsewhere = m.received(
        &any_probe("urn:uuid:e9"),
        sock("203.0.113.5:3702"),
        ip(GROUP_V4),
        9,
        true,
        t,
    );
    assert_eq!(elsewhere, Outcome::Ignored(Ignored::NotParticipating));
    let directed_elsewhere = m.received(
        &any_probe("urn:uuid:e10"),
        sock("203.0.113.5:3702"),
        ip("203.0.113.1"),
        9,
        false,
        t,
    );
    assert_eq!(
        directed_elsewhere,
        Outcome::Ignored(Ignored::NotParticipating)
    );
}

#[test]
fn link_local_only_ipv6_is_not_announced() {
    let t0 = Instant::now();
    let only_link_local = vec![Interface {
        index: 4,
        name: "eth2".into(),
        addrs: vec![ip("10.1.1.1"), ip("fe80::4")],
    }];
    let mut m = Machine::new(
        config(),
        facts(),
        only_link_local,
        fastrand::Rng::with_seed(9),
    );
    m.start(t0);
    let sent = drain(&mut m, t0 + Duration::from_secs(5));
    assert!(sent.iter().all(|(_, s)| s.to
        == Dest::Multicast {
            ifindex: 4,
            v6: false
        }));
    for (_, s) in &sent {
        assert!(!String::from_utf8_lossy(&s.bytes).contains("fe80"));
    }
}

#[test]
fn advertised_address_replaces_every_xaddr() {
    let t0 = Instant::now();
    let behind_nat = Config {
        http: HttpEndpoint {
            port: 8080,
            tls: false,
            advertised: Some("gate.example.net:443".into()),
        },
        ..config()
    };
    let mut m = machine_with(11, behind_nat, facts());
    m.start(t0);
    let expected = ["http://gate.example.net:443/onvif/device_service"];
    for (_, s) in drain(&mut m, t0 + Duration::from_secs(5)) {
        let Incoming::Hello(h) = parsed(&s) else {
            panic!("not a Hello");
        };
        assert_eq!(h.target.xaddrs, expected);
    }
    let t = t0 + Duration::from_secs(5);
    let reply = answered(&mut m, &any_probe("urn:uuid:nat"), t).expect("answered");
    assert_eq!(reply.matches[0].xaddrs, expected);
    let out = m.received(
        &any_probe("urn:uuid:nat-d"),
        sock(CLIENT),
        ip("192.0.2.10"),
        2,
        false,
        t,
    );
    assert!(matches!(out, Outcome::Queued { .. }));
    assert_eq!(probe_matches(&m.poll(t)[0]).matches[0].xaddrs, expected);
}

#[test]
fn address_changes_are_announced_with_a_new_metadata_version() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    m.interfaces_changed(interfaces(), t);
    assert_eq!(m.next_wakeup(), None, "nothing changed");
    assert_eq!(m.metadata_version(), 1);
    let mut moved = interfaces();
    moved[1].addrs = vec![ip("198.51.100.8")];
    m.interfaces_changed(moved, t);
    assert_eq!(m.metadata_version(), 2);
    let sent = drain(&mut m, t + Duration::from_secs(3));
    let eth1 = sent
        .iter()
        .find(|(_, s)| {
            s.to == Dest::Multicast {
                ifindex: 3,
                v6: false,
            }
        })
        .map(|(_, s)| parsed(s));
    let Some(Incoming::Hello(h)) = eth1 else {
        panic!("no Hello on eth1");
    };
    assert_eq!(
        h.target.xaddrs,
        ["http://198.51.100.8:8080/onvif/device_service"]
    );
    assert_eq!(h.target.metadata_version, Some(2));
    // A new HTTP port too.
    m.http_changed(
        HttpEndpoint {
            port: 80,
            tls: false,
            advertised: None,
        },
        t + Duration::from_secs(3),
    );
    assert_eq!(m.metadata_version(), 3);
    let sent = drain(&mut m, t + Duration::from_secs(6));
    assert!(
        sent.iter()
            .all(|(_, s)| String::from_utf8_lossy(&s.bytes).contains(":80/onvif/device_service"))
    );
}

#[test]
fn a_vanished_interface_sends_nothing() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    assert!(matches!(
        m.received(
            &any_probe("urn:uuid:v"),
            sock("198.51.100.99:3702"),
            ip(GROUP_V4),
            3,
            true,
            t
        ),
        Outcome::Queued { .. }
    ));
    // eth1 goes away before the answer is due (the Hellos for eth0 still go out).
    m.interfaces_changed(interfaces()[..1].to_vec(), t);
    let sent = drain(&mut m, t + Duration::from_secs(3));
    assert!(
        sent.iter()
            .all(|(_, s)| matches!(parsed(s), Incoming::Hello(_)))
    );
    assert_eq!(m.counters().unsendable, 1);
}

#[test]
fn unusable_sources_and_other_messages_are_refused() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let p = any_probe("urn:uuid:src");
    for from in [
        "192.0.2.50:0",
        "0.0.0.0:3702",
        "224.0.0.1:3702",
        "255.255.255.255:3702",
    ] {
        assert_eq!(
            m.received(&p, sock(from), ip(GROUP_V4), 2, true, t),
            Outcome::Dropped(Dropped::BadSource),
            "{from}"
        );
    }
    // Hello, Bye and matches from other devices are not requests.
    let other = message::Description {
        endpoint_reference: "urn:uuid:other",
        types: &[],
        scopes: &[],
        xaddrs: &[],
        metadata_version: 1,
    };
    let seq = AppSequence {
        instance_id: 1,
        message_number: 1,
    };
    for bytes in [
        message::hello("urn:uuid:h", seq, &other),
        message::bye("urn:uuid:b", seq, "urn:uuid:other"),
        message::probe_matches("urn:uuid:pm", "x", seq, Some(&other)),
    ] {
        assert_eq!(
            multicast(&mut m, &bytes, t),
            Outcome::Ignored(Ignored::NotARequest)
        );
    }
    assert!(matches!(
        multicast(&mut m, b"<not xml", t),
        Outcome::Dropped(Dropped::Malformed(_))
    ));
    assert_eq!(m.next_wakeup(), None);
    let c = m.counters();
    assert_eq!((c.bad_source, c.not_requests, c.malformed), (4, 3, 1));
}

/// Random datagrams and mutated probes from random sources never panic the machine, and
/// the queue stays bounded.
#[test]
fn random_input_never_panics() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    let mut rng = fastrand::Rng::with_seed(77);
    let seed_probe = probe(
        "urn:uuid:mut",
        &[TypeName::onvif_device()],
        &["onvif://www.onvif.org/name"],
        None,
    );
    for i in 0..5_000u64 {
        let now = t + ms(i);
        let mut bytes = if rng.bool() {
            seed_probe.clone()
        } else {
            (0..rng.usize(0..300)).map(|_| rng.u8(..)).collect()
        };
        for _ in 0..rng.usize(0..4) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.usize(0..bytes.len());
            bytes[at] = rng.u8(..);
        }
        let from = SocketAddr::new(IpAddr::from(rng.u32(..).to_be_bytes()), rng.u16(..));
        let local = if rng.bool() {
            ip(GROUP_V4)
        } else {
            ip("192.0.2.10")
        };
        let _ = m.received(&bytes, from, local, rng.u32(0..5), rng.bool(), now);
        if i % 7 == 0 {
            let _ = m.poll(now);
        }
        assert!(m.queued() <= MAX_QUEUED);
    }
}

#[test]
fn a_restart_abandons_the_old_byes() {
    let t0 = Instant::now();
    let mut m = machine();
    let t = started(&mut m, t0);
    m.stop(t);
    assert_eq!(m.poll(t).len(), 3);
    m.start(t + ms(1));
    let sent = drain(&mut m, t + Duration::from_secs(5));
    assert!(!sent.is_empty());
    assert!(
        sent.iter()
            .all(|(_, s)| matches!(parsed(s), Incoming::Hello(_)))
    );
    assert_eq!(
        Outcome::Dropped(Dropped::Duplicate).to_string(),
        "dropped: repeated MessageID"
    );
}

#[test]
fn https_only_devices_advertise_https_xaddrs() {
    let t0 = Instant::now();
    let tls_only = Config {
        http: HttpEndpoint {
            port: 8443,
            tls: true,
            advertised: None,
        },
        ..config()
    };
    let mut m = machine_with(12, tls_only, facts());
    let t = started(&mut m, t0);
    let reply = answered(&mut m, &any_probe("urn:uuid:tls"), t).expect("answered");
    let xaddrs = &reply.matches[0].xaddrs;
    assert!(!xaddrs.is_empty());
    for x in xaddrs {
        assert!(
            x.starts_with("https://") && x.contains(":8443/onvif/device_service"),
            "{x}"
        );
    }
}
