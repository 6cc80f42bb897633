//! Listeners and connections.
//!
//! Listeners are bound here, up front, so a taken port is a clear start-up error and never a
//! panic (warp's own `bind` panics). Connections are served by hyper-util from the warp routes
//! turned into a service, which is also how HTTPS will be served (over tokio-rustls).
//! Slow clients are cut off by a header-read timeout; on shutdown, accepting stops and open
//! connections finish their current request within a grace period.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower_service::Service as _;

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

/// A listener could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct BindError {
    /// The address.
    pub addr: SocketAddr,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Binds every address (IPv6 ones v6-only, so `0.0.0.0:p` and `[::]:p` can coexist).
pub fn bind(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>, BindError> {
    addrs
        .iter()
        .map(|&addr| {
            let err = |source| BindError { addr, source };
            let domain = socket2::Domain::for_address(addr);
            let socket =
                socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))
                    .map_err(err)?;
            if addr.is_ipv6() {
                socket.set_only_v6(true).map_err(err)?;
            }
            socket.set_reuse_address(true).map_err(err)?;
            socket.set_nonblocking(true).map_err(err)?;
            socket.bind(&addr.into()).map_err(err)?;
            socket.listen(1024).map_err(err)?;
            TcpListener::from_std(socket.into()).map_err(err)
        })
        .collect()
}

/// Connection handling settings.
#[derive(Clone, Copy, Debug)]
pub struct ServeSettings {
    /// Time a client has to send a request head.
    pub header_timeout: Duration,
    /// Most connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// How long open connections may take to finish after shutdown begins.
    pub grace: Duration,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            header_timeout: Duration::from_secs(10),
            max_connections: 512,
            grace: Duration::from_secs(5),
        }
    }
}

/// Serves `filter` on every listener until `stop` is cancelled, then drains connections.
pub async fn serve<F, R>(
    listeners: Vec<TcpListener>,
    filter: F,
    settings: ServeSettings,
    stop: CancellationToken,
) where
    F: warp::Filter<Extract = (R,), Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    R: warp::Reply,
{
    let graceful = Arc::new(GracefulShutdown::new());
    let permits = Arc::new(Semaphore::new(settings.max_connections));
    let mut accepting = tokio::task::JoinSet::new();
    for listener in listeners {
        let (filter, stop, graceful, permits) = (
            filter.clone(),
            stop.clone(),
            graceful.clone(),
            permits.clone(),
        );
        accepting.spawn(async move {
            let local = match listener.local_addr() {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(error = %e, "listener has no local address");
                    return;
                }
            };
            loop {
                let permit = tokio::select! {
                    _ = stop.cancelled() => break,
                    p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
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
                let _ = stream.set_nodelay(true);
                let info = ConnInfo {
                    peer,
                    local,
                    tls: false,
                };
                let svc = warp::service(filter.clone());
                let service =
                    hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
                        req.extensions_mut().insert(info);
                        let mut svc = svc.clone();
                        svc.call(req)
                    });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Some(settings.header_timeout))
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    drop(permit);
                });
            }
        });
    }
    while accepting.join_next().await.is_some() {}
    let graceful =
        Arc::try_unwrap(graceful).unwrap_or_else(|_| unreachable!("every accept loop has ended"));
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
