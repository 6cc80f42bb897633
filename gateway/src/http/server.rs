//! Listeners and connections.
//!
//! Listeners are bound by `crate::listen`, up front, so a taken port is a clear error and
//! never a panic (warp's own `bind` panics); the set can change while serving (a
//! [`Rebind`] from SetNetworkProtocols). Connections are served by hyper-util from the warp
//! routes turned into a service, which is also how HTTPS will be served (over tokio-rustls).
//!
//! Limits: at most `max_connections` at once (further clients wait in the listen backlog), and
//! at most `max_connections_per_address` from one client ([`per_address`](super::per_address):
//! an IPv4 address or an IPv6 /64), so one address can never take every slot; a client over its
//! cap gets `503` with `Retry-After` and the connection is closed. A new connection must send its
//! request head within `header_timeout`, a keep-alive connection may stay idle for
//! `idle_timeout` and then has `header_timeout` again from the first byte of the next head
//! ([`activity`](super::activity)). On shutdown, accepting stops and open connections finish
//! their current request within a grace period.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::tls::Tls;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tower_service::Service as _;

use super::activity::{Activity, Deadlines, Watched};
use super::per_address::PerAddress;
pub use crate::listen::Rebind;
use crate::ratelog::RateLog;
use crate::security::ip_filter::IpFilter;

/// Facts about the connection a request arrived on, put in each request's extensions.
#[derive(Clone, Copy, Debug)]
pub struct ConnInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// Our address the client connected to.
    pub local: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// Connection handling settings.
#[derive(Clone, Copy, Debug)]
pub struct ServeSettings {
    /// Time a client has to send a request head (from accepting, or from its first byte).
    pub header_timeout: Duration,
    /// Time a keep-alive connection may stay idle between requests.
    pub idle_timeout: Duration,
    /// Most connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Most connections from one client (IPv4 address, IPv6 /64).
    pub max_connections_per_address: usize,
    /// How long open connections may take to finish after shutdown begins.
    pub grace: Duration,
    /// Time a TLS client has to complete its handshake.
    pub tls_handshake_timeout: Duration,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_connections_per_address: 512,
            grace: Duration::from_secs(5),
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `filter` on every listener until `stop` is cancelled, then drains connections.
/// Each [`Rebind`] from `rebinds` changes the listeners accepted on (open connections stay).
pub async fn serve<F, R>(
    listeners: Vec<TcpListener>,
    tls: Option<(Vec<TcpListener>, Tls)>,
    ip_filter: Option<Arc<IpFilter>>,
    mut rebinds: mpsc::UnboundedReceiver<Rebind>,
    filter: F,
    settings: ServeSettings,
    stop: CancellationToken,
) where
    F: Routes<R>,
    R: warp::Reply + 'static,
{
    let shared = Shared {
        graceful: Arc::new(GracefulShutdown::new()),
        permits: Arc::new(Semaphore::new(settings.max_connections)),
        per_address: PerAddress::new(settings.max_connections_per_address),
        refused: Arc::new(Refused::default()),
        filtered: Arc::new(Refused::default()),
        ip_filter,
        settings,
    };
    let mut accepting = tokio::task::JoinSet::new();
    // The accept loop of each served address, stopped by its own token.
    let mut serving: HashMap<SocketAddr, CancellationToken> = HashMap::new();
    let start = |listener: TcpListener,
                 tls: Option<Tls>,
                 accepting: &mut tokio::task::JoinSet<()>,
                 serving: &mut HashMap<SocketAddr, CancellationToken>| {
        let local = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "listener has no local address");
                return;
            }
        };
        let token = stop.child_token();
        serving.insert(local, token.clone());
        accepting.spawn(accept_loop(
            listener,
            local,
            tls,
            filter.clone(),
            shared.clone(),
            token,
        ));
    };
    for listener in listeners {
        start(listener, None, &mut accepting, &mut serving);
    }
    if let Some((listeners, tls)) = tls {
        for listener in listeners {
            start(listener, Some(tls.clone()), &mut accepting, &mut serving);
        }
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            rebind = rebinds.recv() => {
                let Some(Rebind { keep, add, add_tls }) = rebind else {
                    // No owner can change the ports any more: serve what there is, until
                    // the stop (waiting here, the stop must still end the loop).
                    stop.cancelled().await;
                    break;
                };
                serving.retain(|addr, token| {
                    let stays = keep.contains(addr);
                    if !stays {
                        tracing::info!(%addr, "no longer listening");
                        token.cancel();
                    }
                    stays
                });
                // The owner of the change says what is served there.
                for listener in add {
                    start(listener, None, &mut accepting, &mut serving);
                }
                for (listener, tls) in add_tls.into_iter().flat_map(|(l, t)| l.into_iter().map(move |l| (l, t.clone()))) {
                    start(listener, Some(tls), &mut accepting, &mut serving);
                }
            }
        }
    }
    while accepting.join_next().await.is_some() {}
    let graceful = Arc::try_unwrap(shared.graceful)
        .unwrap_or_else(|_| unreachable!("every accept loop has ended"));
    if tokio::time::timeout(settings.grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = settings.grace.as_secs(),
            "connections still open after the grace period; closing them"
        );
    }
}

/// What the server serves: a warp filter that answers every request with a reply `R`.
pub trait Routes<R>:
    warp::Filter<Extract = (R,), Error = std::convert::Infallible> + Clone + Send + Sync + 'static
{
}

impl<T, R> Routes<R> for T where
    T: warp::Filter<Extract = (R,), Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// What every accept loop shares.
#[derive(Clone)]
struct Shared {
    graceful: Arc<GracefulShutdown>,
    permits: Arc<Semaphore>,
    per_address: Arc<PerAddress>,
    refused: Arc<Refused>,
    /// Connections the IP address filter closed (logged at most once per 10 s).
    filtered: Arc<Refused>,
    ip_filter: Option<Arc<IpFilter>>,
    settings: ServeSettings,
}

/// Accepts on one listener until `stop`, serving each connection under the shared limits.
async fn accept_loop<F, R>(
    listener: TcpListener,
    local: SocketAddr,
    tls: Option<Tls>,
    filter: F,
    shared: Shared,
    stop: CancellationToken,
) where
    F: Routes<R>,
    R: warp::Reply + 'static,
{
    let deadlines = Deadlines {
        header_timeout: shared.settings.header_timeout,
        idle_timeout: shared.settings.idle_timeout,
    };
    let cap = shared.settings.max_connections_per_address;
    loop {
        let permit = tokio::select! {
            _ = stop.cancelled() => break,
            p = shared.permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // The IP address filter, before anything is read from the connection.
        if let Some(f) = &shared.ip_filter
            && !f.admits(peer.ip())
        {
            drop((stream, permit));
            shared.filtered.note_filtered(peer);
            continue;
        }
        let Some(slot) = shared.per_address.admit(peer.ip()) else {
            drop(permit);
            shared.refused.note(peer, cap);
            refuse(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        // A watcher, not the shutdown itself: the shutdown waits for every connection that
        // holds one (a handshake in progress included) without being owned by them.
        let (filter, watcher) = (filter.clone(), shared.graceful.watcher());
        let (tls, handshake) = (tls.clone(), shared.settings.tls_handshake_timeout);
        tokio::spawn(async move {
            let info = ConnInfo {
                peer,
                local,
                tls: tls.is_some(),
            };
            match tls {
                None => serve_connection(stream, info, deadlines, filter, watcher).await,
                // The handshake on the connection's own task, under its own deadline: a
                // client that says nothing holds its slot at most that long.
                // The acceptor in force now (client certificates may have been asked for).
                Some(tls) => {
                    match tokio::time::timeout(handshake, tls.acceptor().accept(stream)).await {
                        Ok(Ok(stream)) => {
                            serve_connection(stream, info, deadlines, filter, watcher).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
            drop((permit, slot));
        });
    }
}

/// Serves HTTP/1.1 on one accepted connection (plain or TLS) until it ends, its header or
/// idle deadline passes, or the graceful shutdown closes it.
async fn serve_connection<I, F, R>(
    io: I,
    info: ConnInfo,
    deadlines: Deadlines,
    filter: F,
    watcher: Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    F: Routes<R>,
    R: warp::Reply + 'static,
{
    let activity = Activity::new(deadlines);
    let svc = warp::service(filter);
    let in_service = activity.clone();
    let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
        req.extensions_mut().insert(info);
        let busy = in_service.busy();
        let call = svc.clone().call(req);
        async move {
            let response = call.await;
            drop(busy);
            response
        }
    });
    // hyper's header-read timeout stays off: `activity` keeps the header and the idle
    // deadlines apart.
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true)
        .serve_connection(TokioIo::new(Watched::new(io, activity.clone())), service);
    let conn = watcher.watch(conn);
    let peer = info.peer;
    tokio::select! {
        ended = conn => if let Err(e) = ended {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        },
        () = activity.expired() => {
            tracing::debug!(%peer, "connection closed: header or idle timeout");
        }
    }
}

/// Connections refused because their client was at its cap: counted, and logged at most once
/// per 10 s ([`RateLog`]) with the count since the last line, so a flood cannot flood the log.
#[derive(Debug)]
struct Refused(RateLog<&'static str>);

impl Default for Refused {
    fn default() -> Self {
        Refused(RateLog::per_10s())
    }
}

impl Refused {
    fn note_filtered(&self, peer: SocketAddr) {
        if let Some(suppressed) = self.0.check("filter", std::time::Instant::now()) {
            tracing::warn!(
                client = %peer.ip(),
                refused = suppressed.saturating_add(1),
                "connections closed by the IP address filter"
            );
        }
    }

    fn note(&self, peer: SocketAddr, cap: usize) {
        if let Some(suppressed) = self.0.check("cap", std::time::Instant::now()) {
            tracing::warn!(
                client = %peer.ip(),
                refused = suppressed.saturating_add(1),
                cap,
                "connections refused: client at its connection cap (max_connections_per_address)"
            );
        }
    }
}

/// Answers a connection over its client's cap with `503` and closes it at once, without
/// reading it or waiting on it (a fresh socket's send buffer takes the few bytes).
fn refuse(stream: TcpStream) {
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n\
        Content-Length: 0\r\nConnection: close\r\n\r\n";
    let _ = stream.try_write(BUSY);
}
