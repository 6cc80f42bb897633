//! Subscriptions: pull points (and, with a consumer address, basic-notification
//! subscriptions), their filters, lifetimes, positions in the store, and the long poll.
//!
//! A subscription reads the store from a cursor (a sequence number), so nothing a client has
//! not pulled is ever lost while the subscription lives, and Seek is a cursor move. Messages
//! are delivered in this order: the `Initialized` state of every matching property (after
//! creation and after SetSynchronizationPoint), then stored events after the cursor.
//!
//! A subscription belongs to the principal that created it (every anonymous request is one
//! principal). Another principal's request on it is answered as for an id that does not
//! exist ([`SubscriptionError::Unknown`]), so its existence is not revealed; Administrators
//! manage every subscription. Limits hold per principal and globally; Administrators are
//! bounded by the global limits alone.
//!
//! Every client time reaches arithmetic here checked or saturated: a termination time, a
//! PullMessages timeout and message limit, a Seek time at the ends of chrono's range.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::events::store::{EventStore, StoreError};

use super::consumer::Consumer;
use super::core::EventCore;
use super::filter::content::ContentFilter;
use super::filter::topic::TopicFilter;
use super::model::{Event, PropertyOperation, StoredEvent};
use super::topics::beginning_of_buffer;

/// What a subscription lets through.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Topic expressions; all must match (each may have `|` alternatives).
    pub topics: Vec<TopicFilter>,
    /// Message content expressions; all must match.
    pub content: Vec<ContentFilter>,
    /// `tev:ChangedOnly`: no Initialized or Deleted messages.
    pub changed_only: bool,
}

impl Filter {
    /// Whether `event` passes.
    pub fn matches(&self, event: &Event) -> bool {
        if self.changed_only
            && matches!(
                event.operation,
                Some(PropertyOperation::Initialized | PropertyOperation::Deleted)
            )
        {
            return false;
        }
        self.topics.iter().all(|t| t.matches(&event.topic))
            && self
                .content
                .iter()
                .all(|c| c.matches(&event.source, &event.key, &event.data))
    }
}

/// Who sends a request on subscriptions: the owner a new one records, and whether it may
/// manage every one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The authenticated user name; `None` for every anonymous request (one principal).
    pub name: Option<String>,
    /// An Administrator: manages every subscription, bounded by the global limits alone.
    pub admin: bool,
}

impl Caller {
    /// A caller that is not an Administrator.
    pub fn user(name: Option<&str>) -> Caller {
        Caller {
            name: name.map(str::to_string),
            admin: false,
        }
    }

    /// An Administrator.
    pub fn admin(name: &str) -> Caller {
        Caller {
            name: Some(name.to_string()),
            admin: true,
        }
    }

    /// Whether this caller may act on `sub`.
    pub fn may_manage(&self, sub: &Subscription) -> bool {
        self.admin || sub.owner == self.name
    }
}

/// Limits and defaults.
#[derive(Clone, Debug)]
pub struct SubscriptionLimits {
    /// Most pull points at once.
    pub max_pull_points: usize,
    /// Most pull points one principal other than an Administrator holds at once.
    pub max_pull_points_per_user: usize,
    /// Most basic-notification subscriptions at once.
    pub max_push: usize,
    /// Most basic-notification subscriptions one principal other than an Administrator
    /// holds at once.
    pub max_push_per_user: usize,
    /// Lifetime when the client asks for none.
    pub default_lifetime: Duration,
    /// Longest lifetime granted (longer requests are shortened to this).
    pub max_lifetime: Duration,
    /// Longest PullMessages Timeout accepted.
    pub max_pull_timeout: Duration,
    /// Most messages in one PullMessages response.
    pub max_message_limit: usize,
}

impl Default for SubscriptionLimits {
    fn default() -> Self {
        SubscriptionLimits {
            max_pull_points: 512,
            max_pull_points_per_user: 256,
            max_push: 32,
            max_push_per_user: 8,
            default_lifetime: Duration::from_secs(60),
            max_lifetime: Duration::from_secs(24 * 3600),
            max_pull_timeout: Duration::from_secs(600),
            max_message_limit: 1000,
        }
    }
}

/// Where reading stands.
#[derive(Clone, Debug)]
pub struct Cursor {
    /// Forward: the last sequence number read. Reverse: the next read is below this.
    seq: u64,
    reverse: bool,
    /// Property states to deliver first (`Initialized`).
    sync: VecDeque<Event>,
    /// A beginning-of-buffer event is owed (once per Seek).
    begin_pending: bool,
    /// Reverse reading reached the oldest event.
    exhausted: bool,
}

#[derive(Debug)]
struct Position {
    at: Cursor,
    /// Bumped by every change of `at` from outside a delivery (Seek, sync point), so a
    /// delivery that read ahead does not overwrite it.
    version: u64,
    /// The pull in progress, if any (its number, and how to cancel it when a newer one
    /// arrives).
    pulling: Option<(u64, CancellationToken)>,
}

/// Messages read ahead of delivery (basic notification): committed once delivered.
#[derive(Debug)]
pub struct Peeked {
    /// The messages.
    pub events: Vec<Event>,
    /// Where reading stands once they are delivered.
    pub cursor: (Cursor, u64),
}

/// One subscription.
#[derive(Debug)]
pub struct Subscription {
    /// Its id (the last segment of its address).
    pub id: String,
    /// Its filter.
    pub filter: Filter,
    /// Who created it.
    pub owner: Option<String>,
    /// For basic notification: where Notify goes (pinned at Subscribe).
    pub consumer: Option<Consumer>,
    termination: Mutex<DateTime<Utc>>,
    /// The initial termination period (termination − creation): every PullMessages keeps the
    /// pull point alive at least that long from its answer (Core: clients such as Milestone
    /// and Genetec pull without ever renewing).
    period: Duration,
    position: tokio::sync::Mutex<Position>,
    ended: CancellationToken,
    pulls: std::sync::atomic::AtomicU64,
    /// Wakes a waiting pull when messages were queued without a store commit
    /// (SetSynchronizationPoint).
    queued: tokio::sync::Notify,
}

impl Subscription {
    /// When it ends unless renewed.
    pub fn termination(&self) -> DateTime<Utc> {
        *self.termination.lock()
    }

    fn extend_to(&self, at_least: DateTime<Utc>) {
        let mut t = self.termination.lock();
        if *t < at_least {
            *t = at_least;
        }
    }

    fn set_termination(&self, at: DateTime<Utc>) {
        *self.termination.lock() = at;
    }

    /// Cancelled when the subscription ends (unsubscribed, expired, shutdown).
    pub fn ended(&self) -> &CancellationToken {
        &self.ended
    }
}

/// Why a subscription request failed.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    /// No such subscription (or it expired).
    #[error("no such subscription")]
    Unknown,
    /// Too many subscriptions of this kind, in all or for this principal.
    #[error("at most {limit} {kind}{}", if *per_user { " per user" } else { "" })]
    TooMany {
        /// The limit reached.
        limit: usize,
        /// `pull points` or `push subscriptions`.
        kind: &'static str,
        /// Whether it is the principal's limit (not the global one).
        per_user: bool,
    },
    /// A requested termination time in the past.
    #[error("the termination time is in the past")]
    TerminationInPast,
    /// A newer PullMessages on the same pull point took over while this one waited (a
    /// client that timed out and asked again is served by the new one).
    #[error("superseded by a newer PullMessages on this pull point")]
    Superseded,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every live subscription.
#[derive(Debug)]
pub struct Subscriptions {
    map: Mutex<HashMap<String, Arc<Subscription>>>,
    limits: parking_lot::RwLock<SubscriptionLimits>,
    core: EventCore,
    shutdown: CancellationToken,
}

/// A PullMessages outcome.
#[derive(Debug)]
pub struct Pulled {
    /// The messages, in delivery order.
    pub events: Vec<Event>,
    /// The subscription's termination time after the pull.
    pub termination: DateTime<Utc>,
}

impl Subscriptions {
    /// An empty set.
    pub fn new(core: EventCore, limits: SubscriptionLimits, shutdown: CancellationToken) -> Self {
        Subscriptions {
            map: Mutex::new(HashMap::new()),
            limits: parking_lot::RwLock::new(limits),
            core,
            shutdown,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> SubscriptionLimits {
        self.limits.read().clone()
    }

    /// New limits (a reload): new subscriptions meet them; those already there stay, also
    /// above a lowered limit, until they end.
    pub fn set_limits(&self, limits: SubscriptionLimits) {
        *self.limits.write() = limits;
    }

    fn store(&self) -> &EventStore {
        self.core.store()
    }

    /// Termination for a requested lifetime: `None` gives the default; longer than the
    /// maximum is shortened; in the past is refused.
    pub fn grant(
        &self,
        requested: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, SubscriptionError> {
        let max = after(now, self.limits.read().max_lifetime);
        match requested {
            None => Ok(after(now, self.limits.read().default_lifetime).min(max)),
            Some(t) if t <= now => Err(SubscriptionError::TerminationInPast),
            Some(t) => Ok(t.min(max)),
        }
    }

    /// Creates a subscription (a pull point when `consumer` is `None`) owned by `caller`,
    /// positioned at the newest event, with the current property states queued. Refused
    /// beyond the global limit of its kind, and (unless `caller` is an Administrator) the
    /// per-principal one.
    pub async fn create(
        &self,
        filter: Filter,
        termination: DateTime<Utc>,
        caller: &Caller,
        consumer: Option<Consumer>,
    ) -> Result<Arc<Subscription>, SubscriptionError> {
        let created = Utc::now();
        self.expire(created);
        let period = (termination - created).to_std().unwrap_or(Duration::ZERO);
        let sync: VecDeque<Event> = self
            .core
            .snapshot()
            .await
            .into_iter()
            .filter(|e| filter.matches(e))
            .collect();
        let cursor = self.store().latest_seq();
        let id = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(crate::security::random_bytes::<12>())
        };
        let sub = Arc::new(Subscription {
            id: id.clone(),
            filter,
            owner: caller.name.clone(),
            consumer,
            termination: Mutex::new(termination),
            period,
            position: tokio::sync::Mutex::new(Position {
                at: Cursor {
                    seq: cursor,
                    reverse: false,
                    sync,
                    begin_pending: false,
                    exhausted: false,
                },
                version: 0,
                pulling: None,
            }),
            ended: self.shutdown.child_token(),
            pulls: std::sync::atomic::AtomicU64::new(0),
            queued: tokio::sync::Notify::new(),
        });
        let push = sub.consumer.is_some();
        let (max, max_per_user, kind) = if push {
            (
                self.limits.read().max_push,
                self.limits.read().max_push_per_user,
                "push subscriptions",
            )
        } else {
            (
                self.limits.read().max_pull_points,
                self.limits.read().max_pull_points_per_user,
                "pull points",
            )
        };
        let mut map = self.map.lock();
        let now = Utc::now();
        let (mut all, mut mine) = (0usize, 0usize);
        for s in map.values() {
            if s.consumer.is_some() == push && s.termination() > now {
                all += 1;
                if s.owner == caller.name {
                    mine += 1;
                }
            }
        }
        if all >= max {
            return Err(SubscriptionError::TooMany {
                limit: max,
                kind,
                per_user: false,
            });
        }
        if !caller.admin && mine >= max_per_user {
            return Err(SubscriptionError::TooMany {
                limit: max_per_user,
                kind,
                per_user: true,
            });
        }
        map.insert(id, sub.clone());
        Ok(sub)
    }

    /// A live subscription by id, if `caller` may act on it: another principal's
    /// subscription is [`SubscriptionError::Unknown`], as a missing one is.
    pub fn get(&self, id: &str, caller: &Caller) -> Result<Arc<Subscription>, SubscriptionError> {
        let now = Utc::now();
        let map = self.map.lock();
        match map.get(id) {
            Some(s) if s.termination() > now && caller.may_manage(s) => Ok(s.clone()),
            _ => Err(SubscriptionError::Unknown),
        }
    }

    /// Ends a subscription (see [`get`](Self::get) for who may).
    pub fn unsubscribe(&self, id: &str, caller: &Caller) -> Result<(), SubscriptionError> {
        let sub = self.get(id, caller)?;
        self.map.lock().remove(id);
        sub.ended.cancel();
        Ok(())
    }

    /// Sets a new termination time (Renew; see [`get`](Self::get) for who may).
    pub fn renew(
        &self,
        id: &str,
        caller: &Caller,
        requested: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, SubscriptionError> {
        let sub = self.get(id, caller)?;
        let granted = self.grant(Some(requested), Utc::now())?;
        sub.set_termination(granted);
        Ok(granted)
    }

    /// Drops every subscription whose termination time has passed.
    pub fn expire(&self, now: DateTime<Utc>) -> usize {
        let mut map = self.map.lock();
        let before = map.len();
        map.retain(|_, s| {
            let live = s.termination() > now;
            if !live {
                s.ended.cancel();
            }
            live
        });
        before - map.len()
    }

    /// How many subscriptions are live (pull points, basic).
    pub fn counts(&self) -> (usize, usize) {
        let map = self.map.lock();
        let push = map.values().filter(|s| s.consumer.is_some()).count();
        (map.len() - push, push)
    }

    /// Queues the current state of every matching property again (SetSynchronizationPoint).
    pub async fn synchronize(&self, sub: &Subscription) {
        let sync: VecDeque<Event> = self
            .core
            .snapshot()
            .await
            .into_iter()
            .filter(|e| sub.filter.matches(e))
            .collect();
        let mut pos = sub.position.lock().await;
        pos.at.sync = sync;
        pos.version += 1;
        drop(pos);
        // A pull waiting now answers with them (a permit is kept if none waits yet).
        sub.queued.notify_one();
    }

    /// Moves the subscription to `t` in the store: forward from the first event at or after
    /// it, or (reverse) backwards from the last event at or before it.
    pub async fn seek(
        &self,
        sub: &Subscription,
        t: DateTime<Utc>,
        reverse: bool,
    ) -> Result<(), SubscriptionError> {
        let (cursor, oldest) = read_blocking(self.store(), move |store| {
            let reader = store.reader();
            let forward = reader.cursor_at(t)?;
            let cursor = if reverse {
                // Read below the first event after t; at the end of time, below everything.
                let after_t = match t.checked_add_signed(chrono::Duration::milliseconds(1)) {
                    Some(later) => reader.cursor_at(later)?,
                    None => store.latest_seq().max(forward),
                };
                after_t.saturating_add(1)
            } else {
                forward
            };
            Ok((cursor, reader.oldest_seq()?))
        })
        .await?;
        let mut pos = sub.position.lock().await;
        // A pull waiting now goes on from the new position (woken below).
        let waiting = pos.pulling.is_some();
        pos.at = Cursor {
            seq: cursor,
            reverse,
            sync: VecDeque::new(),
            exhausted: false,
            // Seeking forward to before the oldest stored event reports the beginning of the
            // buffer at once; reading in reverse reports it when it passes the oldest (in
            // `collect`), so it is never reported twice.
            begin_pending: !reverse && oldest.is_none_or(|o| cursor < o),
        };
        pos.version += 1;
        drop(pos);
        if waiting {
            sub.queued.notify_one();
        }
        Ok(())
    }

    /// PullMessages: up to `limit` messages, waiting up to `timeout` for the first one.
    ///
    /// Keep-alive: the pull point lives at least `timeout` while the pull waits, and from the
    /// answer at least its initial termination period (never shortened: a Renew to a later
    /// time stands), so the answer's TerminationTime is always after its CurrentTime.
    /// `limit` 0 asks for no message: answered at once, empty (a keep-alive).
    pub async fn pull(
        &self,
        sub: &Subscription,
        timeout: Duration,
        limit: usize,
    ) -> Result<Pulled, SubscriptionError> {
        let timeout = timeout.min(self.limits.read().max_pull_timeout);
        sub.extend_to(after(Utc::now(), timeout.max(sub.period)));
        if limit == 0 {
            return Ok(Pulled {
                events: Vec::new(),
                termination: sub.termination(),
            });
        }
        let limit = limit.min(self.limits.read().max_message_limit.max(1));
        let deadline = deadline_after(timeout);
        let mine = CancellationToken::new();
        let number = sub.pulls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        {
            let mut pos = sub.position.lock().await;
            if let Some((_, older)) = pos.pulling.replace((number, mine.clone())) {
                // A client that gave up on its previous pull and asks again wins.
                older.cancel();
            }
        }
        let mut latest = self.store().watch();
        let result = loop {
            latest.borrow_and_update();
            let events = {
                let mut pos = sub.position.lock().await;
                self.collect(&mut pos.at, &sub.filter, limit).await
            };
            match events {
                Ok(events) if events.is_empty() => {}
                done => break done,
            }
            tokio::select! {
                changed = latest.changed() => if changed.is_err() {
                    // The writer is gone. At shutdown the subscription ends too: an empty
                    // answer, as for an ended pull. Otherwise the writer stopped on a fatal
                    // error, and the client is told so rather than answered at once, empty,
                    // pull after pull.
                    if sub.ended.is_cancelled() {
                        break Ok(Vec::new());
                    }
                    break Err(self.store().stopped().into());
                },
                _ = tokio::time::sleep_until(deadline) => break Ok(Vec::new()),
                _ = mine.cancelled() => break Err(SubscriptionError::Superseded),
                _ = sub.queued.notified() => {}
                _ = sub.ended.cancelled() => break Ok(Vec::new()),
            }
        };
        {
            let mut pos = sub.position.lock().await;
            if pos.pulling.as_ref().is_some_and(|(n, _)| *n == number) {
                pos.pulling = None;
            }
        }
        sub.extend_to(after(Utc::now(), sub.period));
        Ok(Pulled {
            events: result?,
            termination: sub.termination(),
        })
    }

    /// Reads ahead for basic notification: waits up to `timeout` for messages and returns
    /// them with the position to [`commit`](Self::commit) once they are delivered.
    pub async fn peek(
        &self,
        sub: &Subscription,
        timeout: Duration,
        limit: usize,
    ) -> Result<Peeked, SubscriptionError> {
        let deadline = deadline_after(timeout);
        let mut latest = self.store().watch();
        loop {
            latest.borrow_and_update();
            let (events, at, version) = {
                let pos = sub.position.lock().await;
                let mut at = pos.at.clone();
                let events = self.collect(&mut at, &sub.filter, limit).await?;
                (events, at, pos.version)
            };
            if !events.is_empty() {
                return Ok(Peeked {
                    events,
                    cursor: (at, version),
                });
            }
            tokio::select! {
                changed = latest.changed() => if changed.is_err() {
                    return Err(if sub.ended.is_cancelled() {
                        SubscriptionError::Unknown
                    } else {
                        self.store().stopped().into()
                    });
                },
                _ = tokio::time::sleep_until(deadline) => return Ok(Peeked { events, cursor: (at, version) }),
                _ = sub.ended.cancelled() => return Err(SubscriptionError::Unknown),
            }
        }
    }

    /// Moves past messages delivered after a [`peek`](Self::peek), unless the position was
    /// changed meanwhile (Seek, synchronization point).
    pub async fn commit(&self, sub: &Subscription, (at, version): (Cursor, u64)) {
        let mut pos = sub.position.lock().await;
        if pos.version == version {
            pos.at = at;
        }
    }

    /// Skips the oldest undelivered events beyond `max` (a consumer far behind); returns how
    /// many were skipped.
    pub async fn skip_backlog(&self, sub: &Subscription, max: u64) -> u64 {
        let latest = self.store().latest_seq();
        let mut pos = sub.position.lock().await;
        if pos.at.reverse || latest.saturating_sub(pos.at.seq) <= max {
            return 0;
        }
        // latest - seq > max, so neither subtraction can wrap.
        let start = latest.saturating_sub(max);
        let skipped = start.saturating_sub(pos.at.seq);
        pos.at.seq = start;
        skipped
    }

    /// Takes up to `limit` deliverable messages and advances `at` past them.
    async fn collect(
        &self,
        at: &mut Cursor,
        filter: &Filter,
        limit: usize,
    ) -> Result<Vec<Event>, SubscriptionError> {
        let mut out = Vec::new();
        if at.begin_pending {
            at.begin_pending = false;
            out.push(begin_event());
        }
        while out.len() < limit {
            let Some(e) = at.sync.pop_front() else { break };
            out.push(e);
        }
        const SCAN: usize = 512;
        while out.len() < limit {
            let store = self.store();
            let batch: Vec<Arc<StoredEvent>> = if at.reverse {
                if at.exhausted {
                    break;
                }
                let below = at.seq;
                let older = read_blocking(store, move |s| s.reader().before(below, SCAN)).await?;
                if older.is_empty() {
                    at.exhausted = true;
                    out.push(begin_event());
                    break;
                }
                older.into_iter().map(Arc::new).collect()
            } else {
                let after = at.seq;
                // Recent events come from memory without a thread hop.
                match store.after_recent(after, SCAN) {
                    Some(recent) => recent,
                    None => read_blocking(store, move |s| s.after(after, SCAN)).await?,
                }
            };
            if batch.is_empty() {
                break;
            }
            for stored in batch {
                if out.len() >= limit {
                    break;
                }
                at.seq = stored.seq;
                if filter.matches(&stored.event) {
                    out.push(stored.event.clone());
                }
            }
        }
        Ok(out)
    }

    /// Runs until shutdown: drops expired subscriptions every second.
    pub async fn janitor(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let n = self.expire(Utc::now());
                    if n > 0 {
                        tracing::debug!(expired = n, "subscriptions expired");
                    }
                }
                _ = self.shutdown.cancelled() => break,
            }
        }
    }
}

/// Runs a read of the store file on a blocking thread, and returns its typed error. A read
/// that panicked panics here too (a bug, not a store failure); one that never ran because the
/// runtime is shutting down is [`StoreErrorKind::Closed`](crate::events::store::StoreErrorKind).
async fn read_blocking<T: Send + 'static>(
    store: &EventStore,
    read: impl FnOnce(&EventStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || read(&store)).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(StoreError::closed()),
    }
}

/// `t + d`, saturated at the end of chrono's range (never panics).
pub fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A tokio deadline `d` from now; far beyond any real wait when `d` does not fit.
fn deadline_after(d: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 86_400)))
        .unwrap_or(now)
}

fn begin_event() -> Event {
    Event {
        utc: super::model::to_millis(Utc::now()),
        topic: beginning_of_buffer(),
        operation: None,
        source: vec![],
        key: vec![],
        data: vec![],
        producer: "railgate".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::store::StoreErrorKind;

    /// A pull on a store whose writer stopped on corruption is answered with the error, not
    /// with an empty answer at once, pull after pull.
    #[tokio::test]
    async fn a_pull_after_the_writer_stopped_reports_why() {
        let tmp = tempfile::tempdir().unwrap();
        let store = crate::events::store::testing::writer_meets_corruption(tmp.path()).await;
        let core = EventCore::new(store.clone());
        let subs = Subscriptions::new(
            core.clone(),
            SubscriptionLimits::default(),
            CancellationToken::new(),
        );
        let sub = subs
            .create(
                Filter::default(),
                Utc::now() + chrono::Duration::minutes(1),
                &Caller::user(None),
                None,
            )
            .await
            .unwrap();
        let raised = core
            .raise(crate::events::store::testing::event(1))
            .await
            .unwrap_err();
        assert_eq!(raised.kind(), StoreErrorKind::Corrupt);
        let pulled = tokio::time::timeout(
            Duration::from_secs(5),
            subs.pull(&sub, Duration::from_secs(60), 10),
        )
        .await
        .expect("answered at once");
        match pulled {
            Err(SubscriptionError::Store(e)) => assert_eq!(e.kind(), StoreErrorKind::Corrupt),
            other => panic!("{other:?}"),
        }
        store.close().await;
    }

    async fn set_up(
        tmp: &std::path::Path,
        limits: SubscriptionLimits,
    ) -> (EventStore, Subscriptions) {
        let store =
            EventStore::open(tmp, crate::events::store::StoreConfig::default()).expect("open");
        let core = EventCore::new(store.clone());
        (
            store,
            Subscriptions::new(core, limits, CancellationToken::new()),
        )
    }

    fn hour() -> DateTime<Utc> {
        Utc::now() + chrono::Duration::hours(1)
    }

    fn consumer() -> Consumer {
        Consumer {
            url: "http://192.0.2.1/n".into(),
            authority: "192.0.2.1".into(),
            target: "/n".into(),
            pinned: "192.0.2.1:80".parse().unwrap(),
            reference_parameters: String::new(),
        }
    }

    /// Another principal's subscription is unknown to it, whatever the operation; its owner
    /// and any Administrator reach it; anonymous requests are one principal.
    #[tokio::test]
    async fn subscriptions_belong_to_their_creator() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, subs) = set_up(tmp.path(), SubscriptionLimits::default()).await;
        let (a, b, anon) = (
            Caller::user(Some("alice")),
            Caller::user(Some("bob")),
            Caller::user(None),
        );
        let admin = Caller::admin("admin");
        let sub = subs
            .create(Filter::default(), hour(), &a, None)
            .await
            .unwrap();
        assert_eq!(sub.owner.as_deref(), Some("alice"));
        for other in [&b, &anon] {
            assert!(matches!(
                subs.get(&sub.id, other),
                Err(SubscriptionError::Unknown)
            ));
            assert!(matches!(
                subs.renew(&sub.id, other, hour()),
                Err(SubscriptionError::Unknown)
            ));
            assert!(matches!(
                subs.unsubscribe(&sub.id, other),
                Err(SubscriptionError::Unknown)
            ));
        }
        // The same answer as for an id that does not exist.
        assert_eq!(
            subs.get(&sub.id, &b).unwrap_err().to_string(),
            subs.get("no-such-id", &b).unwrap_err().to_string()
        );
        assert!(subs.get(&sub.id, &a).is_ok());
        assert!(subs.get(&sub.id, &admin).is_ok());
        assert!(subs.renew(&sub.id, &admin, hour()).is_ok());
        let anon_sub = subs
            .create(Filter::default(), hour(), &anon, None)
            .await
            .unwrap();
        assert!(subs.get(&anon_sub.id, &Caller::user(None)).is_ok());
        assert!(subs.get(&anon_sub.id, &a).is_err());
        subs.unsubscribe(&sub.id, &admin).unwrap();
        assert!(sub.ended().is_cancelled());
        assert!(subs.get(&sub.id, &a).is_err());
        store.close().await;
    }

    /// Per-principal limits stop one account, not the others; Administrators meet only the
    /// global limit; push and pull points are counted apart; ended ones free their slot.
    #[tokio::test]
    async fn limits_per_user_and_global() {
        let tmp = tempfile::tempdir().unwrap();
        let limits = SubscriptionLimits {
            max_pull_points: 5,
            max_pull_points_per_user: 2,
            max_push: 3,
            max_push_per_user: 1,
            ..SubscriptionLimits::default()
        };
        let (store, subs) = set_up(tmp.path(), limits).await;
        let (a, b) = (Caller::user(Some("a")), Caller::user(Some("b")));
        let admin = Caller::admin("admin");
        let first = subs
            .create(Filter::default(), hour(), &a, None)
            .await
            .unwrap();
        subs.create(Filter::default(), hour(), &a, None)
            .await
            .unwrap();
        match subs.create(Filter::default(), hour(), &a, None).await {
            Err(
                e @ SubscriptionError::TooMany {
                    per_user: true,
                    limit: 2,
                    ..
                },
            ) => {
                assert_eq!(e.to_string(), "at most 2 pull points per user")
            }
            other => panic!("{other:?}"),
        }
        subs.create(Filter::default(), hour(), &b, None)
            .await
            .unwrap();
        // Push slots are apart from pull points.
        subs.create(Filter::default(), hour(), &a, Some(consumer()))
            .await
            .unwrap();
        assert!(matches!(
            subs.create(Filter::default(), hour(), &a, Some(consumer()))
                .await,
            Err(SubscriptionError::TooMany {
                per_user: true,
                limit: 1,
                kind: "push subscriptions"
            })
        ));
        // The admin is not bound by the per-user limit, only by the global one.
        subs.create(Filter::default(), hour(), &admin, None)
            .await
            .unwrap();
        subs.create(Filter::default(), hour(), &admin, None)
            .await
            .unwrap();
        match subs.create(Filter::default(), hour(), &admin, None).await {
            Err(
                e @ SubscriptionError::TooMany {
                    per_user: false,
                    limit: 5,
                    ..
                },
            ) => {
                assert_eq!(e.to_string(), "at most 5 pull points")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(subs.counts(), (5, 1));
        // Unsubscribing frees a slot for its owner.
        subs.unsubscribe(&first.id, &a).unwrap();
        subs.create(Filter::default(), hour(), &a, None)
            .await
            .unwrap();
        // An expired subscription holds no slot.
        let push_b = subs
            .create(Filter::default(), hour(), &b, Some(consumer()))
            .await
            .unwrap();
        push_b.set_termination(Utc::now() - chrono::Duration::seconds(1));
        subs.create(Filter::default(), hour(), &b, Some(consumer()))
            .await
            .unwrap();
        store.close().await;
    }

    /// Termination times at the ends of chrono's range: granted, shortened or refused, never
    /// a panic.
    #[tokio::test]
    async fn grant_at_the_extremes() {
        let tmp = tempfile::tempdir().unwrap();
        let limits = SubscriptionLimits {
            max_lifetime: Duration::MAX,
            default_lifetime: Duration::MAX,
            ..SubscriptionLimits::default()
        };
        let (store, subs) = set_up(tmp.path(), limits).await;
        let now = Utc::now();
        assert_eq!(subs.grant(None, now).unwrap(), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            subs.grant(Some(DateTime::<Utc>::MAX_UTC), now).unwrap(),
            DateTime::<Utc>::MAX_UTC
        );
        assert!(matches!(
            subs.grant(Some(DateTime::<Utc>::MIN_UTC), now),
            Err(SubscriptionError::TerminationInPast)
        ));
        assert!(matches!(
            subs.grant(Some(now), now),
            Err(SubscriptionError::TerminationInPast)
        ));
        // At the end of time itself.
        // A default lifetime from the last instant saturates (the caller refuses a past
        // time; the grant itself never panics).
        assert!(subs.grant(None, DateTime::<Utc>::MAX_UTC).is_ok());
        store.close().await;
        let (store, subs) = set_up(tmp.path(), SubscriptionLimits::default()).await;
        let far = crate::security::wsse::parse_created("9999-12-31T23:59:59Z").unwrap();
        assert_eq!(
            subs.grant(Some(far), now).unwrap(),
            now + chrono::Duration::days(1)
        );
        assert_eq!(
            after(DateTime::<Utc>::MAX_UTC, Duration::from_secs(1)),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(after(now, Duration::ZERO), now);
        store.close().await;
    }

    /// Seek to the ends of time in both directions (the far-future reverse Seek panicked),
    /// then pulls; a pull with a timeout and limit beyond anything answers within the
    /// configured maximum.
    #[tokio::test]
    async fn seek_and_pull_at_the_extremes() {
        let tmp = tempfile::tempdir().unwrap();
        let limits = SubscriptionLimits {
            max_pull_timeout: Duration::from_millis(50),
            ..SubscriptionLimits::default()
        };
        let (store, subs) = set_up(tmp.path(), limits).await;
        for i in 0..3 {
            store
                .append(crate::events::store::testing::event(i))
                .await
                .unwrap();
        }
        let sub = subs
            .create(Filter::default(), hour(), &Caller::user(None), None)
            .await
            .unwrap();
        let far = crate::security::wsse::parse_created("9999-12-31T23:59:59.999Z").unwrap();
        for (t, reverse, stored) in [
            (DateTime::<Utc>::MAX_UTC, true, 3),
            (far, true, 3),
            (DateTime::<Utc>::MAX_UTC, false, 0),
            (DateTime::<Utc>::MIN_UTC, false, 3),
            (DateTime::<Utc>::MIN_UTC, true, 0),
        ] {
            subs.seek(&sub, t, reverse).await.unwrap();
            let pulled = subs.pull(&sub, Duration::MAX, usize::MAX).await.unwrap();
            let got = pulled
                .events
                .iter()
                .filter(|e| e.producer == "test")
                .count();
            assert_eq!(got, stored, "seek to {t} reverse={reverse}");
        }
        // An empty pull with the largest timeout returns after the configured maximum.
        let started = std::time::Instant::now();
        subs.seek(&sub, DateTime::<Utc>::MAX_UTC, false)
            .await
            .unwrap();
        let pulled = subs.pull(&sub, Duration::MAX, 0).await.unwrap();
        assert!(pulled.events.is_empty());
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(pulled.termination > Utc::now());
        assert_eq!(subs.skip_backlog(&sub, u64::MAX).await, 0);
        assert_eq!(subs.skip_backlog(&sub, 0).await, 0);
        store.close().await;
    }

    /// Core: PullMessages keeps a pull point alive by its initial termination period, so one
    /// pulled continuously and never renewed lives on, and every answer's TerminationTime
    /// is after the time it is answered.
    #[tokio::test]
    async fn each_pull_extends_the_pull_point_by_its_initial_period() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, subs) = set_up(tmp.path(), SubscriptionLimits::default()).await;
        let lifetime = chrono::Duration::milliseconds(300);
        let sub = subs
            .create(
                Filter::default(),
                Utc::now() + lifetime,
                &Caller::user(None),
                None,
            )
            .await
            .unwrap();
        subs.pull(&sub, Duration::from_secs(1), 100).await.unwrap();
        // Pulled with timeouts longer than its lifetime, for three lifetimes: still alive.
        for _ in 0..3 {
            let pulled = subs
                .pull(&sub, Duration::from_millis(400), 100)
                .await
                .unwrap();
            let answered = Utc::now();
            assert!(pulled.events.is_empty());
            assert!(
                pulled.termination > answered,
                "{} !> {answered}",
                pulled.termination
            );
            assert!(pulled.termination >= answered + lifetime - chrono::Duration::milliseconds(5));
            subs.get(&sub.id, &Caller::user(None)).expect("alive");
        }
        // A Renew to a later time is never shortened by a pull.
        let later = Utc::now() + chrono::Duration::hours(2);
        let granted = subs.renew(&sub.id, &Caller::user(None), later).unwrap();
        let pulled = subs.pull(&sub, Duration::ZERO, 10).await.unwrap();
        assert_eq!(pulled.termination, granted);
        store.close().await;
    }

    /// MessageLimit 0 asks for nothing: answered at once, empty, even with messages waiting.
    #[tokio::test]
    async fn a_message_limit_of_zero_returns_no_message_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, subs) = set_up(tmp.path(), SubscriptionLimits::default()).await;
        let sub = subs
            .create(Filter::default(), hour(), &Caller::user(None), None)
            .await
            .unwrap();
        store
            .append(crate::events::store::testing::event(1))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let pulled = subs.pull(&sub, Duration::from_secs(30), 0).await.unwrap();
        assert!(pulled.events.is_empty());
        assert!(started.elapsed() < Duration::from_secs(2));
        let next = subs.pull(&sub, Duration::from_secs(1), 10).await.unwrap();
        assert!(
            next.events.iter().any(|e| e.producer == "test"),
            "the waiting message is still there"
        );
        store.close().await;
    }

    /// A reverse Seek on an empty store reports tns1:EventBuffer/Begin once, not twice.
    #[tokio::test]
    async fn a_reverse_seek_on_an_empty_store_reports_the_beginning_once() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, subs) = set_up(tmp.path(), SubscriptionLimits::default()).await;
        let sub = subs
            .create(Filter::default(), hour(), &Caller::user(None), None)
            .await
            .unwrap();
        let begins = |events: &[Event]| {
            events
                .iter()
                .filter(|e| e.topic == beginning_of_buffer())
                .count()
        };
        for reverse in [true, false] {
            subs.seek(&sub, Utc::now(), reverse).await.unwrap();
            let first = subs.pull(&sub, Duration::ZERO, 100).await.unwrap();
            assert_eq!(begins(&first.events), 1, "reverse={reverse}");
            let again = subs.pull(&sub, Duration::ZERO, 100).await.unwrap();
            assert_eq!(begins(&again.events), 0, "reverse={reverse}");
        }
        store.close().await;
    }

    /// SetSynchronizationPoint after a Seek queues every property's Initialized message, in
    /// the order the properties became known, and wakes a pull that is waiting.
    #[tokio::test]
    async fn synchronizing_after_a_seek_wakes_a_waiting_pull_with_every_property() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, subs) = set_up(tmp.path(), SubscriptionLimits::default()).await;
        let subs = Arc::new(subs);
        for token in ["a", "b", "c"] {
            let mut e = crate::events::store::testing::event(0);
            e.source = vec![crate::events::model::Item::simple("InputToken", token)];
            e.key = e.source.clone();
            subs.core.set_property(e).await.unwrap();
        }
        let sub = subs
            .create(Filter::default(), hour(), &Caller::user(None), None)
            .await
            .unwrap();
        subs.pull(&sub, Duration::ZERO, 100).await.unwrap();
        subs.seek(&sub, Utc::now(), false).await.unwrap();
        subs.pull(&sub, Duration::ZERO, 100).await.unwrap();
        let waiting = tokio::spawn({
            let (subs, sub) = (subs.clone(), sub.clone());
            async move {
                let started = std::time::Instant::now();
                let pulled = subs.pull(&sub, Duration::from_secs(20), 100).await.unwrap();
                (pulled, started.elapsed())
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        subs.synchronize(&sub).await;
        let (pulled, took) = waiting.await.unwrap();
        assert!(
            took < Duration::from_secs(5),
            "woken, not answered at its timeout"
        );
        let tokens: Vec<String> = pulled
            .events
            .iter()
            .filter(|e| e.operation == Some(crate::events::model::PropertyOperation::Initialized))
            .filter_map(|e| e.source.first().and_then(|i| i.value()).map(str::to_owned))
            .collect();
        assert_eq!(tokens, ["a", "b", "c"]);
        store.close().await;
    }

    /// A second PullMessages takes over a waiting one: the first is answered with
    /// `Superseded` (a fault, never an empty answer that reads as "no events"); a Seek
    /// instead lets a waiting pull go on from the new position.
    #[tokio::test]
    async fn a_newer_pull_supersedes_a_waiting_one_and_a_seek_moves_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, subs) = set_up(tmp.path(), SubscriptionLimits::default()).await;
        let subs = Arc::new(subs);
        let sub = subs
            .create(Filter::default(), hour(), &Caller::user(None), None)
            .await
            .unwrap();
        subs.pull(&sub, Duration::ZERO, 100).await.unwrap();
        let long_pull = |subs: Arc<Subscriptions>, sub: Arc<Subscription>| {
            tokio::spawn(async move { subs.pull(&sub, Duration::from_secs(20), 100).await })
        };
        let first = long_pull(subs.clone(), sub.clone());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let second = subs.pull(&sub, Duration::from_millis(100), 100).await;
        assert!(second.is_ok());
        assert!(matches!(
            first.await.unwrap(),
            Err(SubscriptionError::Superseded)
        ));
        // Three stored events; a pull waits at the newest; a Seek to the beginning wakes it
        // and it answers with them.
        let t0 = Utc::now() - chrono::Duration::hours(3); // before the test events
        for i in 0..3 {
            store
                .append(crate::events::store::testing::event(i))
                .await
                .unwrap();
        }
        subs.pull(&sub, Duration::ZERO, 100).await.unwrap();
        let waiting = long_pull(subs.clone(), sub.clone());
        tokio::time::sleep(Duration::from_millis(100)).await;
        subs.seek(&sub, t0, false).await.unwrap();
        let pulled = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("woken by the Seek")
            .unwrap()
            .unwrap();
        assert_eq!(
            pulled
                .events
                .iter()
                .filter(|e| e.producer == "test")
                .count(),
            3
        );
        store.close().await;
    }
}
