//! Recent log records in memory, for GetSystemLog and the HTTP log downloads: the **system**
//! log (railgate's own records at INFO and above, other crates' at WARN and above: what the
//! process logged, so secrets are as absent as they are from the log itself) and the
//! **access** log (what clients did: every change, every action and every refusal; no reads).
//!
//! Each ring is bounded in bytes; the oldest lines go first. The system ring is one static,
//! fed by [`RingLayer`] which the command installs beside the stderr log; the access ring
//! belongs to the `App`.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Bytes each ring keeps.
pub const RING_BYTES: usize = 256 * 1024;

/// The system log ring.
pub static SYSTEM: LogRing = LogRing::new(RING_BYTES);

/// A bounded ring of log lines.
#[derive(Debug)]
pub struct LogRing {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    lines: VecDeque<String>,
    bytes: usize,
}

impl LogRing {
    /// An empty ring keeping about `max_bytes`.
    pub const fn new(max_bytes: usize) -> LogRing {
        LogRing {
            max_bytes,
            inner: Mutex::new(Inner {
                lines: VecDeque::new(),
                bytes: 0,
            }),
        }
    }

    /// Adds a line (without its newline), dropping the oldest ones past the bound.
    pub fn push(&self, mut line: String) {
        line.truncate(self.max_bytes.min(8192));
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.bytes += line.len() + 1;
        inner.lines.push_back(line);
        while inner.bytes > self.max_bytes {
            match inner.lines.pop_front() {
                Some(old) => inner.bytes -= old.len() + 1,
                None => break,
            }
        }
    }

    /// The lines, oldest first, each ending in a newline; empty if none.
    pub fn text(&self) -> String {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::with_capacity(inner.bytes);
        for l in &inner.lines {
            out.push_str(l);
            out.push('\n');
        }
        out
    }

    /// Whether nothing was logged yet.
    pub fn is_empty(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .lines
            .is_empty()
    }
}

/// The current UTC time as RFC 3339 with milliseconds.
pub fn timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// A tracing layer writing each event it sees into [`SYSTEM`] as
/// `time LEVEL target: message key=value ...`. Give it a per-layer filter.
#[derive(Debug, Default)]
pub struct RingLayer;

impl<S: Subscriber> Layer<S> for RingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut line = format!(
            "{} {:>5} {}: {}",
            timestamp(),
            meta.level(),
            meta.target(),
            fields.message
        );
        line.push_str(&fields.rest);
        SYSTEM.push(line);
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_lines_within_its_bound() {
        let ring = LogRing::new(100);
        assert!(ring.is_empty());
        for i in 0..50 {
            ring.push(format!("line {i:02}"));
        }
        let text = ring.text();
        assert!(text.len() <= 100, "{}", text.len());
        assert!(text.ends_with("line 49\n"));
        assert!(!text.contains("line 00"));
    }

    #[test]
    fn the_layer_writes_message_and_fields() {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(RingLayer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(user = "admin", count = 3, "ring layer test line");
        });
        let text = SYSTEM.text();
        let line = text
            .lines()
            .find(|l| l.contains("ring layer test line"))
            .expect("recorded");
        assert!(line.contains(" WARN "), "{line}");
        assert!(
            line.contains("user=\"admin\"") && line.contains("count=3"),
            "{line}"
        );
    }
}
