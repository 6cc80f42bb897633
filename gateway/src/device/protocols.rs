//! The network protocols railgate serves (GetNetworkProtocols, SetNetworkProtocols): HTTP on
//! `server.listen`'s addresses and HTTPS on `server.tls_listen`'s (or, when that names none,
//! on the HTTP addresses), each on ports a client may change or turn off while railgate runs,
//! as long as one of them stays on. What a client set is kept in the state database
//! (`network.http_ports`, `network.https_ports`: `80,8000`, or `off:80` when turned off) and
//! used at the next start in place of the configuration's (a Hard factory default forgets it).
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
/// The settings key of the HTTPS ports a client set.
pub const HTTPS_PORTS_KEY: &str = "network.https_ports";

/// Most ports one protocol serves.
pub const MAX_PORTS: usize = 8;

/// The port HTTPS is listed with while it has never been served.
const HTTPS_DEFAULT_PORT: u16 = 443;

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

/// One protocol's state: on or off, and its ports (kept while off, as the standard lists them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protocol {
    /// Served.
    pub enabled: bool,
    /// Its ports, ascending, each once.
    pub ports: Vec<u16>,
}

impl Protocol {
    fn of(addrs: &[SocketAddr]) -> Protocol {
        let mut ports: Vec<u16> = addrs.iter().map(SocketAddr::port).collect();
        ports.sort_unstable();
        ports.dedup();
        Protocol {
            enabled: !addrs.is_empty(),
            ports,
        }
    }

    fn stored(&self) -> String {
        let ports = self
            .ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",");
        if self.enabled {
            ports
        } else {
            format!("off:{ports}")
        }
    }

    fn parse(text: &str) -> Option<Protocol> {
        let (enabled, ports) = match text.strip_prefix("off:") {
            Some(rest) => (false, rest),
            None => (true, text),
        };
        let ports: Vec<u16> = ports
            .split(',')
            .map(|p| p.trim().parse().ok())
            .collect::<Option<_>>()?;
        (!ports.is_empty() && ports.iter().all(|&p| p > 0)).then_some(Protocol { enabled, ports })
    }
}

/// What an earlier SetNetworkProtocols stored, read before anything is opened for writing
/// (the listeners are bound before the state database is opened): (HTTP, HTTPS), each
/// `None` when nothing is stored.
pub fn stored_protocols(data_dir: &Path) -> (Option<Protocol>, Option<Protocol>) {
    let path = data_dir.join(FILE_NAME);
    if !path.exists() {
        return (None, None);
    }
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return (None, None);
    };
    let read = |key: &str| -> Option<Protocol> {
        let text: String = conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .ok()?;
        Protocol::parse(&text)
    };
    (read(HTTP_PORTS_KEY), read(HTTPS_PORTS_KEY))
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

/// The addresses a protocol is served on: the stored state's, else the configured ones.
pub fn start_addresses(configured: &[SocketAddr], stored: Option<&Protocol>) -> Vec<SocketAddr> {
    match stored {
        Some(p) if p.enabled => listen_addresses(configured, &p.ports),
        Some(_) => Vec::new(),
        None => configured.to_vec(),
    }
}

/// The addresses served now, by protocol.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// HTTP.
    pub http: Vec<SocketAddr>,
    /// HTTPS.
    pub https: Vec<SocketAddr>,
}

/// The served addresses and the way to change them.
#[derive(Debug)]
pub struct NetworkProtocols {
    /// `server.listen`: the HTTP addresses' IPs.
    configured: Vec<SocketAddr>,
    /// `server.tls_listen`, or `server.listen` when that names none: the HTTPS addresses' IPs.
    configured_tls: Vec<SocketAddr>,
    served: watch::Sender<Served>,
    /// The ports of a protocol turned off, to list and to turn it on again with.
    off_ports: Mutex<(Vec<u16>, Vec<u16>)>,
    db: Arc<StateDb>,
    rebind: mpsc::UnboundedSender<Rebind>,
    rebinds: Mutex<Option<mpsc::UnboundedReceiver<Rebind>>>,
    /// One change at a time.
    changing: tokio::sync::Mutex<()>,
}

impl NetworkProtocols {
    /// `served`: the HTTP addresses bound at start (ports resolved); `configured`:
    /// `server.listen`, `configured_tls`: `server.tls_listen`. HTTPS is served once
    /// [`Self::serving_https`] says so.
    pub fn new(
        db: Arc<StateDb>,
        configured: Vec<SocketAddr>,
        configured_tls: Vec<SocketAddr>,
        served: Vec<SocketAddr>,
    ) -> Self {
        let (rebind, rx) = mpsc::unbounded_channel();
        let stored = |key| {
            db.setting(key)
                .ok()
                .flatten()
                .and_then(|t| Protocol::parse(&t))
        };
        let off = |p: Option<Protocol>, fallback: Vec<u16>| match p {
            Some(p) => p.ports,
            None => fallback,
        };
        let http_off = off(stored(HTTP_PORTS_KEY), Protocol::of(&configured).ports);
        let tls_configured = Protocol::of(&configured_tls).ports;
        let https_off = off(
            stored(HTTPS_PORTS_KEY),
            if tls_configured.is_empty() || tls_configured == [0] {
                vec![HTTPS_DEFAULT_PORT]
            } else {
                tls_configured
            },
        );
        let configured_tls = if configured_tls.is_empty() {
            configured.clone()
        } else {
            configured_tls
        };
        NetworkProtocols {
            configured,
            configured_tls,
            served: watch::Sender::new(Served {
                http: served,
                https: Vec::new(),
            }),
            off_ports: Mutex::new((http_off, https_off)),
            db,
            rebind,
            rebinds: Mutex::new(Some(rx)),
            changing: tokio::sync::Mutex::new(()),
        }
    }

    /// Records the HTTPS addresses bound at start.
    pub fn serving_https(&self, addrs: Vec<SocketAddr>) {
        self.served.send_modify(|s| s.https = addrs);
    }

    /// The receiving end for the HTTP server; `None` after the first call.
    pub fn take_rebinds(&self) -> Option<mpsc::UnboundedReceiver<Rebind>> {
        self.rebinds.lock().take()
    }

    /// The addresses served now.
    pub fn served(&self) -> Served {
        self.served.borrow().clone()
    }

    /// Changes of [`Self::served`].
    pub fn watch(&self) -> watch::Receiver<Served> {
        self.served.subscribe()
    }

    /// HTTP and HTTPS now (a protocol turned off lists the ports it had).
    pub fn protocols(&self) -> (Protocol, Protocol) {
        let served = self.served();
        let off = self.off_ports.lock();
        let show = |addrs: &[SocketAddr], off: &Vec<u16>| {
            let p = Protocol::of(addrs);
            if p.enabled {
                p
            } else {
                Protocol {
                    enabled: false,
                    ports: off.clone(),
                }
            }
        };
        (show(&served.http, &off.0), show(&served.https, &off.1))
    }

    /// Serves `http` and `https` (each on or off with 1 to [`MAX_PORTS`] nonzero ports, not
    /// both off, no port in both: checked by the caller) from now on and after restarts.
    /// `tls` is the TLS side new HTTPS listeners serve with (needed when HTTPS is on).
    pub async fn set(
        &self,
        http: &Protocol,
        https: &Protocol,
        tls: Option<crate::tls::Tls>,
    ) -> Result<(), ProtocolError> {
        let _one = self.changing.lock().await;
        let current = self.served();
        let target = Served {
            http: if http.enabled {
                listen_addresses(&self.configured, &http.ports)
            } else {
                Vec::new()
            },
            https: if https.enabled {
                listen_addresses(&self.configured_tls, &https.ports)
            } else {
                Vec::new()
            },
        };
        let fresh = |target: &[SocketAddr], current: &[SocketAddr]| -> Vec<SocketAddr> {
            target
                .iter()
                .copied()
                .filter(|a| !current.contains(a))
                .collect()
        };
        let bind = |addrs: &[SocketAddr]| {
            listen::bind(addrs).map_err(|e| {
                if e.source.kind() == std::io::ErrorKind::AddrInUse {
                    ProtocolError::PortInUse(e.addr.port())
                } else {
                    ProtocolError::Bind(e)
                }
            })
        };
        let add = bind(&fresh(&target.http, &current.http))?;
        let add_tls = bind(&fresh(&target.https, &current.https))?;
        let keep: Vec<SocketAddr> = current
            .http
            .iter()
            .filter(|a| target.http.contains(a))
            .chain(current.https.iter().filter(|a| target.https.contains(a)))
            .copied()
            .collect();
        self.db.set_setting(HTTP_PORTS_KEY, &http.stored())?;
        self.db.set_setting(HTTPS_PORTS_KEY, &https.stored())?;
        let add_tls = match tls {
            Some(tls) if !add_tls.is_empty() => Some((add_tls, tls)),
            _ => None,
        };
        let tls_added = add_tls.iter().flat_map(|(l, _)| l.iter());
        for (scheme, listener) in add
            .iter()
            .map(|l| ("http", l))
            .chain(tls_added.map(|l| ("https", l)))
        {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, "serving ONVIF at {scheme}://{addr}/onvif/device_service");
            }
        }
        let _ = self.rebind.send(Rebind { keep, add, add_tls });
        *self.off_ports.lock() = (http.ports.clone(), https.ports.clone());
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
        let on = Protocol::parse("80, 8000").unwrap();
        assert_eq!(
            on,
            Protocol {
                enabled: true,
                ports: vec![80, 8000]
            }
        );
        let off = Protocol::parse("off:8080").unwrap();
        assert!(!off.enabled && off.ports == [8080]);
        assert_eq!(Protocol::parse(&off.stored()), Some(off.clone()));
        assert_eq!(Protocol::parse("0"), None);
        assert_eq!(Protocol::parse("x"), None);
        assert!(start_addresses(&configured, Some(&off)).is_empty());
        assert_eq!(start_addresses(&configured, None), configured);
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
            Vec::new(),
            served.clone(),
        );
        let https_off = Protocol {
            enabled: false,
            ports: vec![443],
        };
        assert_eq!(protocols.protocols().1, https_off);
        let http = |port| Protocol {
            enabled: true,
            ports: vec![port],
        };
        let mut rebinds = protocols.take_rebinds().unwrap();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken_port = taken.local_addr().unwrap().port();
        let refused = protocols.set(&http(taken_port), &https_off, None).await;
        assert!(matches!(refused, Err(ProtocolError::PortInUse(p)) if p == taken_port));
        assert_eq!(protocols.served().http, served);
        assert!(rebinds.try_recv().is_err());

        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let free_port = free.local_addr().unwrap().port();
        drop(free);
        protocols
            .set(&http(free_port), &https_off, None)
            .await
            .unwrap();
        assert_eq!(protocols.protocols().0, http(free_port));
        let rebind = rebinds.try_recv().unwrap();
        assert!(rebind.keep.is_empty());
        assert_eq!(rebind.add[0].local_addr().unwrap().port(), free_port);
        drop(db);
        assert_eq!(
            stored_protocols(dir.path()),
            (Some(http(free_port)), Some(https_off))
        );
    }
}
