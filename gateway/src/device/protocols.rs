//! The network protocols railgate serves (GetNetworkProtocols, SetNetworkProtocols): HTTP on
//! the configured addresses, on ports a client may change while railgate runs. The ports a
//! client set are kept in the state database (`network.http_ports`) and used at the next
//! start in place of `server.listen`'s ports (a Hard factory default forgets them).
//!
//! A change binds the new listeners first (all or nothing: a port in use is
//! [`ProtocolError::PortInUse`] and nothing changes), then hands them to the HTTP server
//! (`listen::Rebind`) and tells WS-Discovery, which announces the new XAddrs.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

use crate::listen::{self, Rebind};
use crate::state::{StateDb, StateError, db::FILE_NAME};

/// The settings key of the HTTP ports a client set.
pub const HTTP_PORTS_KEY: &str = "network.http_ports";

/// Most HTTP ports one device serves.
pub const MAX_PORTS: usize = 8;

/// Why a change of ports was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// Another socket holds the port.
    #[error("port {0} is already in use")]
    PortInUse(u16),
    /// The port cannot be bound for another reason (privileges, address gone).
    #[error("{0}")]
    Bind(listen::BindError),
    /// The ports could not be stored.
    #[error(transparent)]
    State(#[from] StateError),
}

/// The HTTP ports stored by an earlier SetNetworkProtocols, read before anything is opened
/// for writing (the listeners are bound before the state database is opened). `None` when
/// there is no database yet or no stored ports.
pub fn stored_http_ports(data_dir: &Path) -> Option<Vec<u16>> {
    let path = data_dir.join(FILE_NAME);
    if !path.exists() {
        return None;
    }
    let conn =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    let text: String = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [HTTP_PORTS_KEY],
            |r| r.get(0),
        )
        .ok()?;
    parse_ports(&text)
}

fn parse_ports(text: &str) -> Option<Vec<u16>> {
    let ports: Vec<u16> = text
        .split(',')
        .map(|p| p.trim().parse().ok())
        .collect::<Option<_>>()?;
    (!ports.is_empty() && ports.iter().all(|&p| p > 0)).then_some(ports)
}

/// The addresses to listen on: every configured IP (in order, once) on every port.
pub fn listen_addresses(configured: &[SocketAddr], ports: &[u16]) -> Vec<SocketAddr> {
    let mut ips: Vec<IpAddr> = Vec::new();
    for a in configured {
        if !ips.contains(&a.ip()) {
            ips.push(a.ip());
        }
    }
    ips.iter()
        .flat_map(|ip| ports.iter().map(|p| SocketAddr::new(*ip, *p)))
        .collect()
}

/// The served HTTP addresses and the way to change them.
#[derive(Debug)]
pub struct NetworkProtocols {
    configured: Vec<SocketAddr>,
    served: watch::Sender<Vec<SocketAddr>>,
    db: Arc<StateDb>,
    rebind: mpsc::UnboundedSender<Rebind>,
    rebinds: Mutex<Option<mpsc::UnboundedReceiver<Rebind>>>,
    /// One change at a time.
    changing: tokio::sync::Mutex<()>,
}

impl NetworkProtocols {
    /// `served`: the addresses bound at start (ports resolved); `configured`: `server.listen`.
    pub fn new(db: Arc<StateDb>, configured: Vec<SocketAddr>, served: Vec<SocketAddr>) -> Self {
        let (rebind, rx) = mpsc::unbounded_channel();
        NetworkProtocols {
            configured,
            served: watch::Sender::new(served),
            db,
            rebind,
            rebinds: Mutex::new(Some(rx)),
            changing: tokio::sync::Mutex::new(()),
        }
    }

    /// The receiving end for the HTTP server; `None` after the first call.
    pub fn take_rebinds(&self) -> Option<mpsc::UnboundedReceiver<Rebind>> {
        self.rebinds.lock().take()
    }

    /// The addresses served now.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.served.borrow().clone()
    }

    /// Changes of [`Self::addresses`].
    pub fn watch(&self) -> watch::Receiver<Vec<SocketAddr>> {
        self.served.subscribe()
    }

    /// The HTTP ports served now, ascending, each once.
    pub fn http_ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self.served.borrow().iter().map(SocketAddr::port).collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// Serves HTTP on `ports` (1 to [`MAX_PORTS`], nonzero; checked by the caller) on every
    /// configured address, from now on and after restarts.
    pub async fn set_http_ports(&self, ports: &[u16]) -> Result<(), ProtocolError> {
        let _one = self.changing.lock().await;
        let target = listen_addresses(&self.configured, ports);
        let current = self.addresses();
        let keep: Vec<SocketAddr> = current
            .iter()
            .copied()
            .filter(|a| target.contains(a))
            .collect();
        let fresh: Vec<SocketAddr> = target
            .iter()
            .copied()
            .filter(|a| !current.contains(a))
            .collect();
        let add = listen::bind(&fresh).map_err(|e| {
            if e.source.kind() == std::io::ErrorKind::AddrInUse {
                ProtocolError::PortInUse(e.addr.port())
            } else {
                ProtocolError::Bind(e)
            }
        })?;
        let text = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",");
        self.db.set_setting(HTTP_PORTS_KEY, &text)?;
        let _ = self.rebind.send(Rebind { keep, add });
        self.served.send_replace(target);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_configured_address_takes_every_port() {
        let configured: Vec<SocketAddr> = vec![
            "0.0.0.0:8080".parse().unwrap(),
            "[::]:8080".parse().unwrap(),
            "0.0.0.0:8081".parse().unwrap(),
        ];
        assert_eq!(
            listen_addresses(&configured, &[80, 8000]),
            [
                "0.0.0.0:80".parse::<SocketAddr>().unwrap(),
                "0.0.0.0:8000".parse().unwrap(),
                "[::]:80".parse().unwrap(),
                "[::]:8000".parse().unwrap(),
            ]
        );
        assert_eq!(parse_ports("80, 8000"), Some(vec![80, 8000]));
        assert_eq!(parse_ports("0"), None);
        assert_eq!(parse_ports("x"), None);
    }

    #[tokio::test]
    async fn a_taken_port_changes_nothing_and_a_free_one_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(StateDb::open(dir.path()).unwrap());
        let first = listen::bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
        let served = vec![first[0].local_addr().unwrap()];
        let protocols = NetworkProtocols::new(
            db.clone(),
            vec!["127.0.0.1:0".parse().unwrap()],
            served.clone(),
        );
        let mut rebinds = protocols.take_rebinds().unwrap();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken_port = taken.local_addr().unwrap().port();
        let refused = protocols.set_http_ports(&[taken_port]).await;
        assert!(matches!(refused, Err(ProtocolError::PortInUse(p)) if p == taken_port));
        assert_eq!(protocols.addresses(), served);
        assert!(rebinds.try_recv().is_err());

        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let free_port = free.local_addr().unwrap().port();
        drop(free);
        protocols.set_http_ports(&[free_port]).await.unwrap();
        assert_eq!(protocols.http_ports(), [free_port]);
        let rebind = rebinds.try_recv().unwrap();
        assert!(rebind.keep.is_empty());
        assert_eq!(rebind.add[0].local_addr().unwrap().port(), free_port);
        drop(db);
        assert_eq!(stored_http_ports(dir.path()), Some(vec![free_port]));
    }
}
