//! The WS-Discovery target service as a state machine without I/O.
//!
//! Time (`now`) and randomness (a seeded [`fastrand::Rng`]) come in from outside; the socket
//! layer feeds received datagrams to [`Machine::received`], and sends what [`Machine::poll`]
//! releases, waking up at [`Machine::next_wakeup`]. Every rule is therefore tested with
//! simulated time (`machine/tests.rs`).
//!
//! What it does, as ONVIF Core ("Device discovery") and WS-Discovery (April 2005) say:
//! - **Hello** on every taking-part interface when started, when the metadata (types, scopes,
//!   addresses) changes, and when the device becomes discoverable again; each Hello carries the
//!   addresses of the interface it is sent on, and the MetadataVersion is incremented at every
//!   change.
//! - **Bye** on every interface, at once, when stopped or when the device becomes
//!   non-discoverable (the last message before it falls silent).
//! - **Probe**: answered with a unicast ProbeMatches to the sender when every requested type
//!   is one of the device's (by namespace URI and local name) and every requested scope matches
//!   one of its scopes under the requested `MatchBy` rule (see `machine/matching.rs`). A Probe
//!   that does not match gets no answer. An unsupported rule in a directed (unicast) Probe is
//!   answered with a `d:MatchingRuleNotSupported` fault; in a multicast Probe it is ignored
//!   (ONVIF Core, "SOAP Fault Messages": no error responses to multicast).
//! - **Resolve** for the device's endpoint reference: answered with ResolveMatches.
//! - **NonDiscoverable**: no Hello, no answers at all; datagrams are not even parsed.
//! - Replies advertise the address(es) of the interface the request came in on (a directed
//!   Probe to a local address: that address), or the configured advertised address instead.
//!   IPv6 link-local addresses are never advertised.
//! - `d:AppSequence`: `InstanceId` is the caller's (incremented at every start); the
//!   `MessageNumber` increases with every message sent (numbers are assigned when a message is
//!   first transmitted, so they increase in sending order; the repetitions of one message are
//!   the same message and keep its number).
//!
//! # Timing
//! - [`APP_MAX_DELAY`] (500 ms), WS-Discovery (April 2005), "Protocol Assignments": Hello
//!   waits a random time in [0, APP_MAX_DELAY] ("Hello"), and so do the answers to a Probe or
//!   Resolve sent multicast ("Probe Match", "Resolve Match"), so that the many answers to one
//!   multicast request do not arrive together. The delay serves only multicast requests: a
//!   directed Probe has a single responder, and is answered at once. Bye is not delayed.
//! - Repetition, SOAP-over-UDP (September 2004, the version WS-Discovery 2005/04 refers to),
//!   Appendix I, "Example retransmission algorithm": a message is transmitted
//!   [`MULTICAST_UDP_REPEAT`] (4) times when multicast and [`UNICAST_UDP_REPEAT`] (2) times when
//!   unicast; the first repetition follows after a random T in
//!   [[`UDP_MIN_DELAY`] (50 ms), [`UDP_MAX_DELAY`] (250 ms)], and T doubles after each
//!   transmission, up to [`UDP_UPPER_DELAY`] (500 ms). (SOAP-over-UDP 1.1, 2009, later lowered
//!   both counts to one retransmission.)
//!
//! # Abuse resistance
//! Replies are rate-limited by token buckets, overall and per source (an IPv4 address, an
//! IPv6 /64), see [`RateLimits`]; a request repeated with the same MessageID from the same
//! source within [`DUPLICATE_WINDOW`] is answered once. Everything is bounded: the queue of
//! sends ([`MAX_QUEUED`], with room kept for announcements), the remembered MessageIDs
//! ([`MAX_REMEMBERED_IDS`]) and sources ([`MAX_SOURCES`]). Every drop is counted in
//! [`Counters`].

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::message::{self, AppSequence, Description, Incoming, ParseError, TypeName};

mod limit;
mod matching;
#[cfg(test)]
mod tests;

use limit::{Bucket, PerSource, RecentIds, SourceKey};

/// WS-Discovery (April 2005), "Protocol Assignments": the longest random delay before a
/// Hello and before answering a multicast Probe or Resolve.
pub const APP_MAX_DELAY: Duration = Duration::from_millis(500);
/// SOAP-over-UDP (September 2004), Appendix I: transmissions of a multicast message.
pub const MULTICAST_UDP_REPEAT: u8 = 4;
/// SOAP-over-UDP (September 2004), Appendix I: transmissions of a unicast message.
pub const UNICAST_UDP_REPEAT: u8 = 2;
/// SOAP-over-UDP (September 2004), Appendix I: lower bound of the first repetition delay.
pub const UDP_MIN_DELAY: Duration = Duration::from_millis(50);
/// SOAP-over-UDP (September 2004), Appendix I: upper bound of the first repetition delay.
pub const UDP_MAX_DELAY: Duration = Duration::from_millis(250);
/// SOAP-over-UDP (September 2004), Appendix I: the repetition delay doubles up to this.
pub const UDP_UPPER_DELAY: Duration = Duration::from_millis(500);
/// A request with a MessageID seen from the same source within this window is a repetition
/// (SOAP-over-UDP repeats each message for about 1.25 s at most).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(5);
/// Most messages waiting to be sent (each with its remaining repetitions).
pub const MAX_QUEUED: usize = 256;
/// Most queued replies: the rest of [`MAX_QUEUED`] stays free for Hello and Bye.
pub const MAX_QUEUED_REPLIES: usize = 192;
/// Most MessageIDs remembered for duplicate detection.
pub const MAX_REMEMBERED_IDS: usize = 512;
/// Most sources with their own rate-limit bucket.
pub const MAX_SOURCES: usize = 1024;
/// The path of the device service in every XAddr.
pub const DEVICE_SERVICE_PATH: &str = "/onvif/device_service";

/// Reply rate limits (token buckets: a rate per second and a burst).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimits {
    /// Replies per second, all sources together.
    pub global_per_sec: f64,
    /// Replies that may be sent at once, all sources together.
    pub global_burst: u32,
    /// Replies per second to one source (IPv4 address or IPv6 /64).
    pub source_per_sec: f64,
    /// Replies that may be sent at once to one source.
    pub source_burst: u32,
}

impl Default for RateLimits {
    /// 40 replies/s (burst 80) overall, 4/s (burst 8) per source.
    fn default() -> Self {
        RateLimits {
            global_per_sec: 40.0,
            global_burst: 80,
            source_per_sec: 4.0,
            source_burst: 8,
        }
    }
}

/// What the device announces and answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceFacts {
    /// The stable endpoint reference address (`urn:uuid:`).
    pub endpoint_reference: String,
    /// Types: `tds:Device` always, `dn:NetworkVideoTransmitter` when configured.
    pub types: Vec<TypeName>,
    /// The device's scopes (GetScopes).
    pub scopes: Vec<String>,
    /// Discovery mode: `false` is NonDiscoverable.
    pub discoverable: bool,
}

/// A network interface taking part in discovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Kernel interface index.
    pub index: u32,
    /// Kernel name, for logs.
    pub name: String,
    /// Its addresses (IPv6 link-local ones included; they are never advertised).
    pub addrs: Vec<IpAddr>,
}

impl From<&crate::host::net::Interface> for Interface {
    fn from(i: &crate::host::net::Interface) -> Self {
        Interface {
            index: i.index,
            name: i.name.clone(),
            addrs: i
                .ipv4
                .iter()
                .map(|(a, _)| IpAddr::V4(*a))
                .chain(i.ipv6.iter().map(|(a, _)| IpAddr::V6(*a)))
                .collect(),
        }
    }
}

/// Where the device service listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpEndpoint {
    /// The HTTP port of the device service.
    pub port: u16,
    /// Whether that port speaks HTTPS (XAddrs `https://`: HTTP is off).
    pub tls: bool,
    /// `host:port` that replaces every XAddr's address when set (NAT, reverse proxy).
    pub advertised: Option<String>,
}

/// Settings fixed when the machine is made.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `AppSequence/@InstanceId`: the caller's persisted counter, incremented at every start.
    pub instance_id: u32,
    /// The MetadataVersion to start from (persist [`Machine::metadata_version`] to keep it
    /// increasing across restarts).
    pub metadata_version: u32,
    /// Where the device service listens.
    pub http: HttpEndpoint,
    /// Reply rate limits.
    pub limits: RateLimits,
}

/// Where a datagram goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    /// The WS-Discovery multicast group (`239.255.255.250` or `ff02::c`, port 3702) through
    /// the interface `ifindex`.
    Multicast {
        /// Interface index.
        ifindex: u32,
        /// The IPv6 group rather than the IPv4 one.
        v6: bool,
    },
    /// One address (the source of a request).
    Unicast(SocketAddr),
}

/// A datagram to send now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Send {
    /// Destination.
    pub to: Dest,
    /// The message.
    pub bytes: Vec<u8>,
}

/// What became of a received datagram (for a debug log line).
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An answer is queued, to be sent first at `at`.
    Queued {
        /// When its first transmission is due.
        at: Instant,
    },
    /// Nothing to answer (the normal fate of most datagrams).
    Ignored(Ignored),
    /// Refused (malformed, repeated, over a limit).
    Dropped(Dropped),
}

/// Why nothing is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ignored {
    /// The machine is not started, or stopped.
    NotRunning,
    /// The device is NonDiscoverable.
    NonDiscoverable,
    /// Not a Probe or Resolve (Hello, Bye, matches of other devices, faults).
    NotARequest,
    /// Arrived on an interface that does not take part.
    NotParticipating,
    /// The Probe or Resolve does not match this device.
    NoMatch,
    /// A multicast Probe with a `MatchBy` rule railgate does not support.
    UnsupportedMatchingRule,
}

/// Why a datagram was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Dropped {
    /// Not understood.
    Malformed(ParseError),
    /// From port 0, or from a multicast, broadcast or unspecified address.
    BadSource,
    /// A repetition of a request already handled.
    Duplicate,
    /// The source's reply budget is spent.
    RateLimitedSource,
    /// The overall reply budget is spent.
    RateLimitedGlobal,
    /// The reply queue is full.
    QueueFull,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ignored::NotRunning => "discovery is not running",
            Ignored::NonDiscoverable => "the device is NonDiscoverable",
            Ignored::NotARequest => "not a Probe or Resolve",
            Ignored::NotParticipating => "arrived on an interface that does not take part",
            Ignored::NoMatch => "does not match this device",
            Ignored::UnsupportedMatchingRule => "unsupported MatchBy rule in a multicast Probe",
        })
    }
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dropped::Malformed(e) => write!(f, "malformed: {e}"),
            Dropped::BadSource => f.write_str("unusable source address"),
            Dropped::Duplicate => f.write_str("repeated MessageID"),
            Dropped::RateLimitedSource => f.write_str("rate limit of the source"),
            Dropped::RateLimitedGlobal => f.write_str("overall rate limit"),
            Dropped::QueueFull => f.write_str("send queue full"),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Queued { .. } => f.write_str("answer queued"),
            Outcome::Ignored(i) => write!(f, "ignored: {i}"),
            Outcome::Dropped(d) => write!(f, "dropped: {d}"),
        }
    }
}

/// What happened since the start, for the logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Datagrams handed to [`Machine::received`].
    pub received: u64,
    /// Not understood.
    pub malformed: u64,
    /// Ignored while NonDiscoverable.
    pub non_discoverable: u64,
    /// Not a Probe or Resolve, or arrived while not running.
    pub not_requests: u64,
    /// Arrived on an interface that does not take part.
    pub not_participating: u64,
    /// Probes and Resolves that do not match (unsupported rules in multicast Probes too).
    pub not_matching: u64,
    /// Unusable source addresses.
    pub bad_source: u64,
    /// Repetitions of a request already handled.
    pub duplicates: u64,
    /// Replies refused by the source's rate limit.
    pub rate_limited_source: u64,
    /// Replies refused by the overall rate limit.
    pub rate_limited_global: u64,
    /// Messages refused because the queue was full.
    pub queue_full: u64,
    /// Replies queued (ProbeMatches, ResolveMatches).
    pub replies: u64,
    /// `MatchingRuleNotSupported` faults queued.
    pub faults: u64,
    /// Hello and Bye messages queued (one per interface and address family).
    pub announcements: u64,
    /// Messages not sent because no address was left to advertise when they fell due.
    pub unsendable: u64,
    /// Datagrams released by [`Machine::poll`] (repetitions included).
    pub sent: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    Running,
    Stopped,
}

/// A message to build when it is first due (so numbers follow the sending order and the
/// current facts are used), or already built (for its repetitions).
#[derive(Debug)]
enum Job {
    Hello { ifindex: u32, v6: bool },
    Bye { endpoint: String },
    ProbeMatch(ReplyTo),
    ResolveMatch(ReplyTo),
    Fault { relates_to: String },
    Built(Vec<u8>),
}

/// How a request arrived, which decides the XAddrs of its answer.
#[derive(Debug)]
struct ReplyTo {
    relates_to: String,
    local: IpAddr,
    ifindex: u32,
    multicast: bool,
}

#[derive(Debug)]
struct Pending {
    due: Instant,
    order: u64,
    to: Dest,
    job: Job,
    /// Transmissions left, this one included.
    left: u8,
    /// Delay before the next repetition.
    gap: Duration,
}

/// The target service.
#[derive(Debug)]
pub struct Machine {
    facts: DeviceFacts,
    interfaces: Vec<Interface>,
    http: HttpEndpoint,
    limits: RateLimits,
    instance_id: u32,
    next_number: u32,
    metadata_version: u32,
    rng: fastrand::Rng,
    state: State,
    queue: Vec<Pending>,
    next_order: u64,
    recent: RecentIds,
    global: Option<Bucket>,
    sources: PerSource,
    counters: Counters,
}

impl Machine {
    /// A machine that does nothing until [`Machine::start`].
    pub fn new(
        config: Config,
        facts: DeviceFacts,
        interfaces: Vec<Interface>,
        rng: fastrand::Rng,
    ) -> Machine {
        Machine {
            facts,
            interfaces: dedup_interfaces(interfaces),
            http: config.http,
            limits: config.limits,
            instance_id: config.instance_id,
            next_number: 1,
            metadata_version: config.metadata_version,
            rng,
            state: State::Idle,
            queue: Vec::new(),
            next_order: 0,
            recent: RecentIds::new(DUPLICATE_WINDOW, MAX_REMEMBERED_IDS),
            global: None,
            sources: PerSource::new(MAX_SOURCES),
            counters: Counters::default(),
        }
    }

    /// Starts: a Hello on every interface (when discoverable), after the random delay.
    /// Whatever a previous run left queued (the last repetitions of its Bye) is abandoned.
    pub fn start(&mut self, now: Instant) {
        if self.state == State::Running {
            return;
        }
        self.state = State::Running;
        self.queue.clear();
        if self.facts.discoverable {
            self.announce_hello(now);
        }
    }

    /// Stops: pending messages are abandoned and a Bye goes out at once on every interface
    /// (when discoverable); [`Machine::poll`] releases it now. Its repetitions follow within
    /// about a second: keep polling until [`Machine::next_wakeup`] is `None` to send them.
    pub fn stop(&mut self, now: Instant) {
        if self.state == State::Running {
            self.queue.clear();
            if self.facts.discoverable {
                let endpoint = self.facts.endpoint_reference.clone();
                self.announce_bye(endpoint, now);
            }
        }
        self.state = State::Stopped;
    }

    /// New facts (scopes set through SetScopes, discovery mode, types). A change of types,
    /// scopes or endpoint reference increments the MetadataVersion and is announced with a
    /// Hello; becoming NonDiscoverable sends a Bye and falls silent; becoming discoverable
    /// again sends a Hello.
    pub fn facts_changed(&mut self, facts: DeviceFacts, now: Instant) {
        let old = std::mem::replace(&mut self.facts, facts);
        let new = &self.facts;
        let endpoint_changed = old.endpoint_reference != new.endpoint_reference;
        let metadata_changed =
            endpoint_changed || old.types != new.types || old.scopes != new.scopes;
        if metadata_changed {
            self.bump_metadata_version();
        }
        if self.state != State::Running {
            return;
        }
        match (old.discoverable, self.facts.discoverable) {
            (true, false) => {
                self.queue.clear();
                self.announce_bye(old.endpoint_reference, now);
            }
            (false, true) => self.announce_hello(now),
            (true, true) if endpoint_changed => {
                self.queue.clear();
                self.announce_bye(old.endpoint_reference, now);
                self.announce_hello(now);
            }
            (true, true) if metadata_changed => self.announce_hello(now),
            _ => {}
        }
    }

    /// The interfaces taking part changed (or their addresses): the MetadataVersion is
    /// incremented and a Hello announces the new addresses (when discoverable).
    pub fn interfaces_changed(&mut self, interfaces: Vec<Interface>, now: Instant) {
        let interfaces = dedup_interfaces(interfaces);
        if interfaces == self.interfaces {
            return;
        }
        self.interfaces = interfaces;
        self.addresses_changed(now);
    }

    /// The HTTP port or the advertised address changed: like [`Machine::interfaces_changed`].
    pub fn http_changed(&mut self, http: HttpEndpoint, now: Instant) {
        if http == self.http {
            return;
        }
        self.http = http;
        self.addresses_changed(now);
    }

    /// Handles one received datagram: `from` its source, `local` the address it was sent to
    /// (the group for multicast), `ifindex` the interface it arrived on (0 if unknown),
    /// `multicast` whether it was sent to the group.
    pub fn received(
        &mut self,
        datagram: &[u8],
        from: SocketAddr,
        local: IpAddr,
        ifindex: u32,
        multicast: bool,
        now: Instant,
    ) -> Outcome {
        self.counters.received += 1;
        if self.state != State::Running {
            self.counters.not_requests += 1;
            return Outcome::Ignored(Ignored::NotRunning);
        }
        if !self.facts.discoverable {
            // ONVIF Core, "Modes of operation": a non-discoverable device does not listen.
            self.counters.non_discoverable += 1;
            return Outcome::Ignored(Ignored::NonDiscoverable);
        }
        let incoming = match message::parse(datagram) {
            Ok(m) => m,
            Err(e) => {
                self.counters.malformed += 1;
                return Outcome::Dropped(Dropped::Malformed(e));
            }
        };
        let message_id = match &incoming {
            Incoming::Probe(p) => p.message_id.clone(),
            Incoming::Resolve(r) => r.message_id.clone(),
            _ => {
                self.counters.not_requests += 1;
                return Outcome::Ignored(Ignored::NotARequest);
            }
        };
        let from_ip = from.ip().to_canonical();
        let local = local.to_canonical();
        if from.port() == 0 || !usable_source(from_ip) {
            self.counters.bad_source += 1;
            return Outcome::Dropped(Dropped::BadSource);
        }
        if !self.participates(local, ifindex, multicast) {
            self.counters.not_participating += 1;
            return Outcome::Ignored(Ignored::NotParticipating);
        }
        if !self.recent.first_time(from_ip, &message_id, now) {
            self.counters.duplicates += 1;
            return Outcome::Dropped(Dropped::Duplicate);
        }
        let reply_to = ReplyTo {
            relates_to: message_id,
            local,
            ifindex,
            multicast,
        };
        let job = match incoming {
            Incoming::Probe(p) => match matching::rule(p.match_by.as_deref()) {
                None if multicast => {
                    self.counters.not_matching += 1;
                    return Outcome::Ignored(Ignored::UnsupportedMatchingRule);
                }
                None => Job::Fault {
                    relates_to: reply_to.relates_to,
                },
                Some(rule) => {
                    let matches = matching::types_match(&p.types, &self.facts.types)
                        && matching::scopes_match(rule, &p.scopes, &self.facts.scopes);
                    if !matches {
                        self.counters.not_matching += 1;
                        return Outcome::Ignored(Ignored::NoMatch);
                    }
                    Job::ProbeMatch(reply_to)
                }
            },
            Incoming::Resolve(r) => {
                if !same_endpoint(&r.endpoint, &self.facts.endpoint_reference) {
                    self.counters.not_matching += 1;
                    return Outcome::Ignored(Ignored::NoMatch);
                }
                Job::ResolveMatch(reply_to)
            }
            _ => return Outcome::Ignored(Ignored::NotARequest),
        };
        self.queue_reply(job, from, multicast, now)
    }

    /// The datagrams due at `now`, in order; repetitions are rescheduled.
    pub fn poll(&mut self, now: Instant) -> Vec<Send> {
        let (mut due, rest): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.queue)
            .into_iter()
            .partition(|p| p.due <= now);
        self.queue = rest;
        due.sort_by_key(|p| (p.due, p.order));
        let mut out = Vec::with_capacity(due.len());
        for mut p in due {
            let job = std::mem::replace(&mut p.job, Job::Built(Vec::new()));
            let Some(bytes) = self.build(job) else {
                self.counters.unsendable += 1;
                continue;
            };
            self.counters.sent += 1;
            p.left = p.left.saturating_sub(1);
            if p.left == 0 {
                out.push(Send { to: p.to, bytes });
                continue;
            }
            out.push(Send {
                to: p.to,
                bytes: bytes.clone(),
            });
            p.job = Job::Built(bytes);
            p.due = now + p.gap;
            p.gap = (p.gap * 2).min(UDP_UPPER_DELAY);
            p.order = self.order();
            self.queue.push(p);
        }
        out
    }

    /// When [`Machine::poll`] next has something to release; `None` when nothing is queued.
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.queue.iter().map(|p| p.due).min()
    }

    /// The counters since the machine was made.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The current MetadataVersion (persist it to keep it increasing across restarts).
    pub fn metadata_version(&self) -> u32 {
        self.metadata_version
    }

    /// The AppSequence the next message will carry. The InstanceId is the configured one
    /// unless the MessageNumber ran out (after 2³²−1 messages), which moves to the next
    /// InstanceId as WS-Discovery requires.
    pub fn app_sequence(&self) -> AppSequence {
        AppSequence {
            instance_id: self.instance_id,
            message_number: self.next_number,
        }
    }

    /// The current facts.
    pub fn facts(&self) -> &DeviceFacts {
        &self.facts
    }

    /// Messages waiting (each with its remaining repetitions).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    fn order(&mut self) -> u64 {
        self.next_order = self.next_order.wrapping_add(1);
        self.next_order
    }

    fn bump_metadata_version(&mut self) {
        self.metadata_version = self.metadata_version.saturating_add(1);
    }

    fn addresses_changed(&mut self, now: Instant) {
        self.bump_metadata_version();
        if self.state == State::Running && self.facts.discoverable {
            self.announce_hello(now);
        }
    }

    /// A random time in [0, APP_MAX_DELAY].
    fn app_delay(&mut self) -> Duration {
        let max = u64::try_from(APP_MAX_DELAY.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(self.rng.u64(0..=max))
    }

    /// A random first repetition delay in [UDP_MIN_DELAY, UDP_MAX_DELAY].
    fn first_gap(&mut self) -> Duration {
        let min = u64::try_from(UDP_MIN_DELAY.as_micros()).unwrap_or(0);
        let max = u64::try_from(UDP_MAX_DELAY.as_micros()).unwrap_or(min);
        Duration::from_micros(self.rng.u64(min..=max.max(min)))
    }

    fn push(&mut self, due: Instant, to: Dest, job: Job, left: u8) -> bool {
        if self.queue.len() >= MAX_QUEUED {
            self.counters.queue_full += 1;
            return false;
        }
        let gap = self.first_gap();
        let order = self.order();
        self.queue.push(Pending {
            due,
            order,
            to,
            job,
            left,
            gap,
        });
        true
    }

    /// The multicast groups to announce on: (ifindex, v6) for each interface and each family
    /// of which it has an address to advertise.
    fn groups(&self) -> Vec<(u32, bool)> {
        let mut out = Vec::new();
        for i in &self.interfaces {
            for v6 in [false, true] {
                if i.addrs
                    .iter()
                    .any(|a| a.is_ipv6() == v6 && advertisable(*a))
                {
                    out.push((i.index, v6));
                }
            }
        }
        out
    }

    /// Queues a Hello per group, replacing Hellos not yet sent.
    fn announce_hello(&mut self, now: Instant) {
        self.queue.retain(|p| !matches!(p.job, Job::Hello { .. }));
        for (ifindex, v6) in self.groups() {
            let due = now + self.app_delay();
            let to = Dest::Multicast { ifindex, v6 };
            if self.push(due, to, Job::Hello { ifindex, v6 }, MULTICAST_UDP_REPEAT) {
                self.counters.announcements += 1;
            }
        }
    }

    /// Queues a Bye per group, due now.
    fn announce_bye(&mut self, endpoint: String, now: Instant) {
        for (ifindex, v6) in self.groups() {
            let to = Dest::Multicast { ifindex, v6 };
            let job = Job::Bye {
                endpoint: endpoint.clone(),
            };
            if self.push(now, to, job, MULTICAST_UDP_REPEAT) {
                self.counters.announcements += 1;
            }
        }
    }

    fn queue_reply(
        &mut self,
        job: Job,
        from: SocketAddr,
        multicast: bool,
        now: Instant,
    ) -> Outcome {
        let replies = self
            .queue
            .iter()
            .filter(|p| !matches!(p.to, Dest::Multicast { .. }))
            .count();
        if replies >= MAX_QUEUED_REPLIES || self.queue.len() >= MAX_QUEUED {
            self.counters.queue_full += 1;
            return Outcome::Dropped(Dropped::QueueFull);
        }
        let l = self.limits;
        let source = self.sources.bucket(
            SourceKey::of(from.ip()),
            l.source_per_sec,
            l.source_burst,
            now,
        );
        if !source.ready(l.source_per_sec, l.source_burst, now) {
            self.counters.rate_limited_source += 1;
            return Outcome::Dropped(Dropped::RateLimitedSource);
        }
        let global = self
            .global
            .get_or_insert_with(|| Bucket::full(l.global_burst, now));
        if !global.ready(l.global_per_sec, l.global_burst, now) {
            self.counters.rate_limited_global += 1;
            return Outcome::Dropped(Dropped::RateLimitedGlobal);
        }
        global.take();
        source.take();
        if matches!(job, Job::Fault { .. }) {
            self.counters.faults += 1;
        } else {
            self.counters.replies += 1;
        }
        // WS-Discovery: answers to multicast requests wait a random time; directed ones not.
        let at = if multicast {
            now + self.app_delay()
        } else {
            now
        };
        self.push(at, Dest::Unicast(from), job, UNICAST_UDP_REPEAT);
        Outcome::Queued { at }
    }

    /// The next AppSequence; the MessageNumber never wraps within an InstanceId.
    fn next_sequence(&mut self) -> AppSequence {
        let seq = self.app_sequence();
        if self.next_number == u32::MAX {
            self.instance_id = self.instance_id.wrapping_add(1);
            self.next_number = 1;
        } else {
            self.next_number += 1;
        }
        seq
    }

    fn message_id(&mut self) -> String {
        message::message_id_from(self.rng.u128(..).to_le_bytes())
    }

    /// Builds a message when it is first due; `None` when it has no address to advertise.
    /// The MessageNumber is taken only for a message that is sent.
    fn build(&mut self, job: Job) -> Option<Vec<u8>> {
        match job {
            Job::Built(bytes) => Some(bytes),
            Job::Bye { endpoint } => {
                let (id, seq) = (self.message_id(), self.next_sequence());
                Some(message::bye(&id, seq, &endpoint))
            }
            Job::Fault { relates_to } => {
                let id = self.message_id();
                Some(message::matching_rule_not_supported(&id, &relates_to))
            }
            Job::Hello { ifindex, v6 } => {
                let xaddrs = self.hello_xaddrs(ifindex, v6);
                if xaddrs.is_empty() {
                    return None;
                }
                let (id, seq) = (self.message_id(), self.next_sequence());
                Some(message::hello(&id, seq, &self.description(&xaddrs)))
            }
            Job::ProbeMatch(r) => {
                let xaddrs = self.reply_xaddrs(&r);
                if xaddrs.is_empty() {
                    return None;
                }
                let (id, seq) = (self.message_id(), self.next_sequence());
                let d = self.description(&xaddrs);
                Some(message::probe_matches(&id, &r.relates_to, seq, Some(&d)))
            }
            Job::ResolveMatch(r) => {
                let xaddrs = self.reply_xaddrs(&r);
                if xaddrs.is_empty() {
                    return None;
                }
                let (id, seq) = (self.message_id(), self.next_sequence());
                let d = self.description(&xaddrs);
                Some(message::resolve_matches(&id, &r.relates_to, seq, Some(&d)))
            }
        }
    }

    fn description<'a>(&'a self, xaddrs: &'a [String]) -> Description<'a> {
        Description {
            endpoint_reference: &self.facts.endpoint_reference,
            types: &self.facts.types,
            scopes: &self.facts.scopes,
            xaddrs,
            metadata_version: self.metadata_version,
        }
    }

    fn interface(&self, ifindex: u32) -> Option<&Interface> {
        self.interfaces
            .iter()
            .find(|i| ifindex != 0 && i.index == ifindex)
    }

    /// Whether a request that arrived this way is for discovery on a taking-part interface.
    /// A unicast request is also accepted when it was sent to one of their addresses, or to
    /// a loopback address (a local check such as `railgate discover 127.0.0.1`).
    fn participates(&self, local: IpAddr, ifindex: u32, multicast: bool) -> bool {
        if self.interface(ifindex).is_some() {
            return true;
        }
        !multicast
            && (local.is_loopback() || self.interfaces.iter().any(|i| i.addrs.contains(&local)))
    }

    fn scheme(&self) -> &'static str {
        if self.http.tls { "https" } else { "http" }
    }

    fn xaddr(&self, ip: IpAddr) -> String {
        let (scheme, port) = (self.scheme(), self.http.port);
        match ip {
            IpAddr::V4(a) => format!("{scheme}://{a}:{port}{DEVICE_SERVICE_PATH}"),
            IpAddr::V6(a) => format!("{scheme}://[{a}]:{port}{DEVICE_SERVICE_PATH}"),
        }
    }

    fn advertised_xaddrs(&self) -> Option<Vec<String>> {
        let scheme = self.scheme();
        self.http
            .advertised
            .as_ref()
            .map(|a| vec![format!("{scheme}://{a}{DEVICE_SERVICE_PATH}")])
    }

    /// The advertisable addresses of an interface as XAddrs, one family first.
    fn interface_xaddrs(&self, interface: &Interface, v6_first: bool) -> Vec<String> {
        let usable = || interface.addrs.iter().copied().filter(|a| advertisable(*a));
        usable()
            .filter(|a| a.is_ipv6() == v6_first)
            .chain(usable().filter(|a| a.is_ipv6() != v6_first))
            .map(|a| self.xaddr(a))
            .collect()
    }

    /// The XAddrs of the Hello sent on one group; empty when there is nothing to announce
    /// there (the interface is gone, or has no address of that family any more).
    fn hello_xaddrs(&self, ifindex: u32, v6: bool) -> Vec<String> {
        let Some(interface) = self.interface(ifindex) else {
            return Vec::new();
        };
        if !interface
            .addrs
            .iter()
            .any(|a| a.is_ipv6() == v6 && advertisable(*a))
        {
            return Vec::new();
        }
        self.advertised_xaddrs()
            .unwrap_or_else(|| self.interface_xaddrs(interface, v6))
    }

    /// The XAddrs of an answer: the advertised address if configured; for a directed request
    /// the local address it was sent to; otherwise the addresses of the arrival interface,
    /// the request's family first.
    fn reply_xaddrs(&self, r: &ReplyTo) -> Vec<String> {
        if let Some(advertised) = self.advertised_xaddrs() {
            return advertised;
        }
        if !r.multicast && advertisable(r.local) {
            return vec![self.xaddr(r.local)];
        }
        let interface = self.interface(r.ifindex).or_else(|| {
            self.interfaces
                .iter()
                .find(|i| !r.multicast && i.addrs.contains(&r.local))
        });
        interface
            .map(|i| self.interface_xaddrs(i, r.local.is_ipv6()))
            .unwrap_or_default()
    }
}

/// Whether an address may appear in an XAddr (IPv6 link-local ones may not: they need a zone
/// that means nothing to the client).
fn advertisable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !a.is_unspecified() && !a.is_multicast() && !a.is_broadcast(),
        IpAddr::V6(a) => !a.is_unspecified() && !a.is_multicast() && !a.is_unicast_link_local(),
    }
}

/// Whether replies may go to this source address.
fn usable_source(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !a.is_unspecified() && !a.is_multicast() && !a.is_broadcast(),
        IpAddr::V6(a) => !a.is_unspecified() && !a.is_multicast(),
    }
}

/// Endpoint reference addresses are compared as strings; `urn:uuid:` ones ignoring case
/// (RFC 4122: UUIDs are case-insensitive on input).
fn same_endpoint(asked: &str, ours: &str) -> bool {
    let is_uuid = |s: &str| {
        s.get(..9)
            .is_some_and(|p| p.eq_ignore_ascii_case("urn:uuid:"))
    };
    asked == ours || (is_uuid(asked) && is_uuid(ours) && asked.eq_ignore_ascii_case(ours))
}

/// One entry per interface index (the first), addresses in canonical form.
fn dedup_interfaces(interfaces: Vec<Interface>) -> Vec<Interface> {
    let mut out: Vec<Interface> = Vec::with_capacity(interfaces.len());
    for mut i in interfaces {
        if out.iter().any(|o| o.index == i.index) {
            continue;
        }
        for a in &mut i.addrs {
            *a = a.to_canonical();
        }
        out.push(i);
    }
    out
}
