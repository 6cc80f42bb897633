//! What a connection is doing, and when it has waited too long.
//!
//! hyper's own header-read timeout starts whenever it begins to read a request head, so it
//! also bounds the idle time between keep-alive requests: one figure for two jobs. Here the
//! two are separate. A connection is in one of three phases:
//!
//! - **waiting** for the first byte of a request: for `header_timeout` on a new connection,
//!   for `idle_timeout` after a response (keep-alive);
//! - **reading a head**, from its first byte: `header_timeout` (against slow-header clients);
//! - **busy**, a request being served (a long poll may take minutes): no deadline here; the
//!   body read and the handlers have their own.
//!
//! [`Watched`] wraps the connection's stream and sees reads; [`Activity::busy`] marks a request
//! in the service; [`Activity::expired`] resolves when the phase's deadline passes.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The deadlines of a connection.
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    /// From the first byte of a request head (or from accepting) to the end of the head.
    pub header_timeout: Duration,
    /// Between the end of a response and the first byte of the next request.
    pub idle_timeout: Duration,
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    Waiting { since: Instant, first: bool },
    Head { since: Instant },
    Busy { requests: usize },
}

/// A connection's phase, shared by its stream, its service and its watchdog.
#[derive(Debug)]
pub struct Activity {
    deadlines: Deadlines,
    phase: Mutex<Phase>,
    changed: Notify,
}

/// A request in the service; dropping it (answered or abandoned) ends it.
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Activity {
    /// A connection just accepted.
    pub fn new(deadlines: Deadlines) -> Arc<Activity> {
        Arc::new(Activity {
            deadlines,
            phase: Mutex::new(Phase::Waiting {
                since: Instant::now(),
                first: true,
            }),
            changed: Notify::new(),
        })
    }

    /// Marks a request as being served until the returned guard drops.
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.update(|phase| match phase {
            Phase::Busy { requests } => Phase::Busy {
                requests: requests + 1,
            },
            _ => Phase::Busy { requests: 1 },
        });
        Busy(self.clone())
    }

    /// Resolves when the current phase has lasted longer than its deadline.
    pub async fn expired(&self) {
        loop {
            let changed = self.changed.notified();
            match self.deadline() {
                None => changed.await,
                Some(at) => {
                    tokio::select! {
                        () = changed => {}
                        () = tokio::time::sleep_until(at) => {
                            if self.deadline().is_some_and(|d| d <= Instant::now()) {
                                return;
                            }
                        }
                    }
                }
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let d = self.deadlines;
        match *self.phase.lock().unwrap_or_else(|e| e.into_inner()) {
            Phase::Waiting { since, first: true } | Phase::Head { since } => {
                Some(since + d.header_timeout)
            }
            Phase::Waiting {
                since,
                first: false,
            } => Some(since + d.idle_timeout),
            Phase::Busy { .. } => None,
        }
    }

    fn read_bytes(&self) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        if let Phase::Waiting { first: false, .. } = *phase {
            *phase = Phase::Head {
                since: Instant::now(),
            };
            drop(phase);
            self.changed.notify_one();
        }
    }

    fn update(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        *phase = f(*phase);
        drop(phase);
        self.changed.notify_one();
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.update(|phase| match phase {
            Phase::Busy { requests } if requests > 1 => Phase::Busy {
                requests: requests - 1,
            },
            _ => Phase::Waiting {
                since: Instant::now(),
                first: false,
            },
        });
    }
}

/// A stream whose reads move its connection from waiting to reading a head.
#[derive(Debug)]
pub struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, activity: Arc<Activity>) -> Watched<S> {
        Watched { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_bytes();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Deadlines = Deadlines {
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
    };

    async fn expires_within(a: &Activity, limit: Duration) -> bool {
        tokio::time::timeout(limit, a.expired()).await.is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_must_start_its_request_within_the_header_timeout() {
        let a = Activity::new(D);
        assert!(!expires_within(&a, Duration::from_secs(9)).await);
        assert!(expires_within(&a, Duration::from_secs(2)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn keep_alive_idle_gets_the_idle_timeout_then_a_head_the_header_timeout() {
        let a = Activity::new(D);
        drop(a.busy());
        assert!(!expires_within(&a, Duration::from_secs(59)).await);
        a.read_bytes();
        assert!(!expires_within(&a, Duration::from_secs(9)).await);
        assert!(expires_within(&a, Duration::from_secs(2)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_the_service_has_no_deadline_here() {
        let a = Activity::new(D);
        let busy = a.busy();
        let second = a.busy();
        drop(second);
        assert!(!expires_within(&a, Duration::from_secs(3600)).await);
        drop(busy);
        assert!(expires_within(&a, Duration::from_secs(61)).await);
    }
}
