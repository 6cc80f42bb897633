//! Binding the HTTP listeners, and the changes to the set the server accepts on
//! (SetNetworkProtocols changes railgate's ports without a restart).
//!
//! A leaf: the owner of the ports (`device::protocols`) binds here and hands the server a
//! [`Rebind`]; the server (`http::server`) applies it. Listeners are bound here, up front, so
//! a taken port is a clear error and never a panic (warp's own `bind` panics).

use std::net::SocketAddr;

use tokio::net::TcpListener;

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

/// Binds every address (IPv6 ones v6-only, so `0.0.0.0:p` and `[::]:p` can coexist). All or
/// nothing: on an error the ones already bound are closed.
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

/// A change of the listener set: keep accepting on `keep` (addresses already served), start
/// on `add` (freshly bound), stop on every other one. Connections already accepted are not
/// cut: they finish as they would anyway.
#[derive(Debug)]
pub struct Rebind {
    /// Local addresses of listeners that stay (HTTP or HTTPS).
    pub keep: Vec<SocketAddr>,
    /// New HTTP listeners.
    pub add: Vec<TcpListener>,
    /// New HTTPS listeners, served with this TLS side.
    pub add_tls: Option<(Vec<TcpListener>, crate::tls::Tls)>,
}
