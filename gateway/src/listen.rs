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

/// A listener set a reload may change (the metrics listener, `metrics.listen`): the addresses
/// configured and the local address each was bound to, and the way to the server that accepts
/// on them. Built with the listeners bound at start; the server takes [`Relisten::rebinds`].
#[derive(Debug)]
pub struct Relisten {
    /// `(configured, local)` of every served listener (they differ for port 0).
    served: parking_lot::Mutex<Vec<(SocketAddr, SocketAddr)>>,
    sender: tokio::sync::mpsc::UnboundedSender<Rebind>,
    receiver: parking_lot::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Rebind>>>,
}

impl Relisten {
    /// `listeners`, bound from `configured` (in that order).
    pub fn new(configured: &[SocketAddr], listeners: &[TcpListener]) -> Relisten {
        let served = configured
            .iter()
            .zip(listeners)
            .filter_map(|(&c, l)| l.local_addr().ok().map(|local| (c, local)))
            .collect();
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        Relisten {
            served: parking_lot::Mutex::new(served),
            sender,
            receiver: parking_lot::Mutex::new(Some(receiver)),
        }
    }

    /// The receiver the server applies changes from (once).
    pub fn rebinds(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Rebind>> {
        self.receiver.lock().take()
    }

    /// The local addresses served now.
    pub fn local(&self) -> Vec<SocketAddr> {
        self.served.lock().iter().map(|&(_, l)| l).collect()
    }

    /// Serves `wanted` from now on: addresses still wanted keep their listener, new ones are
    /// bound (all or nothing: on an error nothing changes), the others are closed. Returns
    /// the local addresses served now.
    pub fn change(&self, wanted: &[SocketAddr]) -> Result<Vec<SocketAddr>, BindError> {
        let mut served = self.served.lock();
        let fresh: Vec<SocketAddr> = wanted
            .iter()
            .filter(|w| !served.iter().any(|(c, _)| c == *w))
            .copied()
            .collect();
        let add = bind(&fresh)?;
        let mut next: Vec<(SocketAddr, SocketAddr)> = served
            .iter()
            .filter(|(c, _)| wanted.contains(c))
            .copied()
            .collect();
        let keep = next.iter().map(|&(_, l)| l).collect();
        next.extend(
            fresh
                .iter()
                .zip(&add)
                .filter_map(|(&c, l)| l.local_addr().ok().map(|local| (c, local))),
        );
        // A server that has ended takes no changes; nothing is served then anyway.
        let _ = self.sender.send(Rebind {
            keep,
            add,
            add_tls: None,
        });
        *served = next;
        Ok(served.iter().map(|&(_, l)| l).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_keeps_what_stays_binds_what_is_new_and_refuses_a_taken_port_whole() {
        let a: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let listeners = bind(&[a]).unwrap();
        let relisten = Relisten::new(&[a], &listeners);
        let mut rebinds = relisten.rebinds().unwrap();
        assert!(relisten.rebinds().is_none(), "taken once");
        let first = relisten.local();
        assert_eq!(first.len(), 1);

        let b: SocketAddr = "127.0.0.2:0".parse().unwrap();
        let now = relisten.change(&[a, b]).unwrap();
        assert_eq!(now.len(), 2);
        assert_eq!(now[0], first[0], "the kept listener keeps its port");
        let r = rebinds.recv().await.unwrap();
        assert_eq!((r.keep, r.add.len()), (first.clone(), 1));

        // A port someone else holds: nothing changes.
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let busy = taken.local_addr().unwrap();
        assert!(relisten.change(&[busy]).is_err());
        assert_eq!(relisten.local(), now);
        assert!(rebinds.try_recv().is_err(), "no change sent");

        // Off: nothing kept, nothing added.
        assert!(relisten.change(&[]).unwrap().is_empty());
        let r = rebinds.recv().await.unwrap();
        assert!(r.keep.is_empty() && r.add.is_empty());
    }
}
